//===- ParallaxOps.cpp - verifiers and builders ---------------------------===//
//
// Every verifier names the constraint and the values that break it, so that a
// user sees "Hq (12) must be a multiple of Hkv (5)", not "invalid op".
//
//===----------------------------------------------------------------------===//
#include "parallax/Dialect/Parallax/IR/ParallaxOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::parallax;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

// Two dimensions conflict only when both are known.
static bool conflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static LogicalResult checkRank(Operation *op, StringRef name, ShapedType t,
                               int64_t rank, StringRef layout) {
  if (t.getRank() != rank)
    return op->emitOpError() << name << " must have rank " << rank << " "
                             << layout << ", got rank " << t.getRank() << " ("
                             << typeStr(t) << ")";
  return success();
}

static LogicalResult checkSameElementType(Operation *op, StringRef name,
                                          ShapedType t, ShapedType q) {
  if (t.getElementType() != q.getElementType())
    return op->emitOpError()
           << "element type " << typeStr(t.getElementType()) << " of " << name
           << " does not match element type " << typeStr(q.getElementType())
           << " of q";
  return success();
}

static LogicalResult checkDim(Operation *op, StringRef what, StringRef a,
                              int64_t da, StringRef b, int64_t db) {
  if (conflict(da, db))
    return op->emitOpError() << what << " " << da << " of " << a
                             << " does not match " << what << " " << db
                             << " of " << b;
  return success();
}

static LogicalResult checkPositive(Operation *op, StringRef what, int64_t d) {
  if (!ShapedType::isDynamic(d) && d <= 0)
    return op->emitOpError() << what << " must be positive, got " << d;
  return success();
}

// Discardable attributes need a dialect prefix ("parallax.tiling"); a bare
// unknown name is almost always a misspelling ("casual") that would otherwise
// silently change nothing.
static LogicalResult verifyNoUnknownAttrs(Operation *op) {
  for (NamedAttribute attr : op->getDiscardableAttrs()) {
    if (attr.getName().getValue().contains('.'))
      continue;
    std::string known;
    llvm::raw_string_ostream os(known);
    llvm::interleaveComma(op->getName().getAttributeNames(), os,
                          [&](StringAttr n) { os << n.getValue(); });
    return op->emitOpError() << "unknown attribute '" << attr.getName().getValue()
                             << "'; " << op->getName() << " accepts: "
                             << (known.empty() ? "none" : known);
  }
  return success();
}

// Checks what the three attention forms share. `seqDim` is the index of the
// sequence dimension (absent in the packed varlen layout, where it is -1), and
// `headDim`/`headsDim` index D and H.
static LogicalResult verifyAttentionCommon(Operation *op, ShapedType q,
                                           ShapedType k, ShapedType v,
                                           Value r, Type result,
                                           std::optional<int64_t> window,
                                           std::optional<APFloat> scale,
                                           int64_t headsDim, int64_t headDim,
                                           StringRef kName, StringRef vName) {
  if (failed(verifyNoUnknownAttrs(op)))
    return failure();
  if (failed(checkSameElementType(op, kName, k, q)) ||
      failed(checkSameElementType(op, vName, v, q)))
    return failure();
  if (failed(checkDim(op, "head dim", "q", q.getDimSize(headDim), kName,
                      k.getDimSize(headDim))) ||
      failed(checkDim(op, "head dim", "q", q.getDimSize(headDim), vName,
                      v.getDimSize(headDim))))
    return failure();
  if (failed(checkPositive(op, "head dim", q.getDimSize(headDim))) ||
      failed(checkPositive(op, "Hq", q.getDimSize(headsDim))) ||
      failed(checkPositive(op, "Hkv", k.getDimSize(headsDim))))
    return failure();
  if (k.getShape() != v.getShape() &&
      llvm::any_of(llvm::zip(k.getShape(), v.getShape()), [](auto p) {
        return conflict(std::get<0>(p), std::get<1>(p));
      }))
    return op->emitOpError()
           << vName << " shape " << shapeStr(v.getShape()) << " must match "
           << kName << " shape " << shapeStr(k.getShape());
  int64_t hq = q.getDimSize(headsDim), hkv = k.getDimSize(headsDim);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) && hq % hkv)
    return op->emitOpError() << "Hq (" << hq << ") must be a multiple of Hkv ("
                             << hkv << ")";
  if (r) {
    auto rt = cast<ShapedType>(r.getType());
    if (rt != q)
      return op->emitOpError()
             << "probe r must have the shape and element type of q: r is "
             << typeStr(rt) << ", q is " << typeStr(q);
  }
  if (result != q)
    return op->emitOpError() << "result type " << typeStr(result)
                             << " must match q type " << typeStr(q);
  if (window && *window <= 0)
    return op->emitOpError() << "window must be positive (keys counting the "
                                "diagonal), got "
                             << *window;
  if (scale) {
    double s = scale->convertToDouble();
    if (!std::isfinite(s) || s <= 0)
      return op->emitOpError() << "scale must be finite and positive, got "
                               << s;
  }
  return success();
}

static std::optional<int64_t> signedWindow(IntegerAttr w) {
  if (!w)
    return std::nullopt;
  return w.getInt();
}

static double effectiveScale(std::optional<APFloat> scale, ShapedType q,
                             int64_t headDim) {
  if (scale)
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(q.getDimSize(headDim)));
}

//===----------------------------------------------------------------------===//
// High-level ops
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto q = getQ().getType(), k = getK().getType(), v = getV().getType();
  StringRef layout = "[B, H, L, D]";
  if (failed(checkRank(*this, "q", q, 4, layout)) ||
      failed(checkRank(*this, "k", k, 4, layout)) ||
      failed(checkRank(*this, "v", v, 4, layout)))
    return failure();
  if (failed(checkDim(*this, "batch", "q", q.getDimSize(0), "k",
                      k.getDimSize(0))))
    return failure();
  return verifyAttentionCommon(*this, q, k, v, getR(), getType(), signedWindow(getWindowAttr()),
                               getScale(), /*headsDim=*/1, /*headDim=*/3, "k",
                               "v");
}

double AttentionOp::getEffectiveScale() {
  return effectiveScale(getScale(), getQ().getType(), 3);
}

LogicalResult DecodeAttentionOp::verify() {
  auto q = getQ().getType(), k = getKCache().getType(),
       v = getVCache().getType();
  StringRef layout = "[B, H, L, D]";
  if (failed(checkRank(*this, "q", q, 4, layout)) ||
      failed(checkRank(*this, "k_cache", k, 4, layout)) ||
      failed(checkRank(*this, "v_cache", v, 4, layout)))
    return failure();
  if (auto bt = getBlockTable()) {
    auto t = bt.getType();
    if (t.getRank() != 2)
      return emitOpError() << "block_table must have rank 2 [B, max_pages], "
                              "got rank "
                           << t.getRank();
    if (conflict(t.getDimSize(0), q.getDimSize(0)))
      return emitOpError() << "block_table must have one row per sequence: B "
                              "is "
                           << q.getDimSize(0) << ", block_table has "
                           << t.getDimSize(0);
  } else if (failed(checkDim(*this, "batch", "q", q.getDimSize(0), "k_cache",
                             k.getDimSize(0)))) {
    return failure();
  }
  auto lens = getSeqLens().getType();
  if (lens.getRank() != 1)
    return emitOpError() << "seq_lens must have rank 1 [B], got rank "
                         << lens.getRank();
  if (conflict(lens.getDimSize(0), q.getDimSize(0)))
    return emitOpError() << "seq_lens must have one entry per sequence: B is "
                         << q.getDimSize(0) << ", seq_lens has "
                         << lens.getDimSize(0);
  return verifyAttentionCommon(*this, q, k, v, getR(), getType(), signedWindow(getWindowAttr()),
                               getScale(), 1, 3, "k_cache", "v_cache");
}

double DecodeAttentionOp::getEffectiveScale() {
  return effectiveScale(getScale(), getQ().getType(), 3);
}

LogicalResult VarlenAttentionOp::verify() {
  auto q = getQ().getType(), k = getK().getType(), v = getV().getType();
  StringRef layout = "[total tokens, H, D]";
  if (failed(checkRank(*this, "q", q, 3, layout)) ||
      failed(checkRank(*this, "k", k, 3, layout)) ||
      failed(checkRank(*this, "v", v, 3, layout)))
    return failure();
  auto cq = getCuSeqlensQ().getType(), ck = getCuSeqlensK().getType();
  if (cq.getRank() != 1 || ck.getRank() != 1)
    return emitOpError() << "cu_seqlens_q and cu_seqlens_k must have rank 1";
  if (conflict(cq.getDimSize(0), ck.getDimSize(0)))
    return emitOpError() << "cu_seqlens_q (" << cq.getDimSize(0)
                         << " entries) and cu_seqlens_k (" << ck.getDimSize(0)
                         << " entries) must both have B + 1 entries";
  if (!ShapedType::isDynamic(cq.getDimSize(0)) && cq.getDimSize(0) < 2)
    return emitOpError() << "cu_seqlens_q must have B + 1 >= 2 entries, got "
                         << cq.getDimSize(0);
  if (getMaxSeqlenQ() <= 0 || getMaxSeqlenK() <= 0)
    return emitOpError() << "max_seqlen_q and max_seqlen_k must be positive, "
                            "got "
                         << getMaxSeqlenQ() << " and " << getMaxSeqlenK();
  return verifyAttentionCommon(*this, q, k, v, getR(), getType(), signedWindow(getWindowAttr()),
                               getScale(), 1, 2, "k", "v");
}

double VarlenAttentionOp::getEffectiveScale() {
  return effectiveScale(getScale(), getQ().getType(), 2);
}

//===----------------------------------------------------------------------===//
// Tiled ops
//===----------------------------------------------------------------------===//

static LogicalResult checkTile(Operation *op, StringRef name, ShapedType t,
                               int64_t rank) {
  if (t.getRank() != rank || !t.hasStaticShape())
    return op->emitOpError() << name << " must be a statically shaped rank-"
                             << rank << " tile, got " << typeStr(t);
  return success();
}

LogicalResult TileLoadOp::verify() {
  if (failed(verifyNoUnknownAttrs(*this)))
    return failure();
  auto src = getSource().getType();
  auto res = getResult().getType();
  if (src.getRank() != 3 && src.getRank() != 4)
    return emitOpError() << "source must have rank 4 [B, H, L, D] or rank 3 "
                            "[T, H, D] (packed), got rank "
                         << src.getRank() << " (" << typeStr(src) << ")";
  if (failed(checkTile(*this, "result", res, 2)))
    return failure();
  if (src.getElementType() != res.getElementType())
    return emitOpError() << "result element type "
                         << typeStr(res.getElementType())
                         << " must match source element type "
                         << typeStr(src.getElementType());
  int64_t heads = getHeads(), rows = getRows();
  if (res.getDimSize(0) != heads * rows)
    return emitOpError() << "result has " << res.getDimSize(0)
                         << " rows but heads x rows is " << heads << " x "
                         << rows << " = " << heads * rows;
  int64_t srcD = src.getDimSize(src.getRank() - 1);
  if (conflict(res.getDimSize(1), srcD))
    return emitOpError() << "result head dim " << res.getDimSize(1)
                         << " does not match source head dim " << srcD;
  if (!ShapedType::isDynamic(src.getDimSize(1)) && heads > src.getDimSize(1))
    return emitOpError() << "heads (" << heads
                         << ") exceeds the source's " << src.getDimSize(1)
                         << " heads";
  return success();
}

LogicalResult TileDotOp::verify() {
  if (failed(verifyNoUnknownAttrs(*this)))
    return failure();
  auto a = getA().getType(), b = getB().getType();
  auto res = getResult().getType();
  if (failed(checkTile(*this, "a", a, 2)) ||
      failed(checkTile(*this, "b", b, 2)) ||
      failed(checkTile(*this, "result", res, 2)))
    return failure();
  int64_t m = a.getDimSize(0), ka = a.getDimSize(1);
  int64_t kb = getTransposeB() ? b.getDimSize(1) : b.getDimSize(0);
  int64_t n = getTransposeB() ? b.getDimSize(0) : b.getDimSize(1);
  if (ka != kb)
    return emitOpError() << "contraction size " << ka << " of a does not match "
                         << kb << " of b" << (getTransposeB() ? " (transposed)" : "");
  if (res.getDimSize(0) != m || res.getDimSize(1) != n)
    return emitOpError() << "result shape " << shapeStr(res.getShape())
                         << " must be [" << m << ", " << n << "]";
  if (getAcc() && getAcc().getType() != res)
    return emitOpError() << "accumulator type " << typeStr(getAcc().getType())
                         << " must match result type " << typeStr(res);
  return success();
}

LogicalResult TileMaskOp::verify() {
  if (failed(verifyNoUnknownAttrs(*this)))
    return failure();
  auto s = getLogits().getType();
  if (failed(checkTile(*this, "logits", s, 2)))
    return failure();
  if (s.getDimSize(0) % getRowsPerHead())
    return emitOpError() << "rows_per_head (" << getRowsPerHead()
                         << ") must divide the tile's " << s.getDimSize(0)
                         << " rows";
  if (getWindowAttr() && getWindowAttr().getInt() <= 0)
    return emitOpError() << "window must be positive, got "
                         << getWindowAttr().getInt();
  return success();
}

void SoftmaxStepOp::build(OpBuilder &b, OperationState &state, Value logits,
                          Value max) {
  build(b, state, max.getType(), max.getType(), logits.getType(), logits, max);
}

LogicalResult SoftmaxStepOp::verify() {
  auto s = getLogits().getType(), m = getMax().getType();
  if (failed(checkTile(*this, "logits", s, 2)) ||
      failed(checkTile(*this, "max", m, 1)))
    return failure();
  if (m.getDimSize(0) != s.getDimSize(0))
    return emitOpError() << "max has " << m.getDimSize(0)
                         << " rows but logits have " << s.getDimSize(0);
  return success();
}

void TileRescaleOp::build(OpBuilder &b, OperationState &state, Value input,
                          Value alpha) {
  build(b, state, input.getType(), input, alpha);
}

LogicalResult TileRescaleOp::verify() {
  auto x = getInput().getType(), a = getAlpha().getType();
  if (!x.hasStaticShape() || (x.getRank() != 1 && x.getRank() != 2))
    return emitOpError() << "input must be a static rank-1 or rank-2 tile, got "
                         << typeStr(x);
  if (failed(checkTile(*this, "alpha", a, 1)))
    return failure();
  if (a.getDimSize(0) != x.getDimSize(0))
    return emitOpError() << "alpha has " << a.getDimSize(0)
                         << " rows but input has " << x.getDimSize(0);
  return success();
}

void TileRowSumOp::build(OpBuilder &b, OperationState &state, Value input,
                         Value acc) {
  build(b, state, acc.getType(), input, acc);
}

LogicalResult TileRowSumOp::verify() {
  auto x = getInput().getType(), a = getAcc().getType();
  if (failed(checkTile(*this, "input", x, 2)) ||
      failed(checkTile(*this, "acc", a, 1)))
    return failure();
  if (a.getDimSize(0) != x.getDimSize(0))
    return emitOpError() << "acc has " << a.getDimSize(0)
                         << " rows but input has " << x.getDimSize(0);
  return success();
}

LogicalResult TileStackOp::verify() {
  auto t = getTop().getType(), b = getBottom().getType(),
       r = getResult().getType();
  if (!t.hasStaticShape() || !b.hasStaticShape() || !r.hasStaticShape())
    return emitOpError() << "tiles must have static shapes";
  if (t.getElementType() != b.getElementType() ||
      t.getElementType() != r.getElementType() || t.getRank() != b.getRank() ||
      t.getRank() != r.getRank() ||
      t.getShape().drop_front() != b.getShape().drop_front() ||
      t.getShape().drop_front() != r.getShape().drop_front())
    return emitOpError() << "top " << typeStr(t) << " and bottom "
                         << typeStr(b)
                         << " must share element type and trailing dims with "
                            "the result "
                         << typeStr(r);
  if (r.getDimSize(0) != t.getDimSize(0) + b.getDimSize(0))
    return emitOpError() << "result has " << r.getDimSize(0)
                         << " rows, expected " << t.getDimSize(0) << " + "
                         << b.getDimSize(0);
  return success();
}

LogicalResult TileUnstackOp::verify() {
  auto x = getInput().getType();
  if (!x.hasStaticShape() || x.getRank() < 1)
    return emitOpError() << "input must be a static tile, got " << typeStr(x);
  if (x.getDimSize(0) % 2)
    return emitOpError() << "input has an odd number of rows ("
                         << x.getDimSize(0) << "): it cannot split in halves";
  SmallVector<int64_t> half(x.getShape());
  half[0] /= 2;
  auto expected = RankedTensorType::get(half, x.getElementType());
  if (getTop().getType() != expected || getBottom().getType() != expected)
    return emitOpError() << "results must both be " << typeStr(expected);
  return success();
}

LogicalResult FinalizeOp::verify() {
  auto o1 = getO1().getType(), d1 = getD1().getType();
  if (failed(checkTile(*this, "o1", o1, 2)) ||
      failed(checkTile(*this, "d1", d1, 1)))
    return failure();
  if (d1.getDimSize(0) != o1.getDimSize(0))
    return emitOpError() << "d1 has " << d1.getDimSize(0)
                         << " rows but o1 has " << o1.getDimSize(0);
  if (getO2() && (getO2().getType() != o1 || getD2().getType() != d1))
    return emitOpError() << "o2 and d2 must have the types of o1 and d1";
  auto res = getResult().getType();
  if (res.getShape() != o1.getShape())
    return emitOpError() << "result shape " << shapeStr(res.getShape())
                         << " must match o1 shape " << shapeStr(o1.getShape());
  return success();
}

#define GET_OP_CLASSES
#include "parallax/Dialect/Parallax/IR/ParallaxOps.cpp.inc"
