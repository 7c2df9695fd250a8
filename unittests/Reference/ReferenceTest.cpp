//===- ReferenceTest.cpp - tests of the float64 Parallax reference --------===//
//
// The reference is the oracle of the whole project, so it is tested here
// against the DEFINITIONS of /work/shared/parallax-math.md: a naive
// implementation written independently in this file (own mask predicate, own
// softmax), algebraic identities (covariance form, effective weights summing to
// 1, r = 0 is softmax), central finite differences for the backward, and
// layout equivalences for decode/varlen. All inputs are random and non-zero.
//
//===----------------------------------------------------------------------===//
#include "parallax/Reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <functional>
#include <ostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace parallax::ref;

namespace {

using Vec = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

size_t nQ(const Shape &s) { return size_t(s.B * s.Hq * s.Lq * s.D); }
size_t nKV(const Shape &s) { return size_t(s.B * s.Hkv * s.Lk * s.D); }

// Test-local mask, written from the spec text, not from the library.
bool defVisible(const Options &o, int64_t Lq, int64_t Lk, int64_t i, int64_t j) {
  bool vis = true;
  if (o.causal)
    vis = vis && j <= Lk - Lq + i;
  if (o.window > 0)
    vis = vis && !(j < Lk - Lq + i - o.window + 1);
  return vis;
}

double defScale(const Options &o, int64_t D) {
  return o.scale == 0 ? 1.0 / std::sqrt(double(D)) : o.scale;
}

struct Problem {
  Shape s;
  Vec q, k, v, r;
  Problem(Shape sh, uint64_t seed, double rAmp = 0.3) : s(sh) {
    q.resize(nQ(s));
    r.resize(nQ(s));
    k.resize(nKV(s));
    v.resize(nKV(s));
    fillRandom(q.data(), q.size(), seed * 4 + 1, -1.5, 1.5);
    fillRandom(k.data(), k.size(), seed * 4 + 2, -1.5, 1.5);
    fillRandom(v.data(), v.size(), seed * 4 + 3, -1, 1);
    fillRandom(r.data(), r.size(), seed * 4 + 4, -rAmp, rAmp);
  }
};

// Naive Parallax per the section-1 formulas: full -inf-masked score rows,
// P1, P2, d1, d2, O1, O2, output formula. Also returns per-row a_ij, t_ij and
// tbar for the effective-weight tests (optional).
struct NaiveOut {
  Vec o, m, d1, tbar, vbar;
  Vec a, t; // [B][Hq][Lq][Lk]
};
NaiveOut naiveParallax(const Shape &s, const Options &opt, const double *q,
                       const double *k, const double *v, const double *r) {
  NaiveOut out;
  const int64_t D = s.D, G = s.Hq / s.Hkv;
  const size_t rows = size_t(s.B * s.Hq * s.Lq);
  out.o.assign(rows * D, 0);
  out.vbar.assign(rows * D, 0);
  out.m.assign(rows, 0);
  out.d1.assign(rows, 0);
  out.tbar.assign(rows, 0);
  out.a.assign(rows * s.Lk, 0);
  out.t.assign(rows * s.Lk, 0);
  const double sc = defScale(opt, D);
  Vec S1(s.Lk), S2(s.Lk);
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.Lq; ++i) {
        const size_t row = size_t((b * s.Hq + h) * s.Lq + i);
        const double *qi = q + row * D;
        const double *K = k + (b * s.Hkv + h / G) * s.Lk * D;
        const double *V = v + (b * s.Hkv + h / G) * s.Lk * D;
        double m = -INFINITY;
        for (int64_t j = 0; j < s.Lk; ++j) {
          double s1 = 0, s2 = 0;
          for (int64_t d = 0; d < D; ++d) {
            s1 += qi[d] * K[j * D + d];
            if (r)
              s2 += r[row * D + d] * K[j * D + d];
          }
          S1[j] = defVisible(opt, s.Lq, s.Lk, i, j) ? sc * s1 : -INFINITY;
          S2[j] = s2;
          m = std::max(m, S1[j]);
          out.t[row * s.Lk + j] = s2;
        }
        out.m[row] = m;
        if (m == -INFINITY)
          continue; // empty row: o = 0
        double d1 = 0, d2 = 0;
        Vec O1(D, 0), O2(D, 0);
        for (int64_t j = 0; j < s.Lk; ++j) {
          double P1 = std::exp(S1[j] - m), P2 = P1 * S2[j];
          d1 += P1;
          d2 += P2;
          for (int64_t d = 0; d < D; ++d) {
            O1[d] += P1 * V[j * D + d];
            O2[d] += P2 * V[j * D + d];
          }
        }
        for (int64_t j = 0; j < s.Lk; ++j)
          out.a[row * s.Lk + j] = std::exp(S1[j] - m) / d1;
        for (int64_t d = 0; d < D; ++d) {
          out.o[row * D + d] = (O1[d] / d1) * (1 + d2 / d1) - O2[d] / d1;
          out.vbar[row * D + d] = O1[d] / d1;
        }
        out.d1[row] = d1;
        out.tbar[row] = d2 / d1;
      }
  return out;
}

// Independent plain softmax attention (no Parallax terms at all).
Vec naiveSoftmax(const Shape &s, const Options &opt, const double *q,
                 const double *k, const double *v) {
  const int64_t D = s.D, G = s.Hq / s.Hkv;
  Vec o(nQ(s), 0), w(s.Lk);
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.Lq; ++i) {
        const double *qi = q + ((b * s.Hq + h) * s.Lq + i) * D;
        const double *K = k + (b * s.Hkv + h / G) * s.Lk * D;
        const double *V = v + (b * s.Hkv + h / G) * s.Lk * D;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < s.Lk; ++j) {
          if (!defVisible(opt, s.Lq, s.Lk, i, j))
            continue;
          double x = 0;
          for (int64_t d = 0; d < D; ++d)
            x += qi[d] * K[j * D + d];
          w[j] = x * defScale(opt, D);
          mx = std::max(mx, w[j]);
        }
        for (int64_t j = 0; j < s.Lk; ++j)
          if (defVisible(opt, s.Lq, s.Lk, i, j))
            sum += (w[j] = std::exp(w[j] - mx));
        double *oi = o.data() + ((b * s.Hq + h) * s.Lq + i) * D;
        for (int64_t j = 0; j < s.Lk; ++j)
          if (defVisible(opt, s.Lq, s.Lk, i, j))
            for (int64_t d = 0; d < D; ++d)
              oi[d] += w[j] / sum * V[j * D + d];
      }
  return o;
}

bool allFinite(const Vec &x) {
  for (double e : x)
    if (!std::isfinite(e))
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Parameterized shapes.
//===----------------------------------------------------------------------===//

struct Case {
  const char *name;
  Shape s;
  Options o;
};

Options opt(bool causal, int64_t window = 0, double scale = 0) {
  Options o;
  o.causal = causal;
  o.window = window;
  o.scale = scale;
  return o;
}

const Case kCases[] = {
    {"Full_G1_Lq5_Lk5_D64", {1, 1, 1, 5, 5, 64}, opt(false)},
    {"Causal_G1_Lq7_Lk13_D64", {2, 4, 4, 7, 13, 64}, opt(true)},
    {"Decode_Lq1_G4_Lk37_D96", {2, 8, 2, 1, 37, 96}, opt(true)},
    {"CausalWin9_G8_Lq16_Lk40_D128", {1, 8, 1, 16, 40, 128}, opt(true, 9)},
    {"Win5NonCausal_G4_L20_D64", {1, 4, 1, 20, 20, 64}, opt(false, 5)},
    {"CausalLqGtLk_EmptyRows_D64", {1, 2, 1, 12, 6, 64}, opt(true)},
    {"Scale0p3_Causal_G2_D96", {2, 4, 2, 9, 17, 96}, opt(true, 0, 0.3)},
    {"CausalWin1_Diag_D128", {1, 2, 2, 33, 64, 128}, opt(true, 1)},
    {"NonCausal_LqGtLk_D64", {1, 2, 2, 10, 3, 64}, opt(false)},
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

class RefCases : public ::testing::TestWithParam<Case> {};

TEST_P(RefCases, ForwardMatchesDefinition) {
  const Case &c = GetParam();
  Problem p(c.s, 11);
  Vec o(nQ(c.s), kNaN);
  ForwardStats st;
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), o.data(), &st);
  NaiveOut n = naiveParallax(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data());
  EXPECT_LT(relL2(o.data(), n.o.data(), o.size()), 1e-12);
  ASSERT_EQ(st.m.size(), n.m.size());
  ASSERT_EQ(st.vbar.size(), n.vbar.size());
  EXPECT_EQ(st.m, n.m) << "row max must be the exact max of the scores";
  EXPECT_LT(relL2(st.d1.data(), n.d1.data(), n.d1.size()), 1e-12);
  EXPECT_LT(relL2(st.tbar.data(), n.tbar.data(), n.tbar.size()), 1e-12);
  EXPECT_LT(relL2(st.vbar.data(), n.vbar.data(), n.vbar.size()), 1e-12);
}

TEST_P(RefCases, ForwardMatchesCovariance) {
  const Case &c = GetParam();
  Problem p(c.s, 12);
  Vec o1(nQ(c.s)), o2(nQ(c.s), kNaN);
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), o1.data());
  forwardCovariance(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), o2.data());
  EXPECT_LT(relL2(o2.data(), o1.data(), o1.size()), 1e-12);
  // The correction must matter, or this test would compare softmax to softmax
  // (it vanishes only when no row sees two keys: covariance of one point).
  int64_t maxVisible = 0;
  for (int64_t i = 0; i < c.s.Lq; ++i) {
    int64_t n = 0;
    for (int64_t j = 0; j < c.s.Lk; ++j)
      n += defVisible(c.o, c.s.Lq, c.s.Lk, i, j);
    maxVisible = std::max(maxVisible, n);
  }
  Vec os(nQ(c.s));
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), nullptr, os.data());
  if (maxVisible >= 2)
    EXPECT_GT(relL2(os.data(), o1.data(), o1.size()), 1e-2);
  else
    EXPECT_LT(relL2(os.data(), o1.data(), o1.size()), 1e-12);
}

TEST_P(RefCases, ForwardMatchesStreaming) {
  const Case &c = GetParam();
  Problem p(c.s, 13);
  Vec o(nQ(c.s)), os(nQ(c.s));
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), o.data());
  const int64_t Lk = c.s.Lk;
  for (int64_t blockN : {int64_t(1), int64_t(3), int64_t(16), int64_t(64), Lk, Lk + 5})
    for (int64_t splits : {1, 2, 3}) {
      std::fill(os.begin(), os.end(), kNaN);
      forwardStreaming(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), p.r.data(),
                       os.data(), blockN, splits);
      EXPECT_LT(relL2(os.data(), o.data(), o.size()), 1e-12)
          << "blockN=" << blockN << " numSplits=" << splits;
    }
}

TEST_P(RefCases, ZeroProbeIsSoftmax) {
  const Case &c = GetParam();
  Problem p(c.s, 14);
  Vec zero(nQ(c.s), 0.0), oz(nQ(c.s), kNaN), on(nQ(c.s), kNaN);
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), zero.data(), oz.data());
  forward(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), nullptr, on.data());
  Vec soft = naiveSoftmax(c.s, c.o, p.q.data(), p.k.data(), p.v.data());
  EXPECT_EQ(relL2(oz.data(), on.data(), on.size()), 0.0);
  EXPECT_LT(relL2(on.data(), soft.data(), soft.size()), 1e-12);
  // The other forms too, with r == nullptr and r == 0.
  Vec x(nQ(c.s));
  for (const double *r : {static_cast<const double *>(nullptr),
                          static_cast<const double *>(zero.data())}) {
    forwardCovariance(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), r, x.data());
    EXPECT_LT(relL2(x.data(), soft.data(), soft.size()), 1e-12);
    forwardStreaming(c.s, c.o, p.q.data(), p.k.data(), p.v.data(), r, x.data(), 7, 2);
    EXPECT_LT(relL2(x.data(), soft.data(), soft.size()), 1e-12);
  }
}

TEST_P(RefCases, EffectiveWeightsSumToOne) {
  const Case &c = GetParam();
  Problem p(c.s, 15, /*rAmp=*/1.0);
  const Shape &s = c.s;
  // (1) v = all ones: o_i = sum_j w_ij = 1 on every row that sees a key.
  Vec ones(nKV(s), 1.0), o(nQ(s));
  forward(s, c.o, p.q.data(), p.k.data(), ones.data(), p.r.data(), o.data());
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.Lq; ++i) {
        bool any = false;
        for (int64_t j = 0; j < s.Lk; ++j)
          any = any || defVisible(c.o, s.Lq, s.Lk, i, j);
        const double *oi = o.data() + ((b * s.Hq + h) * s.Lq + i) * s.D;
        for (int64_t d = 0; d < s.D; ++d)
          ASSERT_NEAR(oi[d], any ? 1.0 : 0.0, 1e-12) << "row " << i;
      }
  // (2) v_j = one-hot e_j (needs D >= Lk): o_i[j] is the effective weight
  // w_ij, which must equal a_ij (1 + tbar_i - t_ij) built from the definitions.
  if (s.D < s.Lk)
    return;
  Vec onehot(nKV(s), 0.0);
  for (int64_t bh = 0; bh < s.B * s.Hkv; ++bh)
    for (int64_t j = 0; j < s.Lk; ++j)
      onehot[(bh * s.Lk + j) * s.D + j] = 1.0;
  forward(s, c.o, p.q.data(), p.k.data(), onehot.data(), p.r.data(), o.data());
  NaiveOut n = naiveParallax(s, c.o, p.q.data(), p.k.data(), onehot.data(), p.r.data());
  for (size_t row = 0; row < size_t(s.B * s.Hq * s.Lq); ++row) {
    double tbar = 0, sumW = 0, sumA = 0;
    for (int64_t j = 0; j < s.Lk; ++j) {
      tbar += n.a[row * s.Lk + j] * n.t[row * s.Lk + j];
      sumA += n.a[row * s.Lk + j];
    }
    for (int64_t j = 0; j < s.Lk; ++j) {
      const double w = n.a[row * s.Lk + j] * (1 + tbar - n.t[row * s.Lk + j]);
      EXPECT_NEAR(o[row * s.D + j], w, 1e-12) << "row " << row << " key " << j;
      sumW += o[row * s.D + j];
    }
    for (int64_t d = s.Lk; d < s.D; ++d)
      EXPECT_EQ(o[row * s.D + d], 0.0);
    EXPECT_NEAR(sumW, sumA > 0 ? 1.0 : 0.0, 1e-12) << "row " << row;
  }
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  return info.param.name;
}
INSTANTIATE_TEST_SUITE_P(Shapes, RefCases, ::testing::ValuesIn(kCases), caseName);

//===----------------------------------------------------------------------===//
// Individual tests.
//===----------------------------------------------------------------------===//

TEST(Reference, IsVisibleTable) {
  // Lq = 2, Lk = 4: end-aligned diagonal of row i is key 2 + i.
  auto row = [](const Options &o, int64_t i) {
    std::string s;
    for (int64_t j = 0; j < 4; ++j)
      s += isVisible(o, 2, 4, i, j) ? '1' : '0';
    return s;
  };
  EXPECT_EQ(row(opt(false), 0), "1111");
  EXPECT_EQ(row(opt(true), 0), "1110");
  EXPECT_EQ(row(opt(true), 1), "1111");
  EXPECT_EQ(row(opt(true, 2), 0), "0110");
  EXPECT_EQ(row(opt(true, 2), 1), "0011");
  EXPECT_EQ(row(opt(true, 1), 0), "0010");
  EXPECT_EQ(row(opt(false, 2), 0), "0111");
  // Lq > Lk causal: first rows see nothing.
  EXPECT_FALSE(isVisible(opt(true), 5, 2, 0, 0));
  EXPECT_TRUE(isVisible(opt(true), 5, 2, 3, 0));
  // visibleRange agrees with isVisible and the test's own predicate.
  for (bool causal : {false, true})
    for (int64_t w : {0, 1, 3, 7})
      for (int64_t Lq : {1, 4, 9})
        for (int64_t Lk : {1, 4, 9}) {
          Options o = opt(causal, w);
          for (int64_t i = 0; i < Lq; ++i) {
            auto [lo, hi] = visibleRange(o, Lq, Lk, i);
            for (int64_t j = 0; j < Lk; ++j) {
              ASSERT_EQ(isVisible(o, Lq, Lk, i, j), defVisible(o, Lq, Lk, i, j));
              ASSERT_EQ(j >= lo && j < hi, defVisible(o, Lq, Lk, i, j))
                  << causal << " w=" << w << " Lq=" << Lq << " Lk=" << Lk
                  << " i=" << i << " j=" << j;
            }
          }
        }
}

TEST(Reference, EffectiveWeightsCanBeNegative) {
  Shape s{1, 1, 1, 4, 16, 16};
  Problem p(s, 21, /*rAmp=*/1.0);
  NaiveOut n = naiveParallax(s, opt(false), p.q.data(), p.k.data(), p.v.data(), p.r.data());
  int negative = 0;
  for (int64_t i = 0; i < s.Lq; ++i)
    for (int64_t j = 0; j < s.Lk; ++j)
      negative += n.a[i * s.Lk + j] * (1 + n.tbar[i] - n.t[i * s.Lk + j]) < 0;
  EXPECT_GT(negative, 0);
}

// Central finite differences of L = sum(o * dO) against backward().
struct FdCase {
  Shape s;
  Options o;
  bool probe;
};

void checkBackward(const FdCase &c, uint64_t seed) {
  const Shape &s = c.s;
  Problem p(s, seed, 0.5);
  Vec dO(nQ(s));
  fillRandom(dO.data(), dO.size(), seed + 100);
  const double *rp = c.probe ? p.r.data() : nullptr;
  auto loss = [&]() {
    Vec o(nQ(s));
    forward(s, c.o, p.q.data(), p.k.data(), p.v.data(), c.probe ? p.r.data() : nullptr,
            o.data());
    double L = 0;
    for (size_t i = 0; i < o.size(); ++i)
      L += o[i] * dO[i];
    return L;
  };
  // Pre-fill outputs with garbage: backward must overwrite, not accumulate.
  Vec dq(nQ(s), 123.0), dk(nKV(s), 123.0), dv(nKV(s), 123.0), dr(nQ(s), 123.0);
  backward(s, c.o, p.q.data(), p.k.data(), p.v.data(), rp, dO.data(), dq.data(),
           dk.data(), dv.data(), dr.data());
  const double h = 1e-5;
  auto fd = [&](Vec &x) {
    Vec g(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i];
      x[i] = x0 + h;
      const double lp = loss();
      x[i] = x0 - h;
      const double lm = loss();
      x[i] = x0;
      g[i] = (lp - lm) / (2 * h);
    }
    return g;
  };
  Vec gq = fd(p.q), gk = fd(p.k), gv = fd(p.v);
  EXPECT_LT(relL2(dq.data(), gq.data(), gq.size()), 1e-6) << "dq";
  EXPECT_LT(relL2(dk.data(), gk.data(), gk.size()), 1e-6) << "dk";
  EXPECT_LT(relL2(dv.data(), gv.data(), gv.size()), 1e-6) << "dv";
  if (c.probe) {
    Vec gr = fd(p.r);
    EXPECT_LT(relL2(dr.data(), gr.data(), gr.size()), 1e-6) << "dr";
  } else {
    for (double x : dr)
      ASSERT_EQ(x, 123.0) << "softmax backward must leave dr untouched";
  }
}

TEST(Reference, BackwardMatchesFiniteDifferences) {
  const FdCase cases[] = {
      {{1, 2, 2, 3, 5, 8}, opt(false), true},
      {{2, 4, 1, 3, 6, 8}, opt(true), true},        // GQA 4, Lq < Lk causal
      {{1, 8, 1, 2, 5, 4}, opt(true, 2), true},     // GQA 8, window
      {{1, 2, 2, 4, 4, 6}, opt(false, 3), true},    // window, not causal
      {{1, 2, 1, 5, 3, 4}, opt(true), true},        // Lq > Lk: empty rows
      {{1, 2, 1, 1, 7, 8}, opt(true, 0, 0.7), true}, // decode row, scale
      {{1, 4, 2, 4, 4, 6}, opt(true), false},       // softmax backward
  };
  uint64_t seed = 30;
  for (const FdCase &c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "B=" << c.s.B << " Hq=" << c.s.Hq << " Hkv=" << c.s.Hkv
                 << " Lq=" << c.s.Lq << " Lk=" << c.s.Lk << " D=" << c.s.D
                 << " causal=" << c.o.causal << " window=" << c.o.window
                 << " probe=" << c.probe);
    checkBackward(c, seed++);
  }
}

TEST(Reference, EmptyRowsGiveZero) {
  // Dense, causal with Lq > Lk: the first Lq - Lk rows see no key.
  {
    Shape s{1, 2, 1, 6, 2, 8};
    Problem p(s, 40);
    Vec o(nQ(s), kNaN);
    auto checkRows = [&](const char *what) {
      for (int64_t h = 0; h < s.Hq; ++h)
        for (int64_t i = 0; i < s.Lq; ++i)
          for (int64_t d = 0; d < s.D; ++d) {
            const double x = o[(h * s.Lq + i) * s.D + d];
            if (i < s.Lq - s.Lk)
              ASSERT_EQ(x, 0.0) << what << " row " << i;
            else
              ASSERT_TRUE(std::isfinite(x) && x != 0.0) << what << " row " << i;
          }
    };
    forward(s, opt(true), p.q.data(), p.k.data(), p.v.data(), p.r.data(), o.data());
    checkRows("forward");
    std::fill(o.begin(), o.end(), kNaN);
    forwardCovariance(s, opt(true), p.q.data(), p.k.data(), p.v.data(), p.r.data(), o.data());
    checkRows("covariance");
    std::fill(o.begin(), o.end(), kNaN);
    forwardStreaming(s, opt(true), p.q.data(), p.k.data(), p.v.data(), p.r.data(), o.data(), 1, 2);
    checkRows("streaming");
    Vec dO(nQ(s), 1.0), dq(nQ(s)), dk(nKV(s)), dv(nKV(s)), dr(nQ(s));
    backward(s, opt(true), p.q.data(), p.k.data(), p.v.data(), p.r.data(), dO.data(),
             dq.data(), dk.data(), dv.data(), dr.data());
    EXPECT_TRUE(allFinite(dq) && allFinite(dk) && allFinite(dv) && allFinite(dr));
    EXPECT_EQ(dq[0], 0.0);
    EXPECT_EQ(dr[0], 0.0);
  }
  // Decode with seqLens[b] == 0: batch 0 gives exactly 0.
  {
    Shape s{2, 4, 2, 3, 10, 16};
    Problem p(s, 41);
    const int32_t seqLens[2] = {0, 7};
    for (Options o : {opt(false), opt(true), opt(true, 3)}) {
      Vec out(nQ(s), kNaN);
      forwardDecode(s, o, p.q.data(), p.k.data(), p.v.data(), seqLens, p.r.data(), out.data());
      EXPECT_TRUE(allFinite(out));
      for (size_t x = 0; x < nQ(s) / 2; ++x)
        ASSERT_EQ(out[x], 0.0);
    }
  }
  // Varlen with an empty key sequence (and an empty query sequence).
  {
    const int64_t Hq = 2, Hkv = 1, D = 8;
    const int32_t cuQ[4] = {0, 3, 5, 5}, cuK[4] = {0, 4, 4, 6};
    Vec q(5 * Hq * D), r(5 * Hq * D), k(6 * Hkv * D), v(6 * Hkv * D), o(5 * Hq * D, kNaN);
    fillRandom(q.data(), q.size(), 1);
    fillRandom(r.data(), r.size(), 2);
    fillRandom(k.data(), k.size(), 3);
    fillRandom(v.data(), v.size(), 4);
    forwardVarlen(3, Hq, Hkv, D, opt(true), cuQ, cuK, q.data(), k.data(), v.data(),
                  r.data(), o.data());
    EXPECT_TRUE(allFinite(o));
    for (size_t x = 3 * Hq * D; x < o.size(); ++x)
      ASSERT_EQ(o[x], 0.0);
  }
}

TEST(Reference, DecodeMatchesSlicedForward) {
  for (int64_t Lq : {1, 4})
    for (Options o : {opt(false), opt(true), opt(true, 5), opt(false, 6, 0.2)}) {
      Shape s{4, 8, 2, Lq, 40, 64}; // Lk field = Lmax
      Problem p(s, 50 + Lq);
      const int32_t seqLens[4] = {40, 17, 1, 2}; // 1, 2 < Lq = 4: empty rows
      // Poison the cache beyond seqLens: it must never be read.
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t hk = 0; hk < s.Hkv; ++hk)
          for (int64_t j = seqLens[b]; j < s.Lk; ++j)
            for (int64_t d = 0; d < s.D; ++d) {
              p.k[((b * s.Hkv + hk) * s.Lk + j) * s.D + d] = kNaN;
              p.v[((b * s.Hkv + hk) * s.Lk + j) * s.D + d] = kNaN;
            }
      Vec out(nQ(s), kNaN);
      forwardDecode(s, o, p.q.data(), p.k.data(), p.v.data(), seqLens, p.r.data(), out.data());
      for (int64_t b = 0; b < s.B; ++b) {
        Shape sb{1, s.Hq, s.Hkv, Lq, seqLens[b], s.D};
        Vec kb(nKV(sb)), vb(nKV(sb)), ob(nQ(sb));
        for (int64_t hk = 0; hk < s.Hkv; ++hk)
          for (int64_t j = 0; j < sb.Lk; ++j)
            for (int64_t d = 0; d < s.D; ++d) {
              kb[(hk * sb.Lk + j) * s.D + d] = p.k[((b * s.Hkv + hk) * s.Lk + j) * s.D + d];
              vb[(hk * sb.Lk + j) * s.D + d] = p.v[((b * s.Hkv + hk) * s.Lk + j) * s.D + d];
            }
        const size_t off = size_t(b) * nQ(sb);
        forward(sb, o, p.q.data() + off, kb.data(), vb.data(), p.r.data() + off, ob.data());
        EXPECT_LT(relL2(out.data() + off, ob.data(), ob.size()), 1e-15)
            << "b=" << b << " Lq=" << Lq << " causal=" << o.causal << " window=" << o.window;
      }
    }
}

TEST(Reference, VarlenMatchesPerSequence) {
  const int64_t B = 4, Hq = 8, Hkv = 2, D = 64;
  const int32_t lq[B] = {3, 0, 5, 1}, lk[B] = {7, 4, 5, 9};
  int32_t cuQ[B + 1] = {0}, cuK[B + 1] = {0};
  for (int64_t b = 0; b < B; ++b) {
    cuQ[b + 1] = cuQ[b] + lq[b];
    cuK[b + 1] = cuK[b] + lk[b];
  }
  for (Options o : {opt(false), opt(true), opt(true, 2)}) {
    Vec q(cuQ[B] * Hq * D), r(q.size()), k(cuK[B] * Hkv * D), v(k.size()), out(q.size(), kNaN);
    fillRandom(q.data(), q.size(), 61, -1.5, 1.5);
    fillRandom(r.data(), r.size(), 62, -0.3, 0.3);
    fillRandom(k.data(), k.size(), 63, -1.5, 1.5);
    fillRandom(v.data(), v.size(), 64);
    forwardVarlen(B, Hq, Hkv, D, o, cuQ, cuK, q.data(), k.data(), v.data(), r.data(), out.data());
    EXPECT_TRUE(allFinite(out));
    for (int64_t b = 0; b < B; ++b) {
      if (lq[b] == 0)
        continue;
      // Repack sequence b to the dense [1][H][L][D] layout and run forward().
      Shape sb{1, Hq, Hkv, lq[b], lk[b], D};
      Vec qb(nQ(sb)), rb(nQ(sb)), kb(nKV(sb)), vb(nKV(sb)), ob(nQ(sb)), got(nQ(sb));
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t i = 0; i < lq[b]; ++i)
          for (int64_t d = 0; d < D; ++d) {
            const size_t packed = ((cuQ[b] + i) * Hq + h) * D + d;
            qb[(h * lq[b] + i) * D + d] = q[packed];
            rb[(h * lq[b] + i) * D + d] = r[packed];
            got[(h * lq[b] + i) * D + d] = out[packed];
          }
      for (int64_t h = 0; h < Hkv; ++h)
        for (int64_t j = 0; j < lk[b]; ++j)
          for (int64_t d = 0; d < D; ++d) {
            kb[(h * lk[b] + j) * D + d] = k[((cuK[b] + j) * Hkv + h) * D + d];
            vb[(h * lk[b] + j) * D + d] = v[((cuK[b] + j) * Hkv + h) * D + d];
          }
      forward(sb, o, qb.data(), kb.data(), vb.data(), rb.data(), ob.data());
      EXPECT_LT(relL2(got.data(), ob.data(), ob.size()), 1e-15)
          << "b=" << b << " causal=" << o.causal << " window=" << o.window;
    }
  }
}

// Expects fn() to throw std::invalid_argument whose what() contains `needle`.
void expectInvalid(const std::function<void()> &fn, const std::string &needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning: " << needle;
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "what(): " << e.what() << "\nexpected to contain: " << needle;
  }
}

TEST(Reference, BadShapesThrow) {
  Vec buf(4096, 0.5);
  const double *c = buf.data();
  double *w = buf.data();
  expectInvalid([&] { forward({1, 12, 5, 2, 2, 4}, {}, c, c, c, c, w); },
                "Hq (12) must be a multiple of Hkv (5)");
  expectInvalid([&] { forward({1, 2, 1, 2, 2, 0}, {}, c, c, c, c, w); }, "D (0)");
  expectInvalid([&] { forward({1, 2, 1, 2, -3, 4}, {}, c, c, c, c, w); }, "Lk (-3)");
  expectInvalid([&] { forward({0, 2, 1, 2, 2, 4}, {}, c, c, c, c, w); }, "B (0)");
  expectInvalid([&] { forward({1, 2, 1, 2, 2, 4}, opt(true, -1), c, c, c, c, w); },
                "window (-1)");
  expectInvalid([&] { forwardCovariance({1, 6, 4, 2, 2, 4}, {}, c, c, c, c, w); },
                "Hq (6) must be a multiple of Hkv (4)");
  expectInvalid([&] { forwardStreaming({1, 2, 1, 2, 2, 4}, {}, c, c, c, c, w, 0); },
                "blockN (0)");
  expectInvalid([&] { forwardStreaming({1, 2, 1, 2, 2, 4}, {}, c, c, c, c, w, 4, 0); },
                "numSplits (0)");
  const int32_t seqLens[2] = {3, 41};
  expectInvalid([&] { forwardDecode({2, 2, 1, 1, 40, 4}, {}, c, c, c, seqLens, c, w); },
                "seqLens[1] (41) must be in [0, Lmax (40)]");
  const int32_t cuOk[3] = {0, 2, 3}, cuDec[3] = {0, 3, 2}, cuStart[3] = {1, 2, 3};
  expectInvalid([&] { forwardVarlen(2, 2, 1, 4, {}, cuOk, cuDec, c, c, c, c, w); },
                "cuSeqlensK[2] (2) < cuSeqlensK[1] (3)");
  expectInvalid([&] { forwardVarlen(2, 2, 1, 4, {}, cuStart, cuOk, c, c, c, c, w); },
                "cuSeqlensQ[0] (1) must be 0");
  expectInvalid([&] { forwardVarlen(2, 3, 2, 4, {}, cuOk, cuOk, c, c, c, c, w); },
                "Hq (3) must be a multiple of Hkv (2)");
  expectInvalid([&] { backward({1, 12, 5, 2, 2, 4}, {}, c, c, c, c, c, w, w, w, w); },
                "Hq (12) must be a multiple of Hkv (5)");
  expectInvalid([&] { fillRandom(w, 4, 1, 1.0, 1.0); }, "lo (1), hi (1)");
}

TEST(Reference, RelL2) {
  const double b[3] = {1, 2, 2};
  const double same[3] = {1, 2, 2}, off[3] = {1, 2, 5};
  EXPECT_EQ(relL2(same, b, 3), 0.0);
  EXPECT_DOUBLE_EQ(relL2(off, b, 3), 1.0); // ||(0,0,3)|| / ||(1,2,2)||
  const double nan[3] = {1, kNaN, 2}, inf[3] = {1, 2, INFINITY};
  EXPECT_EQ(relL2(nan, b, 3), INFINITY);
  EXPECT_EQ(relL2(inf, b, 3), INFINITY);
  const double zero[3] = {0, 0, 0};
  EXPECT_DOUBLE_EQ(relL2(off, zero, 3), 5.4772255750516612); // ||a|| = sqrt(30)
  const float f[3] = {1.f, 2.f, 2.f}, fnan[3] = {1.f, std::nanf(""), 2.f};
  EXPECT_EQ(relL2(f, b, 3), 0.0);
  EXPECT_EQ(relL2(fnan, b, 3), INFINITY);
}

TEST(Reference, FillRandom) {
  Vec a(1000), b(1000), c(1000);
  fillRandom(a.data(), a.size(), 7, -2, 3);
  fillRandom(b.data(), b.size(), 7, -2, 3);
  fillRandom(c.data(), c.size(), 8, -2, 3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double mean = 0;
  int zeros = 0;
  for (double x : a) {
    ASSERT_GE(x, -2.0);
    ASSERT_LT(x, 3.0);
    mean += x / a.size();
    zeros += x == 0;
  }
  EXPECT_EQ(zeros, 0);
  EXPECT_NEAR(mean, 0.5, 0.2);
}

// One larger case (D = 128, longer keys) to cover tiling over many tiles.
TEST(Reference, LongerSequenceStreaming) {
  Shape s{1, 4, 1, 64, 256, 128};
  Problem p(s, 70);
  for (Options o : {opt(true), opt(false, 100)}) {
    Vec ref(nQ(s)), cov(nQ(s)), str(nQ(s));
    forward(s, o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), ref.data());
    forwardCovariance(s, o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), cov.data());
    forwardStreaming(s, o, p.q.data(), p.k.data(), p.v.data(), p.r.data(), str.data(), 64, 3);
    EXPECT_LT(relL2(cov.data(), ref.data(), ref.size()), 1e-12);
    EXPECT_LT(relL2(str.data(), ref.data(), ref.size()), 1e-12);
  }
}

} // namespace
