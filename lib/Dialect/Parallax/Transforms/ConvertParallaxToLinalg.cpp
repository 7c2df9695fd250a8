//===- ConvertParallaxToLinalg.cpp - tiled ops -> upstream tensor ops -----===//
//
// The CPU path: every tiled op becomes linalg/tensor/arith/math on tensors,
// and upstream bufferization and LLVM lowering do the rest. The semantics of
// each op live here in executable form, so this file doubles as their
// reference implementation for the GPU lowering.
//
//===----------------------------------------------------------------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::parallax {
#define GEN_PASS_DEF_CONVERTPARALLAXTOLINALG
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

using utils::IteratorType;

Value toF32(OpBuilder &b, Location loc, Value x) {
  if (x.getType().isF32())
    return x;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), x);
}

Value emptyLike(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                Type elt) {
  return tensor::EmptyOp::create(b, loc, shape, elt);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// m == -inf ? 0 : m. A fully masked row keeps -inf as its max; subtracting
/// 0 instead gives exp2(-inf) = 0 rather than exp2(-inf + inf) = NaN.
Value safeMax(OpBuilder &b, Location loc, Value m) {
  Value negInf = f32Const(b, loc, -std::numeric_limits<float>::infinity());
  Value isNegInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, negInf);
  return arith::SelectOp::create(b, loc, isNegInf, f32Const(b, loc, 0), m);
}

struct LowerTileLoad : OpRewritePattern<TileLoadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileLoadOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value src = op.getSource();
    // [B, H, L, D] or packed [T, H, D]: the sequence dimension differs.
    bool packed = op.getSource().getType().getRank() == 3;
    Value limit = op.getLimit();
    if (!limit)
      limit = tensor::DimOp::create(rw, loc, src, packed ? 0 : 2);
    int64_t rows = op.getRows();
    Type elt = op.getType().getElementType();
    auto gen = tensor::GenerateOp::create(
        rw, loc, op.getType(), ValueRange{},
        [&](OpBuilder &b, Location l, ValueRange idx) {
          Value rowsC = arith::ConstantIndexOp::create(b, l, rows);
          Value g = arith::DivUIOp::create(b, l, idx[0], rowsC);
          Value i = arith::RemUIOp::create(b, l, idx[0], rowsC);
          Value row = arith::AddIOp::create(b, l, op.getRow(), i);
          Value head = arith::AddIOp::create(b, l, op.getHead(), g);
          Value inBounds = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, row, limit);
          auto ifOp = scf::IfOp::create(
              b, l, inBounds,
              [&](OpBuilder &tb, Location tl) {
                SmallVector<Value> at =
                    packed ? SmallVector<Value>{row, head, idx[1]}
                           : SmallVector<Value>{op.getBatch(), head, row, idx[1]};
                Value x = tensor::ExtractOp::create(tb, tl, src, at);
                scf::YieldOp::create(tb, tl, x);
              },
              [&](OpBuilder &eb, Location el) {
                Value z = arith::ConstantOp::create(eb, el,
                                                    eb.getZeroAttr(elt));
                scf::YieldOp::create(eb, el, z);
              });
          tensor::YieldOp::create(b, l, ifOp.getResult(0));
        });
    rw.replaceOp(op, gen.getResult());
    return success();
  }
};

struct LowerTileDot : OpRewritePattern<TileDotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileDotOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto resType = op.getType();
    Value init = op.getAcc();
    if (!init) {
      Value empty = emptyLike(rw, loc, resType.getShape(), rw.getF32Type());
      init = linalg::FillOp::create(rw, loc, f32Const(rw, loc, 0), empty)
                 .getResult(0);
    }
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    auto mapA = AffineMap::get(3, 0, {m, k}, ctx);
    auto mapB = op.getTransposeB() ? AffineMap::get(3, 0, {n, k}, ctx)
                                   : AffineMap::get(3, 0, {k, n}, ctx);
    auto mapC = AffineMap::get(3, 0, {m, n}, ctx);
    auto generic = linalg::GenericOp::create(
        rw, loc, resType, ValueRange{op.getA(), op.getB()}, ValueRange{init},
        ArrayRef<AffineMap>{mapA, mapB, mapC},
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                               IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value prod = arith::MulFOp::create(b, l, toF32(b, l, args[0]),
                                             toF32(b, l, args[1]));
          linalg::YieldOp::create(b, l,
                                  arith::AddFOp::create(b, l, args[2], prod)
                                      .getResult());
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LowerTileMask : OpRewritePattern<TileMaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileMaskOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    auto id = rw.getMultiDimIdentityMap(2);
    Value empty = emptyLike(rw, loc, type.getShape(), rw.getF32Type());
    int64_t rowsPerHead = op.getRowsPerHead();
    auto generic = linalg::GenericOp::create(
        rw, loc, type, ValueRange{op.getLogits()}, ValueRange{empty},
        ArrayRef<AffineMap>{id, id},
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto c = [&](int64_t v) {
            return arith::ConstantIndexOp::create(b, l, v).getResult();
          };
          using P = arith::CmpIPredicate;
          Value i = linalg::IndexOp::create(b, l, 0);
          Value j = linalg::IndexOp::create(b, l, 1);
          Value query = arith::AddIOp::create(
              b, l, op.getRow(), arith::RemUIOp::create(b, l, i, c(rowsPerHead)));
          Value key = arith::AddIOp::create(b, l, op.getCol(), j);
          Value visible =
              arith::CmpIOp::create(b, l, P::slt, key, op.getLk());
          // Diagonal of query `query`, aligned to the end of the keys.
          Value diag = arith::AddIOp::create(
              b, l, arith::SubIOp::create(b, l, op.getLk(), op.getLq()), query);
          if (op.getCausal())
            visible = arith::AndIOp::create(
                b, l, visible, arith::CmpIOp::create(b, l, P::sle, key, diag));
          if (IntegerAttr w = op.getWindowAttr())
            visible = arith::AndIOp::create(
                b, l, visible,
                arith::CmpIOp::create(
                    b, l, P::sgt, key,
                    arith::SubIOp::create(b, l, diag, c(w.getInt()))));
          Value scaled = arith::MulFOp::create(
              b, l, args[0],
              arith::ConstantOp::create(b, l, op.getScaleAttr()));
          Value negInf =
              f32Const(b, l, -std::numeric_limits<float>::infinity());
          linalg::YieldOp::create(
              b, l,
              arith::SelectOp::create(b, l, visible, scaled, negInf).getResult());
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LowerSoftmaxStep : OpRewritePattern<SoftmaxStepOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxStepOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto sType = op.getLogits().getType();
    auto mType = op.getMax().getType();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    auto id2 = AffineMap::get(2, 0, {i, j}, ctx);
    auto row2 = AffineMap::get(2, 0, {i}, ctx);
    auto id1 = rw.getMultiDimIdentityMap(1);
    // m_new = max(m, rowmax(s)), reducing into a copy of m.
    auto newMax = linalg::GenericOp::create(
        rw, loc, mType, ValueRange{op.getLogits()}, ValueRange{op.getMax()},
        ArrayRef<AffineMap>{id2, row2},
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(
              b, l, arith::MaximumFOp::create(b, l, args[0], args[1])
                        .getResult());
        });
    Value mNew = newMax.getResult(0);
    auto alpha = linalg::GenericOp::create(
        rw, loc, mType, ValueRange{op.getMax(), mNew},
        ValueRange{emptyLike(rw, loc, mType.getShape(), rw.getF32Type())},
        ArrayRef<AffineMap>{id1, id1, id1},
        ArrayRef<IteratorType>{IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value d = arith::SubFOp::create(b, l, args[0], safeMax(b, l, args[1]));
          linalg::YieldOp::create(b, l, math::Exp2Op::create(b, l, d).getResult());
        });
    auto probs = linalg::GenericOp::create(
        rw, loc, sType, ValueRange{op.getLogits(), mNew},
        ValueRange{emptyLike(rw, loc, sType.getShape(), rw.getF32Type())},
        ArrayRef<AffineMap>{id2, row2, id2},
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value d = arith::SubFOp::create(b, l, args[0], safeMax(b, l, args[1]));
          linalg::YieldOp::create(b, l, math::Exp2Op::create(b, l, d).getResult());
        });
    rw.replaceOp(op, {mNew, alpha.getResult(0), probs.getResult(0)});
    return success();
  }
};

struct LowerTileRescale : OpRewritePattern<TileRescaleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileRescaleOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    unsigned rank = type.getRank();
    auto id = rw.getMultiDimIdentityMap(rank);
    auto row = AffineMap::get(rank, 0, {rw.getAffineDimExpr(0)}, rw.getContext());
    SmallVector<IteratorType> iters(rank, IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rw, loc, type, ValueRange{op.getInput(), op.getAlpha()},
        ValueRange{emptyLike(rw, loc, type.getShape(), rw.getF32Type())},
        ArrayRef<AffineMap>{id, row, id}, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(
              b, l, arith::MulFOp::create(b, l, args[0], args[1]).getResult());
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LowerTileRowSum : OpRewritePattern<TileRowSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileRowSumOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    auto generic = linalg::GenericOp::create(
        rw, loc, op.getType(), ValueRange{op.getInput()},
        ValueRange{op.getAcc()},
        ArrayRef<AffineMap>{AffineMap::get(2, 0, {i, j}, ctx),
                            AffineMap::get(2, 0, {i}, ctx)},
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(
              b, l, arith::AddFOp::create(b, l, args[1], args[0]).getResult());
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

SmallVector<OpFoldResult> rowOffsets(OpBuilder &b, int64_t rank, int64_t row0) {
  SmallVector<OpFoldResult> offs(rank, b.getIndexAttr(0));
  offs[0] = b.getIndexAttr(row0);
  return offs;
}

SmallVector<OpFoldResult> sizesOf(OpBuilder &b, RankedTensorType t) {
  SmallVector<OpFoldResult> s;
  for (int64_t d : t.getShape())
    s.push_back(b.getIndexAttr(d));
  return s;
}

struct LowerTileStack : OpRewritePattern<TileStackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileStackOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto top = op.getTop().getType(), bottom = op.getBottom().getType();
    int64_t rank = top.getRank();
    SmallVector<OpFoldResult> ones(rank, rw.getIndexAttr(1));
    Value t = emptyLike(rw, loc, op.getType().getShape(),
                        op.getType().getElementType());
    t = tensor::InsertSliceOp::create(rw, loc, op.getTop(), t,
                                      rowOffsets(rw, rank, 0), sizesOf(rw, top),
                                      ones);
    t = tensor::InsertSliceOp::create(rw, loc, op.getBottom(), t,
                                      rowOffsets(rw, rank, top.getDimSize(0)),
                                      sizesOf(rw, bottom), ones);
    rw.replaceOp(op, t);
    return success();
  }
};

struct LowerTileUnstack : OpRewritePattern<TileUnstackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileUnstackOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto half = op.getTop().getType();
    int64_t rank = half.getRank();
    SmallVector<OpFoldResult> ones(rank, rw.getIndexAttr(1));
    Value top = tensor::ExtractSliceOp::create(
        rw, loc, half, op.getInput(), rowOffsets(rw, rank, 0),
        sizesOf(rw, half), ones);
    Value bottom = tensor::ExtractSliceOp::create(
        rw, loc, half, op.getInput(), rowOffsets(rw, rank, half.getDimSize(0)),
        sizesOf(rw, half), ones);
    rw.replaceOp(op, {top, bottom});
    return success();
  }
};

struct LowerFinalize : OpRewritePattern<FinalizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FinalizeOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto type = op.getType();
    Type elt = type.getElementType();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    auto id = AffineMap::get(2, 0, {i, j}, ctx);
    auto row = AffineMap::get(2, 0, {i}, ctx);
    bool probe = static_cast<bool>(op.getO2());
    SmallVector<Value> ins = {op.getO1(), op.getD1()};
    SmallVector<AffineMap> maps = {id, row};
    if (probe) {
      ins.append({op.getO2(), op.getD2()});
      maps.append({id, row});
    }
    maps.push_back(id);
    auto generic = linalg::GenericOp::create(
        rw, loc, type, ins, ValueRange{emptyLike(rw, loc, type.getShape(), elt)},
        maps,
        ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          // inv = d1 == 0 ? 0 : 1 / d1: a row that saw no key returns 0.
          Value zero = f32Const(b, l, 0);
          Value isEmpty = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::OEQ, args[1], zero);
          Value inv = arith::SelectOp::create(
              b, l, isEmpty, zero,
              arith::DivFOp::create(b, l, f32Const(b, l, 1), args[1]));
          Value o = arith::MulFOp::create(b, l, args[0], inv);
          if (probe) {
            // o = (O1/d1)(1 + d2/d1) - O2/d1
            Value tbar = arith::MulFOp::create(b, l, args[3], inv);
            Value w = arith::AddFOp::create(b, l, f32Const(b, l, 1), tbar);
            o = arith::SubFOp::create(
                b, l, arith::MulFOp::create(b, l, o, w),
                arith::MulFOp::create(b, l, args[2], inv));
          }
          if (!elt.isF32())
            o = arith::TruncFOp::create(b, l, elt, o);
          linalg::YieldOp::create(b, l, o);
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ConvertParallaxToLinalgPass
    : public parallax::impl::ConvertParallaxToLinalgBase<ConvertParallaxToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerTileLoad, LowerTileDot, LowerTileMask, LowerSoftmaxStep,
                 LowerTileRescale, LowerTileRowSum, LowerTileStack,
                 LowerTileUnstack, LowerFinalize>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // High-level ops must be tiled first; say so rather than leave them.
    WalkResult r = getOperation().walk([](Operation *op) {
      if (isa<AttentionOp, DecodeAttentionOp, VarlenAttentionOp>(op)) {
        op->emitOpError() << "must be tiled (parallax-tile-attention) before "
                             "convert-parallax-to-linalg";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
