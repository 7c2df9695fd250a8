//===- Reference.h - float64 reference for Parallax attention ---*- C++ -*-===//
//
// The ground truth every generated kernel is tested against (see
// /work/shared/parallax-math.md). It is written in plain C++17 with float64
// arithmetic and NO MLIR/LLVM dependency on purpose: the oracle must not share
// code, types or bugs with the compiler it judges, and it must build anywhere
// (unit tests, benchmarks, Python-free CI) in seconds.
//
// Several independent formulations of the same function are provided
// (direct, covariance, streaming/split-KV) so they can check one another.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_REFERENCE_REFERENCE_H
#define PARALLAX_REFERENCE_REFERENCE_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace parallax::ref {

// Dense layout, row-major contiguous: q, r, o: [B][Hq][Lq][D];
// k, v: [B][Hkv][Lk][D]. GQA: query head h (and its probe r) reads KV head
// h / (Hq / Hkv).
struct Shape {
  int64_t B, Hq, Hkv, Lq, Lk, D;
};

struct Options {
  // End-aligned: key j visible to query i iff j <= Lk - Lq + i.
  bool causal = false;
  // >0: sliding window of w keys counting the diagonal: hides
  // j < Lk - Lq + i - w + 1 (independently of `causal`; without causal it only
  // bounds the left side). 0 = none. Negative is an error.
  int64_t window = 0;
  // 0 means 1/sqrt(D). Scales S1 = q.k only; S2 = r.k is never scaled.
  double scale = 0;
};

/// Returns true if key j is visible to query i (i in [0,Lq), j in [0,Lk)).
bool isVisible(const Options &, int64_t Lq, int64_t Lk, int64_t i, int64_t j);

/// Visible keys of query row i as a half-open range [first, second) clipped to
/// [0, Lk); empty (first >= second) when the row sees no key. Visibility is
/// always one contiguous range.
std::pair<int64_t, int64_t> visibleRange(const Options &, int64_t Lq,
                                         int64_t Lk, int64_t i);

/// The scale actually applied to q.k (opts.scale, or 1/sqrt(D) when 0).
double effectiveScale(const Options &, int64_t D);

/// Throws std::invalid_argument (message names the constraint and values) if
/// the shape or options are invalid: all dims >= 1, Hq % Hkv == 0,
/// window >= 0, finite scale, no size overflow.
void validate(const Shape &, const Options &);

/// Element counts of the dense q/r/o and k/v tensors.
size_t numQ(const Shape &);
size_t numKV(const Shape &);

/// Per-row statistics worth saving for backward (m, d1, tbar: B*Hq*Lq;
/// vbar: B*Hq*Lq*D). m is the natural-log row max of S1 (scaled), d1 the
/// softmax denominator, tbar = d2/d1, vbar = O1/d1. Rows with no visible key
/// get m = -inf, d1 = 0, tbar = 0, vbar = 0. Vectors are resized by forward().
struct ForwardStats {
  std::vector<double> m, d1, tbar;
  std::vector<double> vbar;
};

/// Direct form (spec section 1). r == nullptr means softmax attention. Rows
/// with no visible key give 0. Throws std::invalid_argument on bad shapes.
void forward(const Shape &, const Options &, const double *q, const double *k,
             const double *v, const double *r, double *o,
             ForwardStats *stats = nullptr);

/// Same function computed the "covariance way" with explicit normalized
/// softmax weights: o = vbar - Cov_a(v,k) r, the covariance taken with
/// centered keys and values. Used to test forward().
void forwardCovariance(const Shape &, const Options &, const double *q,
                       const double *k, const double *v, const double *r,
                       double *o);

/// Streaming (flash) form: key tiles of blockN (>= 1), online softmax with one
/// running max and one rescale shared by d1,d2,O1,O2, exp2 with log2(e) folded
/// into the scale; the key range is split into numSplits (>= 1) contiguous
/// ranges of ceil(Lk/numSplits) keys whose (m,d1,d2,O1,O2) are merged as in the
/// spec's split-KV section (empty splits are allowed and contribute nothing).
void forwardStreaming(const Shape &, const Options &, const double *q,
                      const double *k, const double *v, const double *r,
                      double *o, int64_t blockN, int64_t numSplits = 1);

/// Decode against a KV cache: q/r/o [B][Hq][Lq][D]; kCache/vCache
/// [B][Hkv][Lmax][D] with Lmax = shape.Lk; seqLens[B] in [0, Lmax]. The Lq
/// queries are the LAST Lq tokens of sequence b, so masking uses
/// Lk = seqLens[b]; keys >= seqLens[b] are never read. seqLens[b] == 0 (or
/// < Lq with causal) gives zero rows.
void forwardDecode(const Shape & /*Lk field = Lmax*/, const Options &,
                   const double *q, const double *kCache,
                   const double *vCache, const int32_t *seqLens,
                   const double *r, double *o);

/// Variable-length batches, FlashAttention style: q/r/o packed
/// [totalQ][Hq][D], k/v packed [totalK][Hkv][D] with totalQ = cuSeqlensQ[B],
/// totalK = cuSeqlensK[B]. cuSeqlensQ/K have B+1 entries, start at 0 and are
/// non-decreasing. Sequence b's queries are rows cuQ[b]..cuQ[b+1], keys
/// cuK[b]..cuK[b+1]; causal end-aligned per sequence. Empty sequences are
/// allowed (an empty key sequence gives zero rows).
void forwardVarlen(int64_t B, int64_t Hq, int64_t Hkv, int64_t D,
                   const Options &, const int32_t *cuSeqlensQ,
                   const int32_t *cuSeqlensK, const double *q, const double *k,
                   const double *v, const double *r, double *o);

/// Backward (dense layout), spec section 4, for the loss L = sum(o * dO).
/// r == nullptr: softmax backward (dr untouched, may be null). Outputs are
/// overwritten, not accumulated; dk/dv sum over the query heads of a group.
void backward(const Shape &, const Options &, const double *q,
              const double *k, const double *v, const double *r,
              const double *dO, double *dq, double *dk, double *dv,
              double *dr);

/// Relative L2 error ||a-b|| / ||b||; +inf if any element of a (or b) is
/// NaN/inf. If ||b|| == 0 returns ||a||.
double relL2(const double *a, const double *b, size_t n);

/// Convenience overload for float, half-like types convertible to double...
template <class T> double relL2(const T *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = static_cast<double>(a[i]);
    if (!std::isfinite(x) || !std::isfinite(b[i]))
      return std::numeric_limits<double>::infinity();
    double e = x - b[i];
    num += e * e;
    den += b[i] * b[i];
  }
  if (den == 0)
    return std::sqrt(num);
  return std::sqrt(num / den);
}

/// Deterministic random fill, uniform in [lo, hi) from a seeded
/// std::mt19937_64 (bit-identical across standard libraries: the mapping to
/// doubles is done here, not by std::uniform_real_distribution). Requires
/// lo < hi (throws std::invalid_argument otherwise), so never zeros-only.
void fillRandom(double *x, size_t n, uint64_t seed, double lo = -1,
                double hi = 1);

} // namespace parallax::ref

#endif // PARALLAX_REFERENCE_REFERENCE_H
