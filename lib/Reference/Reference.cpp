//===- Reference.cpp - float64 reference for Parallax attention -----------===//
//
// Plain-loop float64 implementation of /work/shared/parallax-math.md. No MLIR or
// LLVM on purpose (see Reference.h): this is the oracle for the compiler.
// Complexity is O(B*Hq*Lq*Lk*D); scratch buffers are allocated once per call,
// never inside the row/key loops.
//
//===----------------------------------------------------------------------===//
#include "parallax/Reference/Reference.h"

#include <algorithm>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

namespace parallax::ref {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLog2e = 1.4426950408889634073599246810019; // log2(e)

[[noreturn]] void fail(const char *fn, const std::string &msg) {
  throw std::invalid_argument(std::string("parallax::ref::") + fn + ": " + msg);
}

void requirePositive(const char *fn, const char *name, int64_t value) {
  if (value < 1) {
    std::ostringstream os;
    os << name << " (" << value << ") must be >= 1";
    fail(fn, os.str());
  }
}

// a * b with an overflow check (both non-negative).
int64_t mulChecked(const char *fn, int64_t a, int64_t b) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) {
    std::ostringstream os;
    os << "size overflow (" << a << " * " << b << ")";
    fail(fn, os.str());
  }
  return a * b;
}

void checkHeads(const char *fn, int64_t Hq, int64_t Hkv) {
  if (Hq % Hkv != 0) {
    std::ostringstream os;
    os << "Hq (" << Hq << ") must be a multiple of Hkv (" << Hkv << ")";
    fail(fn, os.str());
  }
}

void checkOptions(const char *fn, const Options &opts) {
  if (opts.window < 0) {
    std::ostringstream os;
    os << "window (" << opts.window << ") must be >= 0 (0 = no window)";
    fail(fn, os.str());
  }
  if (!std::isfinite(opts.scale)) {
    std::ostringstream os;
    os << "scale (" << opts.scale << ") must be finite (0 = 1/sqrt(D))";
    fail(fn, os.str());
  }
}

void checkShape(const char *fn, const Shape &s, const Options &opts) {
  requirePositive(fn, "B", s.B);
  requirePositive(fn, "Hq", s.Hq);
  requirePositive(fn, "Hkv", s.Hkv);
  requirePositive(fn, "Lq", s.Lq);
  requirePositive(fn, "Lk", s.Lk);
  requirePositive(fn, "D", s.D);
  checkHeads(fn, s.Hq, s.Hkv);
  checkOptions(fn, opts);
  int64_t nq = mulChecked(fn, mulChecked(fn, mulChecked(fn, s.B, s.Hq), s.Lq), s.D);
  int64_t nk = mulChecked(fn, mulChecked(fn, mulChecked(fn, s.B, s.Hkv), s.Lk), s.D);
  if (static_cast<uint64_t>(std::max(nq, nk)) >
      std::numeric_limits<size_t>::max() / sizeof(double))
    fail(fn, "tensor size does not fit in memory");
}

void checkPtr(const char *fn, const char *name, const void *p) {
  if (!p)
    fail(fn, std::string(name) + " must not be null");
}

double dot(const double *a, const double *b, int64_t D) {
  double s = 0;
  for (int64_t d = 0; d < D; ++d)
    s += a[d] * b[d];
  return s;
}

// y += alpha * x
void axpy(double alpha, const double *x, double *y, int64_t D) {
  for (int64_t d = 0; d < D; ++d)
    y[d] += alpha * x[d];
}

// One (batch, query head) problem with explicit row strides, so the dense,
// decode (cache with Lmax rows) and varlen (packed) layouts share the kernels.
struct Head {
  const double *q, *r; // row i at q + i*qStride (r grouped like q)
  int64_t qStride;
  const double *k, *v; // row j at k + j*kvStride
  int64_t kvStride;
  double *o;
  int64_t oStride;
  int64_t Lq, Lk, D;
};

// Optional per-row statistics destinations for one head (row i at +i).
struct HeadStats {
  double *m = nullptr, *d1 = nullptr, *tbar = nullptr, *vbar = nullptr;
};

// Scratch reused across rows and heads: one score buffer of Lk, t buffer of Lk
// and a few D-vectors.
struct Scratch {
  std::vector<double> s1, t, o1, o2, kbar, tmp;
  void reserve(int64_t Lk, int64_t D) {
    s1.assign(static_cast<size_t>(std::max<int64_t>(Lk, 1)), 0);
    t.assign(s1.size(), 0);
    o1.assign(static_cast<size_t>(D), 0);
    o2.assign(static_cast<size_t>(D), 0);
    kbar.assign(static_cast<size_t>(D), 0);
    tmp.assign(static_cast<size_t>(D), 0);
  }
};

// Direct form, spec section 1, row by row.
void forwardHead(const Head &h, const Options &opts, double scale, Scratch &sc,
                 const HeadStats &st) {
  const int64_t D = h.D;
  for (int64_t i = 0; i < h.Lq; ++i) {
    const double *qi = h.q + i * h.qStride;
    const double *ri = h.r ? h.r + i * h.qStride : nullptr;
    double *oi = h.o + i * h.oStride;
    auto [lo, hi] = visibleRange(opts, h.Lq, h.Lk, i);
    if (lo >= hi) { // no visible key: 0, never NaN
      std::fill(oi, oi + D, 0.0);
      if (st.m) st.m[i] = -kInf;
      if (st.d1) st.d1[i] = 0;
      if (st.tbar) st.tbar[i] = 0;
      if (st.vbar) std::fill(st.vbar + i * D, st.vbar + (i + 1) * D, 0.0);
      continue;
    }
    double m = -kInf;
    for (int64_t j = lo; j < hi; ++j) {
      double s = scale * dot(qi, h.k + j * h.kvStride, D);
      sc.s1[j - lo] = s;
      m = std::max(m, s);
    }
    double d1 = 0, d2 = 0;
    std::fill(sc.o1.begin(), sc.o1.end(), 0.0);
    std::fill(sc.o2.begin(), sc.o2.end(), 0.0);
    for (int64_t j = lo; j < hi; ++j) {
      const double *vj = h.v + j * h.kvStride;
      double p1 = std::exp(sc.s1[j - lo] - m);
      d1 += p1;
      axpy(p1, vj, sc.o1.data(), D);
      if (ri) {
        double p2 = p1 * dot(ri, h.k + j * h.kvStride, D); // S2 not scaled
        d2 += p2;
        axpy(p2, vj, sc.o2.data(), D);
      }
    }
    // o = (O1/d1)(1 + d2/d1) - O2/d1
    const double inv = 1.0 / d1, tb = d2 * inv;
    for (int64_t d = 0; d < D; ++d)
      oi[d] = sc.o1[d] * inv * (1.0 + tb) - sc.o2[d] * inv;
    if (st.m) st.m[i] = m;
    if (st.d1) st.d1[i] = d1;
    if (st.tbar) st.tbar[i] = tb;
    if (st.vbar)
      for (int64_t d = 0; d < D; ++d)
        st.vbar[i * D + d] = sc.o1[d] * inv;
  }
}

// Calls fn(b, hq, hk, Head) for every (batch, query head) of a dense problem.
template <class Fn>
void forEachDenseHead(const Shape &s, const double *q, const double *k,
                      const double *v, const double *r, double *o, Fn fn) {
  const int64_t G = s.Hq / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h) {
      const int64_t hk = h / G;
      const int64_t qOff = ((b * s.Hq + h) * s.Lq) * s.D;
      const int64_t kOff = ((b * s.Hkv + hk) * s.Lk) * s.D;
      Head hd{q + qOff, r ? r + qOff : nullptr, s.D, k + kOff, v + kOff, s.D,
              o + qOff, s.D, s.Lq, s.Lk, s.D};
      fn(b, h, hk, hd);
    }
}

} // namespace

bool isVisible(const Options &opts, int64_t Lq, int64_t Lk, int64_t i,
               int64_t j) {
  const int64_t diag = Lk - Lq + i; // end-aligned diagonal
  if (opts.causal && j > diag)
    return false;
  if (opts.window > 0 && j < diag - opts.window + 1)
    return false;
  return true;
}

std::pair<int64_t, int64_t> visibleRange(const Options &opts, int64_t Lq,
                                         int64_t Lk, int64_t i) {
  const int64_t diag = Lk - Lq + i;
  int64_t lo = 0, hi = Lk;
  if (opts.causal)
    hi = std::min(hi, diag + 1);
  if (opts.window > 0)
    lo = std::max(lo, diag - opts.window + 1);
  if (hi < lo)
    hi = lo;
  return {lo, hi};
}

double effectiveScale(const Options &opts, int64_t D) {
  return opts.scale != 0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(D));
}

void validate(const Shape &s, const Options &opts) {
  checkShape("validate", s, opts);
}

size_t numQ(const Shape &s) {
  return static_cast<size_t>(s.B * s.Hq * s.Lq * s.D);
}
size_t numKV(const Shape &s) {
  return static_cast<size_t>(s.B * s.Hkv * s.Lk * s.D);
}

void forward(const Shape &s, const Options &opts, const double *q,
             const double *k, const double *v, const double *r, double *o,
             ForwardStats *stats) {
  const char *fn = "forward";
  checkShape(fn, s, opts);
  checkPtr(fn, "q", q);
  checkPtr(fn, "k", k);
  checkPtr(fn, "v", v);
  checkPtr(fn, "o", o);
  const double scale = effectiveScale(opts, s.D);
  const size_t rows = static_cast<size_t>(s.B * s.Hq * s.Lq);
  if (stats) {
    stats->m.assign(rows, 0);
    stats->d1.assign(rows, 0);
    stats->tbar.assign(rows, 0);
    stats->vbar.assign(rows * static_cast<size_t>(s.D), 0);
  }
  Scratch sc;
  sc.reserve(s.Lk, s.D);
  forEachDenseHead(s, q, k, v, r, o,
                   [&](int64_t b, int64_t h, int64_t, const Head &hd) {
                     HeadStats st;
                     if (stats) {
                       const size_t row = static_cast<size_t>((b * s.Hq + h) * s.Lq);
                       st.m = stats->m.data() + row;
                       st.d1 = stats->d1.data() + row;
                       st.tbar = stats->tbar.data() + row;
                       st.vbar = stats->vbar.data() + row * s.D;
                     }
                     forwardHead(hd, opts, scale, sc, st);
                   });
}

void forwardCovariance(const Shape &s, const Options &opts, const double *q,
                       const double *k, const double *v, const double *r,
                       double *o) {
  const char *fn = "forwardCovariance";
  checkShape(fn, s, opts);
  checkPtr(fn, "q", q);
  checkPtr(fn, "k", k);
  checkPtr(fn, "v", v);
  checkPtr(fn, "o", o);
  const double scale = effectiveScale(opts, s.D);
  const int64_t D = s.D;
  Scratch sc;
  sc.reserve(s.Lk, D);
  forEachDenseHead(s, q, k, v, r, o, [&](int64_t, int64_t, int64_t, const Head &h) {
    for (int64_t i = 0; i < h.Lq; ++i) {
      const double *qi = h.q + i * h.qStride;
      const double *ri = h.r ? h.r + i * h.qStride : nullptr;
      double *oi = h.o + i * h.oStride;
      auto [lo, hi] = visibleRange(opts, h.Lq, h.Lk, i);
      if (lo >= hi) {
        std::fill(oi, oi + D, 0.0);
        continue;
      }
      // Explicit normalized softmax weights a_j in sc.s1.
      double m = -kInf;
      for (int64_t j = lo; j < hi; ++j) {
        sc.s1[j - lo] = scale * dot(qi, h.k + j * h.kvStride, D);
        m = std::max(m, sc.s1[j - lo]);
      }
      double sum = 0;
      for (int64_t j = lo; j < hi; ++j)
        sum += (sc.s1[j - lo] = std::exp(sc.s1[j - lo] - m));
      for (int64_t j = lo; j < hi; ++j)
        sc.s1[j - lo] /= sum;
      // vbar (in oi) and kbar.
      std::fill(oi, oi + D, 0.0);
      std::fill(sc.kbar.begin(), sc.kbar.end(), 0.0);
      for (int64_t j = lo; j < hi; ++j) {
        axpy(sc.s1[j - lo], h.v + j * h.kvStride, oi, D);
        if (ri)
          axpy(sc.s1[j - lo], h.k + j * h.kvStride, sc.kbar.data(), D);
      }
      if (!ri)
        continue;
      // Cov_a(v,k) r = sum_j a_j (v_j - vbar) ((k_j - kbar) . r), accumulated
      // in sc.o1 from a snapshot of vbar in sc.tmp.
      std::copy(oi, oi + D, sc.tmp.begin());
      std::fill(sc.o1.begin(), sc.o1.end(), 0.0);
      for (int64_t j = lo; j < hi; ++j) {
        const double *kj = h.k + j * h.kvStride, *vj = h.v + j * h.kvStride;
        double c = 0;
        for (int64_t d = 0; d < D; ++d)
          c += (kj[d] - sc.kbar[d]) * ri[d];
        const double w = sc.s1[j - lo] * c;
        for (int64_t d = 0; d < D; ++d)
          sc.o1[d] += w * (vj[d] - sc.tmp[d]);
      }
      for (int64_t d = 0; d < D; ++d)
        oi[d] = sc.tmp[d] - sc.o1[d];
    }
  });
}

void forwardStreaming(const Shape &s, const Options &opts, const double *q,
                      const double *k, const double *v, const double *r,
                      double *o, int64_t blockN, int64_t numSplits) {
  const char *fn = "forwardStreaming";
  checkShape(fn, s, opts);
  requirePositive(fn, "blockN", blockN);
  requirePositive(fn, "numSplits", numSplits);
  checkPtr(fn, "q", q);
  checkPtr(fn, "k", k);
  checkPtr(fn, "v", v);
  checkPtr(fn, "o", o);
  const int64_t D = s.D;
  // Scores live in the log2 domain: log2(e) folded into the scale, exp2 below.
  const double scale2 = effectiveScale(opts, D) * kLog2e;
  const int64_t chunk = (s.Lk + numSplits - 1) / numSplits;
  // Splits past Lk (numSplits > Lk) are empty and contribute nothing.
  numSplits = (s.Lk + chunk - 1) / chunk;
  blockN = std::min(blockN, s.Lk); // a tile never exceeds the key range
  // Per split: m, d1, d2, O1[D], O2[D].
  std::vector<double> sm(numSplits), sd1(numSplits), sd2(numSplits);
  std::vector<double> sO1(static_cast<size_t>(numSplits * D)),
      sO2(static_cast<size_t>(numSplits * D));
  std::vector<double> s1(static_cast<size_t>(blockN)), t(static_cast<size_t>(blockN));
  std::vector<double> O1m(static_cast<size_t>(D)), O2m(static_cast<size_t>(D));
  forEachDenseHead(s, q, k, v, r, o, [&](int64_t, int64_t, int64_t, const Head &h) {
    for (int64_t i = 0; i < h.Lq; ++i) {
      const double *qi = h.q + i * h.qStride;
      const double *ri = h.r ? h.r + i * h.qStride : nullptr;
      double *oi = h.o + i * h.oStride;
      const auto [lo, hi] = visibleRange(opts, h.Lq, h.Lk, i);
      for (int64_t sp = 0; sp < numSplits; ++sp) {
        double m = -kInf, d1 = 0, d2 = 0;
        double *O1 = sO1.data() + sp * D, *O2 = sO2.data() + sp * D;
        std::fill(O1, O1 + D, 0.0);
        std::fill(O2, O2 + D, 0.0);
        const int64_t begin = std::min(h.Lk, sp * chunk);
        const int64_t end = std::min(h.Lk, begin + chunk);
        for (int64_t t0 = begin; t0 < end; t0 += blockN) {
          const int64_t t1 = std::min(end, t0 + blockN);
          // Tile scores (masked = -inf) and tile max.
          double mt = -kInf;
          for (int64_t j = t0; j < t1; ++j) {
            const bool vis = j >= lo && j < hi;
            const double *kj = h.k + j * h.kvStride;
            s1[j - t0] = vis ? scale2 * dot(qi, kj, D) : -kInf;
            t[j - t0] = (vis && ri) ? dot(ri, kj, D) : 0.0;
            mt = std::max(mt, s1[j - t0]);
          }
          const double mNew = std::max(m, mt);
          if (mNew == -kInf)
            continue; // nothing visible yet
          // ONE rescale shared by d1, d2, O1, O2.
          const double alpha = std::exp2(m - mNew); // exp2(-inf) = 0
          d1 *= alpha;
          d2 *= alpha;
          for (int64_t d = 0; d < D; ++d) {
            O1[d] *= alpha;
            O2[d] *= alpha;
          }
          for (int64_t j = t0; j < t1; ++j) {
            const double p1 = std::exp2(s1[j - t0] - mNew);
            if (p1 == 0)
              continue;
            const double p2 = p1 * t[j - t0];
            const double *vj = h.v + j * h.kvStride;
            d1 += p1;
            d2 += p2;
            for (int64_t d = 0; d < D; ++d) {
              O1[d] += p1 * vj[d];
              O2[d] += p2 * vj[d];
            }
          }
          m = mNew;
        }
        sm[sp] = m;
        sd1[sp] = d1;
        sd2[sp] = d2;
      }
      // Merge: rescale all four by exp2(m_split - m_total), add, then apply the
      // output formula once.
      double M = -kInf;
      for (int64_t sp = 0; sp < numSplits; ++sp)
        M = std::max(M, sm[sp]);
      if (M == -kInf) {
        std::fill(oi, oi + D, 0.0);
        continue;
      }
      double d1 = 0, d2 = 0;
      std::fill(O1m.begin(), O1m.end(), 0.0);
      std::fill(O2m.begin(), O2m.end(), 0.0);
      for (int64_t sp = 0; sp < numSplits; ++sp) {
        const double f = std::exp2(sm[sp] - M); // 0 for empty splits
        d1 += f * sd1[sp];
        d2 += f * sd2[sp];
        axpy(f, sO1.data() + sp * D, O1m.data(), D);
        axpy(f, sO2.data() + sp * D, O2m.data(), D);
      }
      const double inv = 1.0 / d1, tb = d2 * inv;
      for (int64_t d = 0; d < D; ++d)
        oi[d] = O1m[d] * inv * (1.0 + tb) - O2m[d] * inv;
    }
  });
}

void forwardDecode(const Shape &s, const Options &opts, const double *q,
                   const double *kCache, const double *vCache,
                   const int32_t *seqLens, const double *r, double *o) {
  const char *fn = "forwardDecode";
  checkShape(fn, s, opts);
  checkPtr(fn, "q", q);
  checkPtr(fn, "kCache", kCache);
  checkPtr(fn, "vCache", vCache);
  checkPtr(fn, "seqLens", seqLens);
  checkPtr(fn, "o", o);
  for (int64_t b = 0; b < s.B; ++b)
    if (seqLens[b] < 0 || seqLens[b] > s.Lk) {
      std::ostringstream os;
      os << "seqLens[" << b << "] (" << seqLens[b] << ") must be in [0, Lmax ("
         << s.Lk << ")]";
      fail(fn, os.str());
    }
  const double scale = effectiveScale(opts, s.D);
  Scratch sc;
  sc.reserve(s.Lk, s.D);
  // Same as the dense head loop, but the cache has Lmax rows per head and the
  // head only sees its first seqLens[b] keys (end-aligned masking uses them).
  forEachDenseHead(s, q, kCache, vCache, r, o,
                   [&](int64_t b, int64_t, int64_t, Head hd) {
                     hd.Lk = seqLens[b];
                     forwardHead(hd, opts, scale, sc, HeadStats{});
                   });
}

void forwardVarlen(int64_t B, int64_t Hq, int64_t Hkv, int64_t D,
                   const Options &opts, const int32_t *cuQ, const int32_t *cuK,
                   const double *q, const double *k, const double *v,
                   const double *r, double *o) {
  const char *fn = "forwardVarlen";
  requirePositive(fn, "B", B);
  requirePositive(fn, "Hq", Hq);
  requirePositive(fn, "Hkv", Hkv);
  requirePositive(fn, "D", D);
  checkHeads(fn, Hq, Hkv);
  checkOptions(fn, opts);
  checkPtr(fn, "cuSeqlensQ", cuQ);
  checkPtr(fn, "cuSeqlensK", cuK);
  for (const auto &[name, cu] : {std::pair<const char *, const int32_t *>{"cuSeqlensQ", cuQ},
                                 {"cuSeqlensK", cuK}}) {
    if (cu[0] != 0) {
      std::ostringstream os;
      os << name << "[0] (" << cu[0] << ") must be 0";
      fail(fn, os.str());
    }
    for (int64_t b = 0; b < B; ++b)
      if (cu[b + 1] < cu[b]) {
        std::ostringstream os;
        os << name << " must be non-decreasing: " << name << "[" << b + 1 << "] ("
           << cu[b + 1] << ") < " << name << "[" << b << "] (" << cu[b] << ")";
        fail(fn, os.str());
      }
  }
  if (cuQ[B] > 0) {
    checkPtr(fn, "q", q);
    checkPtr(fn, "o", o);
  }
  if (cuK[B] > 0) {
    checkPtr(fn, "k", k);
    checkPtr(fn, "v", v);
  }
  int64_t maxLk = 1;
  for (int64_t b = 0; b < B; ++b)
    maxLk = std::max<int64_t>(maxLk, cuK[b + 1] - cuK[b]);
  const double scale = effectiveScale(opts, D);
  const int64_t G = Hq / Hkv;
  Scratch sc;
  sc.reserve(maxLk, D);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t Lq = cuQ[b + 1] - cuQ[b], Lk = cuK[b + 1] - cuK[b];
    if (Lq == 0)
      continue;
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t qOff = (cuQ[b] * Hq + h) * D;
      const int64_t kOff = (static_cast<int64_t>(cuK[b]) * Hkv + h / G) * D;
      Head hd{q + qOff, r ? r + qOff : nullptr, Hq * D,
              Lk ? k + kOff : nullptr, Lk ? v + kOff : nullptr, Hkv * D,
              o + qOff, Hq * D, Lq, Lk, D};
      forwardHead(hd, opts, scale, sc, HeadStats{});
    }
  }
}

void backward(const Shape &s, const Options &opts, const double *q,
              const double *k, const double *v, const double *r,
              const double *dO, double *dq, double *dk, double *dv,
              double *dr) {
  const char *fn = "backward";
  checkShape(fn, s, opts);
  checkPtr(fn, "q", q);
  checkPtr(fn, "k", k);
  checkPtr(fn, "v", v);
  checkPtr(fn, "dO", dO);
  checkPtr(fn, "dq", dq);
  checkPtr(fn, "dk", dk);
  checkPtr(fn, "dv", dv);
  if (r)
    checkPtr(fn, "dr (required when r is given)", dr);
  const int64_t D = s.D, G = s.Hq / s.Hkv;
  const double scale = effectiveScale(opts, D);
  std::fill(dk, dk + numKV(s), 0.0);
  std::fill(dv, dv + numKV(s), 0.0);
  // Per-row scratch: softmax weights p_j and probe scores t_j.
  std::vector<double> p(static_cast<size_t>(s.Lk)), t(p.size());
  std::vector<double> vbar(static_cast<size_t>(D)), oRow(static_cast<size_t>(D));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h) {
      const int64_t hk = h / G;
      const int64_t qOff = ((b * s.Hq + h) * s.Lq) * D;
      const int64_t kOff = ((b * s.Hkv + hk) * s.Lk) * D;
      const double *K = k + kOff, *V = v + kOff;
      double *dK = dk + kOff, *dV = dv + kOff;
      for (int64_t i = 0; i < s.Lq; ++i) {
        const double *qi = q + qOff + i * D;
        const double *ri = r ? r + qOff + i * D : nullptr;
        const double *gi = dO + qOff + i * D;
        double *dqi = dq + qOff + i * D;
        double *dri = r ? dr + qOff + i * D : nullptr;
        std::fill(dqi, dqi + D, 0.0);
        if (dri)
          std::fill(dri, dri + D, 0.0);
        auto [lo, hi] = visibleRange(opts, s.Lq, s.Lk, i);
        if (lo >= hi)
          continue; // o_i = 0 constant: no gradient
        // Recompute p_ij (softmax weights), t_ij, tbar_i, vbar_i, o_i.
        double m = -kInf;
        for (int64_t j = lo; j < hi; ++j) {
          p[j] = scale * dot(qi, K + j * D, D);
          m = std::max(m, p[j]);
        }
        double sum = 0;
        for (int64_t j = lo; j < hi; ++j)
          sum += (p[j] = std::exp(p[j] - m));
        double tbar = 0;
        std::fill(vbar.begin(), vbar.end(), 0.0);
        for (int64_t j = lo; j < hi; ++j) {
          p[j] /= sum;
          t[j] = ri ? dot(ri, K + j * D, D) : 0.0;
          tbar += p[j] * t[j];
          axpy(p[j], V + j * D, vbar.data(), D);
        }
        // o_i = sum_j p_j (1 + tbar - t_j) v_j
        std::fill(oRow.begin(), oRow.end(), 0.0);
        for (int64_t j = lo; j < hi; ++j)
          axpy(p[j] * (1.0 + tbar - t[j]), V + j * D, oRow.data(), D);
        const double delta = dot(gi, oRow.data(), D);
        const double bi = dot(gi, vbar.data(), D);
        for (int64_t j = lo; j < hi; ++j) {
          const double Aij = dot(gi, V + j * D, D);
          const double gl = p[j] * (Aij - delta + (tbar - t[j]) * (Aij - bi));
          const double gu = -p[j] * (Aij - bi);
          const double *kj = K + j * D;
          double *dkj = dK + j * D;
          axpy(scale * gl, kj, dqi, D);
          axpy(scale * gl, qi, dkj, D);
          if (ri) {
            axpy(gu, kj, dri, D);
            axpy(gu, ri, dkj, D);
          }
          axpy(p[j] * (1.0 + tbar - t[j]), gi, dV + j * D, D);
        }
      }
    }
}

double relL2(const double *a, const double *b, size_t n) {
  return relL2<double>(a, b, n);
}

void fillRandom(double *x, size_t n, uint64_t seed, double lo, double hi) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
    std::ostringstream os;
    os << "need finite lo < hi, got lo (" << lo << "), hi (" << hi << ")";
    fail("fillRandom", os.str());
  }
  if (n && !x)
    fail("fillRandom", "x must not be null");
  std::mt19937_64 gen(seed);
  for (size_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53; // [0,1)
    double y = lo + (hi - lo) * u;
    x[i] = y < hi ? y : lo; // guard rounding up to hi
  }
}

} // namespace parallax::ref
