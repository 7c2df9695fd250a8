//===- TileAttention.cpp - attention op -> flash-loop programs ------------===//
//
// Emits the UNFUSED tiled form on purpose: each product loads its own operand
// tile and the covariance stream carries its own running max. The fusion
// passes then remove that redundancy one named step at a time, so that each
// step has its own lit test and its own line in the intensity report.
//
//===----------------------------------------------------------------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/MathExtras.h"

#include <limits>

namespace mlir::parallax {
#define GEN_PASS_DEF_PARALLAXTILEATTENTION
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

/// What the tiler needs from either attention form.
struct AttentionParts {
  Operation *op;
  Value q, k, v, r, seqLens; // seqLens only for decode
  bool causal;
  std::optional<int64_t> window;
  double scale;
  Value cuQ = {}, cuK = {}; // varlen: packed [T, H, D] with offsets
  Value blockTable = {};    // paged decode: [B, max_pages] page ids
  int64_t maxSeqlenQ = 0;
};

struct TileConfig {
  int64_t blockM, blockN, numWarps;
  bool packGqa;
  bool fitWarps = false; ///< block-m 0: fill the warps' MMA rows (GPU)
};

class Tiler {
public:
  Tiler(const AttentionParts &a, const TileConfig &c) : a(a), cfg(c) {}

  LogicalResult run() {
    auto qType = cast<RankedTensorType>(a.q.getType());
    auto kType = cast<RankedTensorType>(a.k.getType());
    packed = static_cast<bool>(a.cuQ);
    int64_t d = qType.getDimSize(packed ? 2 : 3), hq = qType.getDimSize(1),
            hkv = kType.getDimSize(1);
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(hq) ||
        ShapedType::isDynamic(hkv))
      return a.op->emitOpError()
             << "parallax-tile-attention needs static head counts and head "
                "dim (Hq, Hkv, D), got q "
             << qType << " and k " << kType;
    if (cfg.blockN <= 0 || cfg.blockM < 0 || cfg.numWarps <= 0)
      return a.op->emitOpError()
             << "tile sizes must be positive: block-m " << cfg.blockM
             << ", block-n " << cfg.blockN << ", num-warps " << cfg.numWarps;
    if (a.blockTable) {
      int64_t page = kType.getDimSize(2);
      if (ShapedType::isDynamic(page))
        return a.op->emitOpError()
               << "a paged cache needs a static page size (k_cache dim 2), got "
               << kType;
      if (page % cfg.blockN)
        return a.op->emitOpError()
               << "block-n (" << cfg.blockN << ") must divide the page size ("
               << page << ") of a paged cache, so that a K/V tile lies in one "
                  "page";
    }
    group = hq / hkv;
    // Packed sequences have their own lengths: one head per tile.
    pack = cfg.packGqa && group > 1 && !packed;
    heads = pack ? group : 1;
    blockM = cfg.blockM;
    if (blockM == 0 && cfg.fitWarps) {
      // The GPU lowering's tile: num-warps x 16 MMA rows, 8 of them query
      // rows and 8 their probes for Parallax, shared by the packed heads.
      int64_t perWarp = queryRowsPerWarp(static_cast<bool>(a.r));
      int64_t warpRows = cfg.numWarps * perWarp;
      if (warpRows % heads)
        return a.op->emitOpError()
               << "cannot fill " << cfg.numWarps << " warps x " << perWarp
               << " query rows with whole rows of " << heads
               << " packed heads: choose num-warps so that " << heads << " divides "
               << perWarp << " x num-warps, or block-m and pack-gqa";
      blockM = warpRows / heads;
    } else if (blockM == 0) {
      int64_t lq = packed ? a.maxSeqlenQ : qType.getDimSize(2);
      // An empty query dim (Lq = 0) still needs a 1-row tile type.
      blockM = ShapedType::isDynamic(lq)
                   ? 64
                   : std::clamp<int64_t>(llvm::PowerOf2Ceil(lq), 1, 64);
    }
    rows = heads * blockM;
    headDim = d;
    elt = qType.getElementType();

    ImplicitLocOpBuilder b(a.op->getLoc(), a.op);
    SmallVector<Value> dynDims;
    for (int64_t i = 0; i < qType.getRank(); ++i)
      if (qType.isDynamicDim(i))
        dynDims.push_back(tensor::DimOp::create(b, a.q, i));
    Value init = tensor::EmptyOp::create(b, qType, dynDims);
    Value batch, lq, numQTiles;
    if (packed) {
      // B = len(cu_seqlens) - 1; the grid covers the longest sequence.
      batch = arith::SubIOp::create(b, tensor::DimOp::create(b, a.cuQ, 0),
                                    indexConst(b, 1));
      numQTiles = indexConst(b, llvm::divideCeil(a.maxSeqlenQ, blockM));
    } else {
      batch = tensor::DimOp::create(b, a.q, 0);
      lq = tensor::DimOp::create(b, a.q, 2);
      numQTiles = ceilDiv(b, lq, blockM);
    }
    SmallVector<OpFoldResult> ubs = {batch, b.getIndexAttr(pack ? hkv : hq),
                                     numQTiles};
    auto forall = scf::ForallOp::create(b, ubs, ValueRange{init}, std::nullopt);
    forall->setAttr("parallax.tiling",
                    b.getDictionaryAttr({
                        b.getNamedAttr("block_m", b.getI64IntegerAttr(blockM)),
                        b.getNamedAttr("block_n",
                                       b.getI64IntegerAttr(cfg.blockN)),
                        b.getNamedAttr("num_warps",
                                       b.getI64IntegerAttr(cfg.numWarps)),
                        b.getNamedAttr("gqa_heads_per_tile",
                                       b.getI64IntegerAttr(heads)),
                    }));
    b.setInsertionPointToStart(forall.getBody());
    buildProgram(b, forall, lq);
    a.op->getResult(0).replaceAllUsesWith(forall.getResult(0));
    a.op->erase();
    return success();
  }

private:
  static Value ceilDiv(ImplicitLocOpBuilder &b, Value x, int64_t d) {
    return arith::CeilDivUIOp::create(b, x, indexConst(b, d));
  }

  void buildProgram(ImplicitLocOpBuilder &b, scf::ForallOp forall, Value lq) {
    SmallVector<Value> ivs(forall.getInductionVars());
    Value bIdx = ivs[0], hIdx = ivs[1], qTile = ivs[2];
    Value out = forall.getRegionIterArgs()[0];
    Value row0 = arith::MulIOp::create(b, qTile, indexConst(b, blockM));
    Value h0 = pack ? arith::MulIOp::create(b, hIdx, indexConst(b, group))
                    : hIdx;
    Value kvHead = pack ? hIdx
                        : arith::DivUIOp::create(b, hIdx, indexConst(b, group))
                              .getResult();
    auto qTileType = tileType({rows, headDim}, elt);
    // Packed sequences: absolute token offsets and per-sequence lengths.
    Value q0, qEnd, k0, kEnd;
    if (packed) {
      auto offset = [&](Value cu, Value i) -> Value {
        Value x = tensor::ExtractOp::create(b, cu, ValueRange{i});
        return arith::IndexCastOp::create(b, b.getIndexType(), x);
      };
      Value next = arith::AddIOp::create(b, bIdx, indexConst(b, 1));
      q0 = offset(a.cuQ, bIdx);
      qEnd = offset(a.cuQ, next);
      k0 = offset(a.cuK, bIdx);
      kEnd = offset(a.cuK, next);
      lq = arith::SubIOp::create(b, qEnd, q0);
    }
    Value qRow = packed ? arith::AddIOp::create(b, q0, row0).getResult() : row0;
    Value qLimit = packed ? qEnd : Value();
    Value qt = TileLoadOp::create(b, qTileType, a.q, bIdx, h0, qRow, qLimit,
                                  blockM, heads);
    Value rt;
    if (a.r)
      rt = TileLoadOp::create(b, qTileType, a.r, bIdx, h0, qRow, qLimit,
                              blockM, heads);

    // Number of keys of this sequence.
    Value lk;
    if (a.seqLens) {
      Value len = tensor::ExtractOp::create(b, a.seqLens, ValueRange{bIdx});
      Value lenIdx = arith::IndexCastOp::create(b, b.getIndexType(), len);
      // Paged: the cache holds max_pages * page_size keys per sequence.
      Value lmax =
          a.blockTable
              ? arith::MulIOp::create(b, tensor::DimOp::create(b, a.blockTable, 1),
                                      tensor::DimOp::create(b, a.k, 2))
                    .getResult()
              : tensor::DimOp::create(b, a.k, 2).getResult();
      Value zero = indexConst(b, 0);
      lk = arith::MinSIOp::create(b, arith::MaxSIOp::create(b, lenIdx, zero),
                                  lmax);
    } else if (packed) {
      lk = arith::SubIOp::create(b, kEnd, k0);
    } else {
      lk = tensor::DimOp::create(b, a.k, 2);
    }

    // Key range that any row of this tile can see: skip whole tiles that the
    // causal mask or the window hide.
    Value zero = indexConst(b, 0);
    Value offset = arith::SubIOp::create(b, lk, lq); // may be negative
    Value hiKey = lk;
    if (a.causal) {
      Value lastRowEnd = arith::AddIOp::create(
          b, arith::AddIOp::create(b, offset, row0), indexConst(b, blockM));
      hiKey = arith::MaxSIOp::create(
          b, arith::MinSIOp::create(b, lk, lastRowEnd), zero);
    }
    Value loKey = zero;
    if (a.window) {
      Value first = arith::SubIOp::create(
          b, arith::AddIOp::create(b, offset, row0),
          indexConst(b, *a.window - 1));
      loKey = arith::MinSIOp::create(b, arith::MaxSIOp::create(b, first, zero),
                                     hiKey);
    }
    Value jLo = arith::DivUIOp::create(b, loKey, indexConst(b, cfg.blockN));
    Value jHi = ceilDiv(b, hiKey, cfg.blockN);

    Type f32 = b.getF32Type();
    auto rowType = tileType({rows}, f32);
    auto accType = tileType({rows, headDim}, f32);
    float negInf = -std::numeric_limits<float>::infinity();
    Value mInit = arith::ConstantOp::create(
        b, DenseElementsAttr::get(rowType, b.getF32FloatAttr(negInf)));
    Value dInit = arith::ConstantOp::create(
        b, DenseElementsAttr::get(rowType, b.getF32FloatAttr(0)));
    Value oInit = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
    SmallVector<Value> inits = {mInit, dInit, oInit};
    if (a.r)
      inits.append({mInit, dInit, oInit});

    auto loop = scf::ForOp::create(
        b, jLo, jHi, indexConst(b, 1), inits,
        [&](OpBuilder &ob, Location loc, Value j, ValueRange iter) {
          ImplicitLocOpBuilder lb(loc, ob);
          Value col0 = arith::MulIOp::create(lb, j, indexConst(lb, cfg.blockN));
          auto kTileType = tileType({cfg.blockN, headDim}, elt);
          auto sType = tileType({rows, cfg.blockN}, f32);
          // One key row value for every load, so equal loads stay equal.
          Value kRow =
              packed ? arith::AddIOp::create(lb, k0, col0).getResult() : col0;
          Value kLimit = packed ? kEnd : lk;
          Value kBatch = bIdx;
          if (a.blockTable) {
            // The tile lies in one page (block-n divides the page size):
            // page bt[b, col / page], rows from col % page.
            Value pageSize = tensor::DimOp::create(lb, a.k, 2);
            Value page = arith::DivUIOp::create(lb, col0, pageSize);
            kRow = arith::RemUIOp::create(lb, col0, pageSize);
            kBatch = arith::IndexCastOp::create(
                lb, lb.getIndexType(),
                tensor::ExtractOp::create(lb, a.blockTable, ValueRange{bIdx, page}));
            kLimit = arith::SubIOp::create(
                lb, lk, arith::MulIOp::create(lb, page, pageSize));
          }
          auto loadK = [&](Value src) {
            return TileLoadOp::create(lb, kTileType, src, kBatch, kvHead, kRow,
                                      kLimit, cfg.blockN, 1);
          };
          auto toElt = [&](Value p) -> Value {
            if (elt == f32)
              return p;
            return arith::TruncFOp::create(lb, tileType({rows, cfg.blockN}, elt),
                                           p);
          };
          // Softmax stream: S1 -> (m1, d1, O1).
          Value k1 = loadK(a.k);
          Value s1 = TileDotOp::create(lb, sType, qt, k1, Value(), true);
          Value s1m = TileMaskOp::create(
              lb, sType, s1, row0, col0, lq, lk,
              a.causal ? lb.getUnitAttr() : UnitAttr(),
              a.window ? lb.getI64IntegerAttr(*a.window) : IntegerAttr(),
              lb.getF32FloatAttr(static_cast<float>(a.scale * kLog2e)),
              lb.getI64IntegerAttr(blockM));
          auto step1 = SoftmaxStepOp::create(lb, s1m, iter[0]);
          Value d1 = TileRowSumOp::create(
              lb, step1.getProbs(),
              TileRescaleOp::create(lb, iter[1], step1.getAlpha()));
          Value v1 = loadK(a.v);
          Value o1 = TileDotOp::create(
              lb, accType, toElt(step1.getProbs()), v1,
              TileRescaleOp::create(lb, iter[2], step1.getAlpha()), false);
          SmallVector<Value> yields = {step1.getNewMax(), d1, o1};
          if (a.r) {
            // Covariance stream: weights exp2(S1 - m2) * S2 -> (m2, d2, O2).
            Value k2 = loadK(a.k);
            Value s2 = TileDotOp::create(lb, sType, rt, k2, Value(), true);
            auto step2 = SoftmaxStepOp::create(lb, s1m, iter[3]);
            Value p2 = arith::MulFOp::create(lb, step2.getProbs(), s2);
            Value d2 = TileRowSumOp::create(
                lb, p2, TileRescaleOp::create(lb, iter[4], step2.getAlpha()));
            Value v2 = loadK(a.v);
            Value o2 = TileDotOp::create(
                lb, accType, toElt(p2), v2,
                TileRescaleOp::create(lb, iter[5], step2.getAlpha()), false);
            yields.append({step2.getNewMax(), d2, o2});
          }
          scf::YieldOp::create(lb, yields);
        });
    ValueRange acc = loop.getResults();
    Value o = a.r ? FinalizeOp::create(b, qTileType, acc[2], acc[1], acc[5],
                                       acc[4])
                  : FinalizeOp::create(b, qTileType, acc[2], acc[1], Value(),
                                       Value());

    Value valid = arith::MinSIOp::create(
        b, arith::SubIOp::create(b, lq, row0), indexConst(b, blockM));
    if (packed) {
      // Rows of a short sequence past its end: nothing to store.
      valid = arith::MaxSIOp::create(b, valid, indexConst(b, 0));
      auto rowMajor = tileType({blockM, 1, headDim}, elt);
      Value o3 = tensor::ExpandShapeOp::create(
          b, rowMajor, o, SmallVector<ReassociationIndices>{{0}, {1, 2}});
      SmallVector<OpFoldResult> one3(3, b.getIndexAttr(1));
      Value slice = tensor::ExtractSliceOp::create(
          b, o3, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
          SmallVector<OpFoldResult>{valid, b.getIndexAttr(1),
                                    b.getIndexAttr(headDim)},
          one3);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(
          b, slice, out,
          SmallVector<OpFoldResult>{qRow, h0, b.getIndexAttr(0)},
          SmallVector<OpFoldResult>{valid, b.getIndexAttr(1),
                                    b.getIndexAttr(headDim)},
          one3);
      return;
    }
    // Store the rows of this tile that exist: [heads, valid rows, D].
    auto perHead = tileType({heads, blockM, headDim}, elt);
    Value o3 = tensor::ExpandShapeOp::create(
        b, perHead, o, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    SmallVector<OpFoldResult> one3(3, b.getIndexAttr(1));
    Value slice = tensor::ExtractSliceOp::create(
        b, o3, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{b.getIndexAttr(heads), valid,
                                  b.getIndexAttr(headDim)},
        one3);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, slice, out,
        SmallVector<OpFoldResult>{bIdx, h0, row0, b.getIndexAttr(0)},
        SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(heads),
                                  valid, b.getIndexAttr(headDim)},
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  }

  AttentionParts a;
  TileConfig cfg;
  int64_t group = 1, heads = 1, blockM = 0, rows = 0, headDim = 0;
  bool pack = false, packed = false;
  Type elt;
};

std::optional<int64_t> window(IntegerAttr w) {
  return w ? std::optional<int64_t>(w.getInt()) : std::nullopt;
}

struct TileAttentionPass
    : public parallax::impl::ParallaxTileAttentionBase<TileAttentionPass> {
  using Base::Base;

  /// The op's operands as they are now: an earlier tiling may have replaced
  /// one (one attention's result feeding another).
  static AttentionParts partsOf(Operation *op) {
    if (auto at = dyn_cast<AttentionOp>(op))
      return {op, at.getQ(), at.getK(), at.getV(), at.getR(), Value(), at.getCausal(),
              window(at.getWindowAttr()), at.getEffectiveScale()};
    if (auto dec = dyn_cast<DecodeAttentionOp>(op)) {
      AttentionParts p{op, dec.getQ(), dec.getKCache(), dec.getVCache(),
                       dec.getR(), dec.getSeqLens(), dec.getCausal(),
                       window(dec.getWindowAttr()), dec.getEffectiveScale()};
      p.blockTable = dec.getBlockTable();
      return p;
    }
    auto vl = cast<VarlenAttentionOp>(op);
    AttentionParts p{op, vl.getQ(), vl.getK(), vl.getV(), vl.getR(),
                     Value(), vl.getCausal(), window(vl.getWindowAttr()),
                     vl.getEffectiveScale()};
    p.cuQ = vl.getCuSeqlensQ();
    p.cuK = vl.getCuSeqlensK();
    p.maxSeqlenQ = vl.getMaxSeqlenQ();
    return p;
  }

  void runOnOperation() override {
    SmallVector<Operation *> work;
    getOperation().walk([&](Operation *op) {
      if (isa<AttentionOp, DecodeAttentionOp, VarlenAttentionOp>(op))
        work.push_back(op);
    });
    TileConfig cfg{blockM, blockN, numWarps, packGqa, fitWarps};
    for (Operation *op : work) {
      AttentionParts a = partsOf(op);
      if (failed(Tiler(a, cfg).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
