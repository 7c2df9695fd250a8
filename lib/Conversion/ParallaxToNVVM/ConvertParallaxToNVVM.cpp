//===- ConvertParallaxToNVVM.cpp - fused tiled programs -> NVVM kernels ---===//
//
// One CTA runs one program of the fused tiled `scf.forall`. Tile values live
// in registers in the layout of the m16n8k16 accumulator (Acc), as packed
// A-operand registers (AOperand), as row statistics replicated across the
// four threads of a row (RowVec), or as K/V tiles in shared memory
// (SmemTile). Each warp owns 16 MMA rows; which tile rows those are is the
// layout (see Layout). Scalar index arithmetic of the program is cloned as is.
//
//===----------------------------------------------------------------------===//
#include "parallax/Conversion/Passes.h"
#include "parallax/Conversion/TargetInfo.h"
#include "parallax/Conversion/Trace.h"
#include "parallax/Dialect/Parallax/IR/ParallaxOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <functional>
#include <limits>
#include <variant>

namespace mlir::parallax {
#define GEN_PASS_DEF_CONVERTPARALLAXTONVVM
#define GEN_PASS_DEF_PARALLAXCHECKRESOURCES
#include "parallax/Conversion/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

//===----------------------------------------------------------------------===//
// Program analysis shared by the resource check and the lowering
//===----------------------------------------------------------------------===//

/// Which tile rows a warp's 16 MMA rows hold (see the register fragments).
enum class Layout { R16, R8, Stacked8 };

int halvesOf(Layout l) { return l == Layout::R8 ? 1 : 2; }

/// The shape facts of one fused tiled program.
struct ProgramInfo {
  scf::ForallOp forall;
  scf::ForOp loop;
  bool parallax = false; ///< Q and R stacked: 8 query rows per warp
  int64_t rows = 0;      ///< query-tile rows (all packed heads)
  int64_t headDim = 0, blockN = 0, warps = 0;
  int64_t kvGroups = 1; ///< warp groups that split the key tiles of a program
  bool splitKv = false; ///< CTAs split the key tiles too (num_splits at launch)
  /// K/V rows arrive by cp.async.bulk (the TMA engine, sm_90+) and complete
  /// on one mbarrier per stage, instead of 16-byte cp.async per thread.
  bool bulkCopy = false;
  Type elt;              ///< bf16 or f16
  SmallVector<TileLoadOp> loopLoads; ///< K/V tiles, in order
  /// f32 registers per thread of the loop-carried (m, d, O) tiles: what the
  /// groups' merge passes through shared memory.
  int64_t carriedRegs = 0;

  /// The layout of a tile with `rows` rows: Parallax keeps 8 query rows per
  /// warp (R8) and stacks [top; bottom] parts (Stacked8); softmax uses R16.
  Layout layoutForRows(int64_t rows) const {
    if (parallax)
      return rows == 8 * warps ? Layout::R8 : Layout::Stacked8;
    return Layout::R16;
  }

  int64_t eltBytes() const { return elt.getIntOrFloatBitWidth() / 8; }
  /// Staged K/V rows (stagedRowsSwizzled): swizzled, every 128-byte
  /// shared-memory wavefront of a copy is one whole 128-byte global segment;
  /// padded rows split 32-byte sectors across wavefronts, which made the L2
  /// serve 1.5x the sectors read (ncu, H200).
  bool swizzled() const { return stagedRowsSwizzled(headDim * eltBytes(), bulkCopy); }
  int64_t smemStride() const { return stagedRowStride(headDim * eltBytes(), bulkCopy); }
  int64_t tileBytes() const { return blockN * smemStride(); }
  /// Staging for the K/V tiles; the groups' partial (m, d, O) registers pass
  /// through the same memory after the loop.
  int64_t stagingBytes(int64_t stages) const {
    int64_t staging =
        kvGroups * stages * static_cast<int64_t>(loopLoads.size()) * tileBytes();
    int64_t merge = kvGroups > 1 ? kvGroups * carriedRegs * 32 * warps * 4 : 0;
    return llvm::alignTo(std::max(staging, merge), 8);
  }
  /// Then one mbarrier per group and stage (bulk copies), never overlapped.
  int64_t sharedBytes(int64_t stages) const {
    return stagingBytes(stages) + (bulkCopy ? kvGroups * stages * 8 : 0);
  }
  /// Registers per thread held across the loop and in one iteration.
  int64_t registerEstimate() const {
    int64_t aRegs = headDim / 16 * 4;  // Q (and R) A operand, packed
    int64_t sRegs = blockN / 8 * 4;    // S accumulators (f32)
    int64_t oRegs = headDim / 8 * 4;   // O (or [O1;O2]) accumulators
    return aRegs + sRegs + oRegs + 40; // row stats, addresses, temporaries
  }
};

FailureOr<ProgramInfo> analyze(func::FuncOp func) {
  ProgramInfo info;
  func.walk([&](scf::ForallOp f) { info.forall = f; });
  if (!info.forall)
    return func.emitError() << "no tiled program: run parallax-tile-attention "
                               "before the GPU lowering";
  int loops = 0;
  info.forall.getBody()->walk([&](scf::ForOp l) {
    info.loop = l;
    ++loops;
  });
  if (loops != 1)
    return info.forall.emitError()
           << "expected one K/V loop in the program, found " << loops;
  if (auto tiling = info.forall->getAttrOfType<DictionaryAttr>("parallax.tiling"))
    if (auto w = tiling.getAs<IntegerAttr>("num_warps"))
      info.warps = w.getInt();
  if (info.warps <= 0)
    return info.forall.emitError()
           << "missing parallax.tiling num_warps: the program must come from "
              "parallax-tile-attention";
  bool unfusedParallax = false;
  info.loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<TileLoadOp>(op))
      info.loopLoads.push_back(load);
    if (auto dot = dyn_cast<TileDotOp>(op); dot && dot.getTransposeB()) {
      auto a = dot.getA().getType();
      info.headDim = a.getDimSize(1);
      info.blockN = dot.getType().getDimSize(1);
      info.elt = a.getElementType();
      info.parallax = static_cast<bool>(dot.getA().getDefiningOp<TileStackOp>());
      info.rows = info.parallax ? a.getDimSize(0) / 2 : a.getDimSize(0);
    }
  });
  int64_t dots = 0;
  info.loop.getBody()->walk([&](TileDotOp) { ++dots; });
  int64_t steps = 0;
  info.loop.getBody()->walk([&](SoftmaxStepOp) { ++steps; });
  unfusedParallax = dots > 2 || steps > 1 || info.loopLoads.size() > 2;
  if (unfusedParallax)
    return info.loop.emitError()
           << "the GPU lowering needs the fused form (one [Q;R]K^T product, one "
              "softmax step, one [P1;P2]V product): run parallax-fuse first "
              "(found "
           << dots << " products, " << steps << " softmax steps, "
           << info.loopLoads.size() << " K/V loads per iteration)";
  if (!info.elt || !(info.elt.isBF16() || info.elt.isF16()))
    return info.loop.emitError()
           << "the GPU lowering supports bf16 and f16 operands, got "
           << info.elt;
  for (Value init : info.loop.getInitArgs()) {
    auto type = cast<RankedTensorType>(init.getType());
    int64_t halves = halvesOf(info.layoutForRows(type.getDimSize(0)));
    info.carriedRegs +=
        type.getRank() == 1 ? halves : halves * type.getDimSize(1) / 8 * 2;
  }
  return info;
}

LogicalResult checkShapeRules(const ProgramInfo &p, Operation *at) {
  int64_t perWarp = p.parallax ? 8 : 16;
  if (p.rows != perWarp * p.warps)
    return at->emitError() << "query tile of " << p.rows << " rows does not "
                              "match "
                           << p.warps << " warps x " << perWarp
                           << " rows per warp ("
                           << (p.parallax ? "Parallax: 8 query rows + 8 probe rows"
                                          : "softmax: 16 query rows")
                           << "); choose block-m x packed heads = "
                           << perWarp * p.warps;
  if (p.headDim % 16 || p.headDim > 256)
    return at->emitError() << "head dim " << p.headDim
                           << " is not supported on the GPU: it must be a "
                              "multiple of 16 up to 256";
  if (p.blockN % 16)
    return at->emitError() << "block-n " << p.blockN
                           << " must be a multiple of 16 on the GPU";
  return success();
}

LogicalResult checkResources(const ProgramInfo &p, const TargetInfo &t,
                             int64_t stages, Operation *at) {
  int64_t smem = p.sharedBytes(stages);
  if (smem > t.maxSharedBytes)
    return at->emitError()
           << "needs " << smem << " bytes of shared memory (" << stages
           << " stages x " << p.loopLoads.size() << " tiles of " << p.blockN
           << " x " << p.headDim << " x " << p.eltBytes() << " bytes"
           << (p.swizzled() ? ", swizzled" : ", rows padded by 16 bytes")
           << ") but " << t.chip << " allows "
           << t.maxSharedBytes << " per block; lower block-n or num-stages";
  int64_t regs = p.registerEstimate();
  if (regs > t.maxRegistersPerThread)
    return at->emitError()
           << "needs about " << regs << " registers per thread (head dim "
           << p.headDim << ", block-n " << p.blockN << ") but " << t.chip
           << " has " << t.maxRegistersPerThread << "; lower block-n";
  return success();
}

//===----------------------------------------------------------------------===//
// Register fragments
//===----------------------------------------------------------------------===//

/// Which tile rows a warp's 16 MMA rows hold. g = lane / 4.
///   R16:      rows 16w + 8h + g            (softmax)
///   R8:       rows 8w + g, one half         (Parallax S1, P1, O1, ...)
///   Stacked8: half h is row 8w + g of part h of a [top; bottom] stack
struct Acc {
  Layout layout;
  int64_t cols;
  Type elt; ///< f32, or the 16-bit type a truncf asked for (rounded on use)
  SmallVector<Value> v; ///< [half][cols / 8][2]
  /// After the warp groups' merge each group holds a column slice: its
  /// columns are colOffset + [0, cols) of the tile (null = 0).
  Value colOffset = {};
  Value &at(int h, int64_t j, int e) { return v[(h * (cols / 8) + j) * 2 + e]; }
};
struct RowVec {
  Layout layout;
  SmallVector<Value> v; ///< one per half
};
struct AOperand {
  Layout layout;
  int64_t k;
  SmallVector<Value> regs; ///< [half][k / 16][lo, hi] packed pairs (i32)
  Value at(int h, int64_t t, int hi) const {
    return regs[(h * (k / 16) + t) * 2 + hi];
  }
};
struct SmemTile {
  Value base; ///< !llvm.ptr<3>
};
struct Splat {
  double value;
};
struct StoreView {
  Acc tile;
  Value validRows; ///< index
  int64_t rowsPerHead;
  bool packed = false; ///< [rows, 1, D] into a packed [T, H, D] output
};
using Frag = std::variant<Acc, RowVec, AOperand, SmemTile, Splat, StoreView>;

/// Where a loop-carried tile sits in the flattened f32 registers.
struct Carried {
  bool isRow;
  Layout layout;
  int64_t cols;
  size_t first, count;
};

/// What one thread holds after the warp groups' merge. Row statistics
/// (m, d) stay whole in every group; each accumulator tile is cut by
/// 8-column blocks, group g keeping blocks [g * n / G, (g + 1) * n / G), so
/// the groups share the merge, the workspace traffic and the stores.
struct RegSlice {
  SmallVector<Carried> carried; ///< the sliced tiles, as loop-carried values
  /// Per sliced register: its index among the full registers, for group 0;
  /// sliced (accumulator) registers of group g sit groupStride further.
  SmallVector<int64_t> fullIndex;
  SmallVector<bool> byGroup;
  int64_t groupStride = 0; ///< 0: not sliced (every group holds all)
};

/// Which loop-carried value is the running max (the softmax step's new max).
static int64_t maxCarriedIndex(scf::YieldOp yield) {
  for (auto [k, v] : llvm::enumerate(yield.getOperands()))
    if (auto st = v.getDefiningOp<SoftmaxStepOp>(); st && st.getNewMax() == v)
      return k;
  return -1;
}

class KernelBuilder {
public:
  KernelBuilder(func::FuncOp func, ProgramInfo info, const TargetInfo &target,
                int64_t stages, int64_t minCtasPerSm, bool trace)
      : func(func), p(std::move(info)), target(target), stages(stages),
        minCtasPerSm(minCtasPerSm), trace(trace),
        b(func.getContext()), loc(func.getLoc()) {}

  FailureOr<LLVM::LLVMFuncOp> build();

private:
  // Types and constants.
  Type i32() { return b.getI32Type(); }
  Type i64() { return b.getI64Type(); }
  Type f32() { return b.getF32Type(); }
  Value c64(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  Value c32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value cf(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value toI64(Value v) {
    if (v.getType().isInteger(64))
      return v;
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, i64(), v);
    return arith::ExtSIOp::create(b, loc, i64(), v);
  }
  // Folded as built: the unrolled copies and fragments compute thousands of
  // constant offsets, and leaving them to the canonicalizer triples the IR.
  Value add(Value x, Value y) { return b.createOrFold<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.createOrFold<arith::MulIOp>(loc, x, y); }
  Value addc(Value x, int64_t y) { return y ? add(x, c64(y)) : x; }
  Value mulc(Value x, int64_t y) { return y == 1 ? x : mul(x, c64(y)); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value sel(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value gep(Value ptr, Value byteOffset) {
    return LLVM::GEPOp::create(b, loc, ptr.getType(), b.getI8Type(), ptr,
                               ValueRange{byteOffset});
  }
  Value exp2(Value x) { return LLVM::Exp2Op::create(b, loc, x); }
  Value fmax(Value x, Value y) { return arith::MaxNumFOp::create(b, loc, x, y); }
  Value shflXor(Value x, int offset) {
    return NVVM::ShflOp::create(b, loc, f32(), c32(-1), x, c32(offset),
                                c32(0x1f), NVVM::ShflKind::bfly, UnitAttr());
  }
  Value quadSum(Value x) {
    Value s = arith::AddFOp::create(b, loc, x, shflXor(x, 1));
    return arith::AddFOp::create(b, loc, s, shflXor(s, 2));
  }
  /// Two f32 -> one packed register of the operand type (round to nearest).
  Value pack(Value lo, Value hi) {
    auto vt = VectorType::get({2}, p.elt);
    Value v = LLVM::PoisonOp::create(b, loc, vt);
    v = LLVM::InsertElementOp::create(
        b, loc, v, arith::TruncFOp::create(b, loc, p.elt, lo), c32(0));
    v = LLVM::InsertElementOp::create(
        b, loc, v, arith::TruncFOp::create(b, loc, p.elt, hi), c32(1));
    return LLVM::BitcastOp::create(b, loc, i32(), v);
  }
  /// Only warp group 0 stores (after a merge every group holds the result).
  Value storeGuard(Value cond) {
    // Column-sliced results: every group stores its own columns.
    if (p.kvGroups > 1 && !sliceColumn)
      cond = arith::AndIOp::create(
          b, loc, cond,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, group, c64(0)));
    if (isLastSplit)
      cond = arith::AndIOp::create(b, loc, cond, isLastSplit);
    return cond;
  }
  Value asOperand(Value packed) {
    if (p.elt.isBF16())
      return packed; // NVVM takes bf16 pairs as i32
    return LLVM::BitcastOp::create(b, loc, VectorType::get({2}, p.elt), packed);
  }

  Layout layoutForRows(int64_t rows, Operation *at);
  Value tileRow(Layout l, int h);
  Acc splatAcc(Layout l, int64_t cols, double value);
  RowVec splatRow(Layout l, double value);

  /// Dimension `d` of tensor argument `t` as i64 (static or a parameter).
  Value dimOf(Value t, int64_t d) {
    auto type = cast<RankedTensorType>(t.getType());
    if (!type.isDynamicDim(d))
      return c64(type.getDimSize(d));
    return dynDims.at({t, d});
  }
  /// Scalars of the program (index math, dims, sequence lengths).
  Value scalar(Value v);
  Value scalarWith(Value v, Value oldIv, Value newIv);

  /// Binds each loop-carried tile to its registers within `flat`; the
  /// accumulators hold columns colOffset + [0, cols) (null: from 0).
  void bindCarried(ValueRange tiles, ArrayRef<Carried> carried, ValueRange flat,
                   Value colOffset = {});
  /// The registers each group holds after the groups' merge (all of them
  /// unless the accumulators' 8-column blocks divide among the groups).
  RegSlice sliceForGroups(ArrayRef<Carried> carried);
  /// Merges the groups' partial (m, d, O) through shared memory; returns this
  /// group's slice and sets sliceColumn.
  SmallVector<Value> mergeGroups(ArrayRef<Value> part, const RegSlice &slice,
                                 int64_t maxIdx);
  SmallVector<Value> mergePartials(ArrayRef<SmallVector<Value>> all,
                                   ArrayRef<Carried> carried, int64_t maxIdx);
  /// Profiling (trace-phases): thread 0 stores %clock64 into slot
  /// kTraceClock0 + point of this CTA's record in parallax_trace.
  void tracePoint(TracePoint point);
  void traceStore(int64_t slot, Value v);
  LogicalResult mergeSplits(SmallVector<Value> &merged, const RegSlice &slice,
                            int64_t fullRegs, scf::YieldOp yield);
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerLoop(scf::ForOp loop);
  LogicalResult lowerStore(tensor::ParallelInsertSliceOp op);

  void loadAOperand(TileLoadOp op);
  void copyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst);
  Value bulkCopyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst,
                           Value bar);
  /// Global element offset of `row`, d = 0, of a K/V tile load's source:
  /// head-major [B, H, L, D] or packed token-major [T, H, D]; and the row
  /// stride in elements.
  std::pair<Value, int64_t> rowAddressing(TileLoadOp op, Value oldIv, Value iv);
  /// A scalar of a tile load, in the iteration of `iv` (oldIv: the loop's
  /// original induction variable, or null outside the loop).
  Value tileScalar(Value v, Value oldIv, Value iv) {
    return toI64(oldIv ? scalarWith(v, oldIv, iv) : scalar(v));
  }
  /// Rows at or past this are outside the sequence.
  Value tileLimit(TileLoadOp op, Value oldIv, Value iv) {
    if (op.getLimit())
      return tileScalar(op.getLimit(), oldIv, iv);
    bool packed = cast<RankedTensorType>(op.getSource().getType()).getRank() == 3;
    return dimOf(op.getSource(), packed ? 0 : 2);
  }
  Acc dotQK(const AOperand &a, Value kBase);
  Acc dotPV(const Acc &pTile, Value vBase, Acc acc);
  std::array<Value, 4> mma(std::array<Value, 4> a, std::array<Value, 2> bReg,
                           std::array<Value, 4> c);
  std::array<Value, 4> ldmatrix4(Value ptr, bool trans);
  /// Lane l of an ldmatrix.x4 addresses row l % 8 of matrix l / 8; matrices
  /// 0,1 and 2,3 are two k halves of two n blocks: (row, n pair, k half).
  /// Byte offset of 16-byte chunk (laneChunk + chunkConst) of staged row
  /// (laneRow + rowConst), with the swizzle. rowConst % 8 == 0, and laneChunk
  /// and chunkConst share no bits, so the constants stay foldable offsets.
  Value stagedOffset(Value laneRow, int64_t rowConst, Value laneChunk,
                     int64_t chunkConst) {
    assert(rowConst % 8 == 0 && "row constant must keep row % 8");
    Value chunk = laneChunk;
    int64_t constBytes = rowConst * p.smemStride() + chunkConst * 16;
    if (p.swizzled()) {
      if (chunkConst & 7)
        chunk = arith::XOrIOp::create(b, loc, chunk, c64(chunkConst & 7));
      chunk = arith::XOrIOp::create(
          b, loc, chunk, arith::AndIOp::create(b, loc, laneRow, c64(7)));
      constBytes -= (chunkConst & 7) * 16;
    }
    return addc(add(mulc(laneRow, p.smemStride()), mulc(chunk, 16)), constBytes);
  }
  std::tuple<Value, Value, Value> ldmatrixLanes() {
    Value m = arith::DivSIOp::create(b, loc, lane, c64(8));
    return {arith::RemSIOp::create(b, loc, lane, c64(8)),
            arith::DivSIOp::create(b, loc, m, c64(2)),
            arith::RemSIOp::create(b, loc, m, c64(2))};
  }
  /// acc block j (both halves) += A (4 registers) x B (2 registers).
  void mmaInto(Acc &acc, int64_t j, std::array<Value, 4> a,
               std::array<Value, 2> bReg) {
    auto out = mma(a, bReg, {acc.at(0, j, 0), acc.at(0, j, 1), acc.at(1, j, 0),
                             acc.at(1, j, 1)});
    acc.at(0, j, 0) = out[0];
    acc.at(0, j, 1) = out[1];
    acc.at(1, j, 0) = out[2];
    acc.at(1, j, 1) = out[3];
  }

  /// The fragment of `v`; splat constants (often hoisted out of the
  /// program by canonicalization) are taken on first use.
  Frag &fragOf(Value v) {
    auto it = frags.find(v);
    if (it != frags.end())
      return it->second;
    DenseElementsAttr dense;
    if (matchPattern(v, m_Constant(&dense)) && dense.isSplat())
      return frags[v] = Splat{dense.getSplatValue<APFloat>().convertToDouble()};
    llvm::report_fatal_error("GPU lowering: tile value has no fragment");
  }
  template <typename T> T &get(Value v) { return std::get<T>(fragOf(v)); }
  Acc materializeAcc(Value v, Layout l, int64_t cols);
  RowVec materializeRow(Value v, Layout l);

  func::FuncOp func;
  ProgramInfo p;
  const TargetInfo &target;
  int64_t stages;
  int64_t minCtasPerSm; ///< occupancy request to ptxas (0 = none)
  bool trace;           ///< record phase timestamps (see tracePoint)
  Value traceRecord, traceOn;
  OpBuilder b;
  Location loc;

  LLVM::LLVMFuncOp kernel;
  DenseMap<Value, Value> argPtr;                       // func arg -> ptr<1>
  DenseMap<std::pair<Value, int64_t>, Value> dynDims;  // (arg, dim) -> i64
  Value outPtr, smem, lane, warp, g, c;
  Value group; ///< which warp group (key split) this thread belongs to
  // Split-KV across CTAs: the workspace and counters parameters, the split
  // count (a launch parameter), this CTA's split and query tile, and whether
  // this CTA is the program's last to finish (the one that stores).
  Value workspace, counters, numSplits, split, qTile, isLastSplit;
  /// First column of this group's accumulator slice (null: not sliced).
  Value sliceColumn;
  IRMapping scalars;
  DenseMap<Value, Frag> frags;
  DenseMap<Operation *, unsigned> loadSlot;
  Operation *entryMarker = nullptr, *loopMarker = nullptr;
};

Layout KernelBuilder::layoutForRows(int64_t rows, Operation *) {
  return p.layoutForRows(rows);
}

Value KernelBuilder::tileRow(Layout l, int h) {
  switch (l) {
  case Layout::R16:
    return add(mulc(warp, 16), addc(g, 8 * h));
  case Layout::R8:
    return add(mulc(warp, 8), g);
  case Layout::Stacked8:
    return add(mulc(warp, 8), g); // row within part h
  }
  llvm_unreachable("layout");
}

Acc KernelBuilder::splatAcc(Layout l, int64_t cols, double value) {
  Acc a{l, cols, f32(), {}};
  Value s = cf(value);
  a.v.assign(halvesOf(l) * (cols / 8) * 2, s);
  return a;
}

RowVec KernelBuilder::splatRow(Layout l, double value) {
  RowVec r{l, {}};
  r.v.assign(halvesOf(l), cf(value));
  return r;
}

Acc KernelBuilder::materializeAcc(Value v, Layout l, int64_t cols) {
  Frag &f = fragOf(v);
  if (auto *s = std::get_if<Splat>(&f))
    return splatAcc(l, cols, s->value);
  return std::get<Acc>(f);
}

RowVec KernelBuilder::materializeRow(Value v, Layout l) {
  Frag &f = fragOf(v);
  if (auto *s = std::get_if<Splat>(&f))
    return splatRow(l, s->value);
  return std::get<RowVec>(f);
}

Value KernelBuilder::scalar(Value v) {
  if (Value m = scalars.lookupOrNull(v))
    return m;
  Operation *def = v.getDefiningOp();
  // Clone where every later use is dominated: program-level scalars at the
  // kernel entry, loop-body scalars at the top of the new loop's body.
  OpBuilder::InsertionGuard guard(b);
  if (def && p.loop->isAncestor(def)) {
    if (loopMarker)
      b.setInsertionPoint(loopMarker);
  } else if (entryMarker) {
    b.setInsertionPoint(entryMarker);
  }
  if (!def)
    llvm::report_fatal_error("GPU lowering: unmapped block argument of " +
                             llvm::Twine(cast<BlockArgument>(v).getOwner()->getParentOp()->getName().getStringRef()) + " #" + llvm::Twine(cast<BlockArgument>(v).getArgNumber()) + " mapped=" + llvm::Twine(scalars.getValueMap().size()));
  if (auto dim = dyn_cast<tensor::DimOp>(def)) {
    auto type = cast<RankedTensorType>(dim.getSource().getType());
    int64_t idx = *dim.getConstantIndex();
    Value r;
    if (!type.isDynamicDim(idx))
      r = arith::ConstantIndexOp::create(b, loc, type.getDimSize(idx));
    else
      r = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                     dimOf(dim.getSource(), idx));
    scalars.map(v, r);
    return r;
  }
  if (auto ex = dyn_cast<tensor::ExtractOp>(def)) {
    // seq_lens[b], cu_seqlens[i], block_table[b, page]: a 32-bit load at the
    // row-major linear index.
    Value idx = c64(0);
    for (auto [d, i] : llvm::enumerate(ex.getIndices()))
      idx = add(mul(idx, d ? dimOf(ex.getTensor(), d) : c64(1)), toI64(scalar(i)));
    Value ptr = gep(argPtr.at(ex.getTensor()), mulc(idx, 4));
    Value r = LLVM::LoadOp::create(b, loc, i32(), ptr);
    scalars.map(v, r);
    return r;
  }
  for (Value operand : def->getOperands())
    scalar(operand);
  Operation *clone = b.clone(*def, scalars);
  return clone->getResult(cast<OpResult>(v).getResultNumber());
}

Value KernelBuilder::scalarWith(Value v, Value oldIv, Value newIv) {
  IRMapping saved = scalars;
  scalars.map(oldIv, newIv);
  // Forget clones that depend on the induction variable.
  std::function<void(Value)> drop = [&](Value x) {
    Operation *d = x.getDefiningOp();
    if (!d || !d->getParentOfType<scf::ForOp>())
      return;
    scalars.erase(x);
    for (Value o : d->getOperands())
      drop(o);
  };
  drop(v);
  // The clones for another iteration belong here, not at the loop top.
  Operation *savedMarker = loopMarker;
  loopMarker = nullptr;
  Value r = scalar(v);
  loopMarker = savedMarker;
  scalars = saved;
  return r;
}

void KernelBuilder::loadAOperand(TileLoadOp op) {
  auto type = op.getType();
  int64_t rows = type.getDimSize(0), d = type.getDimSize(1);
  Layout l = layoutForRows(rows, op);
  AOperand a{l == Layout::Stacked8 ? Layout::R16 : l, d, {}};
  auto srcType = cast<RankedTensorType>(op.getSource().getType());
  Value bIdx = toI64(scalar(op.getBatch()));
  Value head0 = toI64(scalar(op.getHead()));
  Value row0 = toI64(scalar(op.getRow()));
  bool packed = srcType.getRank() == 3;
  Value srcLen = dimOf(op.getSource(), packed ? 0 : 2);
  Value len = op.getLimit() ? toI64(scalar(op.getLimit())) : srcLen;
  int64_t rowsPerHead = op.getRows();
  Value base = argPtr.at(op.getSource());
  int64_t eb = p.eltBytes();
  for (int h = 0; h < halvesOf(a.layout); ++h) {
    Value r = tileRow(a.layout, h);
    Value gHead = arith::DivSIOp::create(b, loc, r, c64(rowsPerHead));
    Value i = arith::RemSIOp::create(b, loc, r, c64(rowsPerHead));
    Value row = add(row0, i);
    Value valid = lt(row, len);
    Value safeRow = sel(valid, row, c64(0));
    Value head = add(head0, gHead);
    // [B, H, L, D]: ((b*H + h)*L + row)*D;  packed [T, H, D]: (row*H + h)*D.
    Value rowBase =
        packed ? mulc(add(mulc(safeRow, srcType.getDimSize(1)), head), d)
               : mulc(add(mul(add(mulc(bIdx, srcType.getDimSize(1)), head),
                              srcLen),
                          safeRow),
                      d);
    for (int64_t t = 0; t < d / 16; ++t)
      for (int hi = 0; hi < 2; ++hi) {
        Value col = addc(mulc(c, 2), 16 * t + 8 * hi);
        Value ptr = gep(base, mulc(add(rowBase, col), eb));
        Value x = LLVM::LoadOp::create(b, loc, i32(), ptr, /*alignment=*/4);
        a.regs.push_back(sel(valid, x, c32(0)));
      }
  }
  frags[op.getResult()] = a;
}

std::pair<Value, int64_t>
KernelBuilder::rowAddressing(TileLoadOp op, Value oldIv, Value iv) {
  auto srcType = cast<RankedTensorType>(op.getSource().getType());
  int64_t d = p.headDim, heads = srcType.getDimSize(1);
  Value bIdx = tileScalar(op.getBatch(), oldIv, iv);
  Value head = tileScalar(op.getHead(), oldIv, iv);
  if (srcType.getRank() == 3)
    return {mulc(head, d), heads * d};
  Value srcLen = dimOf(op.getSource(), 2);
  return {mulc(mul(add(mulc(bIdx, heads), head), srcLen), d), d};
}

Value KernelBuilder::bulkCopyTileToSmem(TileLoadOp op, Value oldIv, Value iv,
                                        Value dst, Value bar) {
  int64_t rows = op.getRows(), rowBytes = p.headDim * p.eltBytes();
  auto [seqBase, rowStride] = rowAddressing(op, oldIv, iv);
  Value row0 = tileScalar(op.getRow(), oldIv, iv);
  Value limit = tileLimit(op, oldIv, iv);
  Value src = argPtr.at(op.getSource());
  auto ptrCluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  int64_t threads = 32 * p.warps;
  Value tid = add(mulc(warp, 32), lane);
  // One bulk copy per row (rows are padded in shared memory, so a tile is
  // not one contiguous block there); a thread takes rows tid, tid + threads.
  for (int64_t r0 = 0; r0 < rows; r0 += threads) {
    Value r = addc(tid, r0);
    Value row = add(row0, r);
    Value inTile = lt(r, c64(rows));
    Value valid = arith::AndIOp::create(b, loc, inTile, lt(row, limit));
    Value rowDst = gep(dst, mulc(r, p.smemStride()));
    auto ifOp = scf::IfOp::create(b, loc, valid, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value srcOff = mulc(add(seqBase, mulc(row, rowStride)), p.eltBytes());
      NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(
          b, loc, LLVM::AddrSpaceCastOp::create(b, loc, ptrCluster, rowDst),
          gep(src, srcOff), bar, c32(rowBytes), Value(), Value());
      // Rows past the sequence get zeros, as cp.async's zero-fill gives:
      // masked keys must meet finite values in P V (0 * NaN is NaN).
      b.setInsertionPointToStart(ifOp.elseBlock());
      auto inner = scf::IfOp::create(b, loc, inTile, false);
      b.setInsertionPointToStart(inner.thenBlock());
      auto v4 = VectorType::get({4}, i32());
      Value zero = LLVM::ZeroOp::create(b, loc, v4);
      for (int64_t off = 0; off < rowBytes; off += 16)
        LLVM::StoreOp::create(b, loc, zero, gep(rowDst, c64(off)), 16);
      // Order these generic writes before a later bulk copy into the row.
      NVVM::FenceProxyOp::create(
          b, loc, NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
    }
  }
  // The bytes this tile delivers: its rows below the limit.
  Value valid = arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, limit, row0), c64(0)),
      c64(rows));
  return mulc(valid, rowBytes);
}

void KernelBuilder::copyTileToSmem(TileLoadOp op, Value oldIv, Value iv,
                                   Value dst) {
  int64_t rows = op.getRows(), d = p.headDim, eb = p.eltBytes();
  auto [seqBase, rowStride] = rowAddressing(op, oldIv, iv);
  Value row0 = tileScalar(op.getRow(), oldIv, iv);
  Value limit = tileLimit(op, oldIv, iv);
  int64_t chunksPerRow = d * eb / 16, total = rows * chunksPerRow;
  int64_t threads = 32 * p.warps; // the copying warp group
  Value tid = add(mulc(warp, 32), lane);
  Value src = argPtr.at(op.getSource());
  int64_t iters = llvm::divideCeil(total, threads);
  auto copy16 = [&](Value to, Value from, Value valid) {
    // Zero-fill past the sequence: masked keys must meet finite values in P V.
    NVVM::CpAsyncOp::create(b, loc, to, from, b.getI32IntegerAttr(16),
                            NVVM::LoadCacheModifierKindAttr::get(
                                b.getContext(), NVVM::LoadCacheModifierKind::CG),
                            sel(valid, c32(16), c32(0)));
  };
  if (threads % chunksPerRow == 0 && total % threads == 0) {
    // Each pass covers whole rows and a thread keeps its 16-byte column, so
    // every copy is a constant offset from two per-thread pointers and only
    // the row test varies (a few instructions per 16 bytes).
    int64_t rowsPerPass = threads / chunksPerRow;
    Value r0 = arith::DivSIOp::create(b, loc, tid, c64(chunksPerRow));
    Value ch = arith::RemSIOp::create(b, loc, tid, c64(chunksPerRow));
    Value colOff = mulc(ch, 16 / eb);
    Value left = arith::SubIOp::create(
        b, loc, arith::SubIOp::create(b, loc, limit, row0), r0);
    Value srcBase =
        gep(src, mulc(add(add(seqBase, mulc(add(row0, r0), rowStride)), colOff), eb));
    Value safeSrc = gep(src, mulc(add(seqBase, colOff), eb)); // row 0: in bounds
    // One destination pointer per row % 8 (the swizzle), constant offsets on it.
    llvm::SmallDenseMap<int64_t, Value> dstBase;
    for (int64_t it = 0; it < iters; ++it) {
      int64_t r = it * rowsPerPass, k = p.swizzled() ? r % 8 : 0;
      Value &base = dstBase[k];
      if (!base)
        base = gep(dst, stagedOffset(addc(r0, k), 0, ch, 0));
      Value valid = lt(c64(r), left);
      Value from = sel(valid, gep(srcBase, c64(r * rowStride * eb)), safeSrc);
      copy16(gep(base, c64((r - k) * p.smemStride())), from, valid);
    }
    return;
  }
  // Many chunks per thread (one warp copying a tile): a rolled loop keeps the
  // address registers of one chunk live instead of all of them.
  bool rolled = iters > 2 && total % threads == 0;
  scf::ForOp copyLoop;
  if (rolled) {
    copyLoop = scf::ForOp::create(b, loc, c64(0), c64(iters), c64(1));
    b.setInsertionPointToStart(copyLoop.getBody());
  }
  for (int64_t it = 0; it < (rolled ? 1 : iters); ++it) {
    Value idx = rolled ? add(tid, mulc(copyLoop.getInductionVar(), threads))
                       : addc(tid, it * threads);
    auto body = [&]() {
      Value r = arith::DivSIOp::create(b, loc, idx, c64(chunksPerRow));
      Value ch = arith::RemSIOp::create(b, loc, idx, c64(chunksPerRow));
      Value row = add(row0, r);
      Value valid = lt(row, limit);
      Value safeRow = sel(valid, row, c64(0));
      Value srcOff =
          mulc(add(add(seqBase, mulc(safeRow, rowStride)), mulc(ch, 16 / eb)), eb);
      Value dstOff = stagedOffset(r, 0, ch, 0);
      copy16(gep(dst, dstOff), gep(src, srcOff), valid);
    };
    if (rolled || (it + 1) * threads <= total) {
      body();
    } else {
      auto ifOp = scf::IfOp::create(b, loc, lt(idx, c64(total)), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      body();
    }
  }
  if (rolled)
    b.setInsertionPointAfter(copyLoop);
}

std::array<Value, 4> KernelBuilder::ldmatrix4(Value ptr, bool trans) {
  auto structTy = LLVM::LLVMStructType::getLiteral(
      b.getContext(), {i32(), i32(), i32(), i32()});
  Value r = NVVM::LdMatrixOp::create(
      b, loc, structTy, ptr, b.getI32IntegerAttr(4),
      NVVM::MMALayoutAttr::get(b.getContext(),
                               trans ? NVVM::MMALayout::col : NVVM::MMALayout::row),
      NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
      NVVM::LdStMatrixEltTypeAttr::get(b.getContext(), NVVM::LdStMatrixEltType::B16));
  std::array<Value, 4> out;
  for (int i = 0; i < 4; ++i)
    out[i] = LLVM::ExtractValueOp::create(b, loc, r, i);
  return out;
}

std::array<Value, 4> KernelBuilder::mma(std::array<Value, 4> a,
                                        std::array<Value, 2> bReg,
                                        std::array<Value, 4> cAcc) {
  auto structTy = LLVM::LLVMStructType::getLiteral(
      b.getContext(), {f32(), f32(), f32(), f32()});
  NVVM::MMATypes t = p.elt.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  SmallVector<Value> aOps, bOps;
  for (Value x : a)
    aOps.push_back(asOperand(x));
  for (Value x : bReg)
    bOps.push_back(asOperand(x));
  Value r = NVVM::MmaOp::create(
      b, loc, structTy, aOps, bOps, ValueRange{cAcc[0], cAcc[1], cAcc[2], cAcc[3]},
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{t, t},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  std::array<Value, 4> out;
  for (int i = 0; i < 4; ++i)
    out[i] = LLVM::ExtractValueOp::create(b, loc, r, i);
  return out;
}

/// S = A K^T. A has two halves (R16 or Stacked8); K is [blockN, D] in smem.
Acc KernelBuilder::dotQK(const AOperand &a, Value kBase) {
  Layout outLayout = p.parallax ? Layout::Stacked8 : Layout::R16;
  Acc s = splatAcc(outLayout, p.blockN, 0.0);
  auto [r, mHalf, mOdd] = ldmatrixLanes();
  for (int64_t jp = 0; jp < p.blockN / 16; ++jp) {
    Value laneRow = add(mulc(mHalf, 8), r);
    for (int64_t t = 0; t < p.headDim / 16; ++t) {
      // Row 16 jp + 8 mHalf + r, 16-byte chunk 2 t + mOdd (8 elements each).
      Value ptr = gep(kBase, stagedOffset(laneRow, 16 * jp, mOdd, 2 * t));
      auto kb = ldmatrix4(ptr, /*trans=*/false);
      std::array<Value, 4> av = {a.at(0, t, 0), a.at(1, t, 0), a.at(0, t, 1),
                                 a.at(1, t, 1)};
      for (int q = 0; q < 2; ++q) {
        int64_t j = 2 * jp + q;
        mmaInto(s, j, av, {kb[2 * q], kb[2 * q + 1]});
      }
    }
  }
  return s;
}

/// O = acc + P V. P is an accumulator tile with two halves; V is [blockN, D].
Acc KernelBuilder::dotPV(const Acc &pt, Value vBase, Acc o) {
  auto [r, mHalf, mOdd] = ldmatrixLanes();
  Acc pc = pt;
  auto pv = [&](int h, int64_t j) { return pack(pc.at(h, j, 0), pc.at(h, j, 1)); };
  for (int64_t t = 0; t < p.blockN / 16; ++t) {
    std::array<Value, 4> av = {pv(0, 2 * t), pv(1, 2 * t), pv(0, 2 * t + 1),
                               pv(1, 2 * t + 1)};
    Value laneRow = add(mulc(mOdd, 8), r);
    for (int64_t jp = 0; jp < p.headDim / 16; ++jp) {
      // Row 16 t + 8 mOdd + r, 16-byte chunk 2 jp + mHalf.
      Value ptr = gep(vBase, stagedOffset(laneRow, 16 * t, mHalf, 2 * jp));
      auto vb = ldmatrix4(ptr, /*trans=*/true);
      for (int q = 0; q < 2; ++q) {
        int64_t j = 2 * jp + q;
        mmaInto(o, j, av, {vb[2 * q], vb[2 * q + 1]});
      }
    }
  }
  return o;
}

LogicalResult KernelBuilder::lowerOp(Operation *op) {
  auto shapeOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<arith::ConstantOp>([&](arith::ConstantOp c) {
        if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
          if (!dense.isSplat())
            return failure();
          frags[c.getResult()] = Splat{
              dense.getSplatValue<APFloat>().convertToDouble()};
          return success();
        }
        return success(); // scalar constants are cloned on demand
      })
      .Case<tensor::EmptyOp>([&](auto) { return success(); })
      .Case<TileLoadOp>([&](TileLoadOp l) {
        if (auto it = loadSlot.find(l); it != loadSlot.end())
          return success(); // K/V: bound by the loop
        loadAOperand(l);
        return success();
      })
      .Case<TileStackOp>([&](TileStackOp s) {
        Value top = s.getTop(), bottom = s.getBottom();
        auto type = shapeOf(s.getResult());
        if (type.getRank() == 1) {
          RowVec t = materializeRow(top, Layout::R8),
                 u = materializeRow(bottom, Layout::R8);
          frags[s.getResult()] = RowVec{Layout::Stacked8, {t.v[0], u.v[0]}};
          return success();
        }
        if (auto *aTop = std::get_if<AOperand>(&fragOf(top))) {
          AOperand bot = get<AOperand>(bottom);
          AOperand st{Layout::Stacked8, aTop->k, {}};
          st.regs.append(aTop->regs);
          st.regs.append(bot.regs);
          frags[s.getResult()] = st;
          return success();
        }
        int64_t cols = type.getDimSize(1);
        Acc t = materializeAcc(top, Layout::R8, cols),
            u = materializeAcc(bottom, Layout::R8, cols);
        Acc st{Layout::Stacked8, cols, t.elt, {}};
        st.v.append(t.v);
        st.v.append(u.v);
        frags[s.getResult()] = st;
        return success();
      })
      .Case<TileUnstackOp>([&](TileUnstackOp u) {
        Acc x = get<Acc>(u.getInput());
        int64_t n = x.v.size() / 2;
        Acc top{Layout::R8, x.cols, x.elt, {x.v.begin(), x.v.begin() + n}, x.colOffset};
        Acc bottom{Layout::R8, x.cols, x.elt, {x.v.begin() + n, x.v.end()}, x.colOffset};
        frags[u.getTop()] = top;
        frags[u.getBottom()] = bottom;
        return success();
      })
      .Case<TileDotOp>([&](TileDotOp d) {
        if (d.getTransposeB()) {
          frags[d.getResult()] =
              dotQK(get<AOperand>(d.getA()), get<SmemTile>(d.getB()).base);
          return success();
        }
        auto type = shapeOf(d.getResult());
        Layout l = layoutForRows(type.getDimSize(0), d);
        Acc acc = d.getAcc() ? materializeAcc(d.getAcc(), l, type.getDimSize(1))
                             : splatAcc(l, type.getDimSize(1), 0.0);
        Acc pt = get<Acc>(d.getA());
        frags[d.getResult()] = dotPV(pt, get<SmemTile>(d.getB()).base, acc);
        return success();
      })
      .Case<TileMaskOp>([&](TileMaskOp mk) {
        Acc s = get<Acc>(mk.getLogits());
        Value row0 = toI64(scalar(mk.getRow())), col0 = toI64(scalar(mk.getCol()));
        Value lq = toI64(scalar(mk.getLq())), lk = toI64(scalar(mk.getLk()));
        Value diag0 = add(arith::SubIOp::create(b, loc, lk, lq), row0);
        Value scale = arith::ConstantOp::create(b, loc, mk.getScaleAttr());
        Value negInf = cf(-std::numeric_limits<double>::infinity());
        for (int h = 0; h < halvesOf(s.layout); ++h) {
          Value r = tileRow(s.layout, h);
          Value diag = add(diag0, arith::RemSIOp::create(
                                      b, loc, r, c64(mk.getRowsPerHead())));
          for (int64_t j = 0; j < s.cols / 8; ++j)
            for (int e = 0; e < 2; ++e) {
              Value key = add(col0, addc(mulc(c, 2), 8 * j + e));
              Value vis = lt(key, lk);
              if (mk.getCausal())
                vis = arith::AndIOp::create(
                    b, loc, vis,
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, key, diag));
              if (IntegerAttr w = mk.getWindowAttr())
                vis = arith::AndIOp::create(
                    b, loc, vis,
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, key,
                                          addc(diag, -w.getInt())));
              Value x = arith::MulFOp::create(b, loc, s.at(h, j, e), scale);
              s.at(h, j, e) = sel(vis, x, negInf);
            }
        }
        frags[mk.getResult()] = s;
        return success();
      })
      .Case<SoftmaxStepOp>([&](SoftmaxStepOp st) {
        Acc s = get<Acc>(st.getLogits());
        RowVec m = materializeRow(st.getMax(), s.layout);
        RowVec mNew{s.layout, {}}, alpha{s.layout, {}};
        Value negInf = cf(-std::numeric_limits<double>::infinity());
        for (int h = 0; h < halvesOf(s.layout); ++h) {
          Value mx = negInf;
          for (int64_t j = 0; j < s.cols / 8; ++j)
            for (int e = 0; e < 2; ++e)
              mx = fmax(mx, s.at(h, j, e));
          Value x1 = fmax(mx, shflXor(mx, 1));
          mx = fmax(x1, shflXor(x1, 2));
          Value mn = fmax(m.v[h], mx);
          // A row that saw no key keeps -inf: subtract 0 instead (no NaN).
          Value isInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mn, negInf);
          Value safe = sel(isInf, cf(0), mn);
          mNew.v.push_back(mn);
          alpha.v.push_back(exp2(arith::SubFOp::create(b, loc, m.v[h], safe)));
          for (int64_t j = 0; j < s.cols / 8; ++j)
            for (int e = 0; e < 2; ++e)
              s.at(h, j, e) = exp2(arith::SubFOp::create(b, loc, s.at(h, j, e), safe));
        }
        frags[st.getNewMax()] = mNew;
        frags[st.getAlpha()] = alpha;
        frags[st.getProbs()] = s;
        return success();
      })
      .Case<TileRescaleOp>([&](TileRescaleOp rs) {
        auto type = shapeOf(rs.getInput());
        Layout l = layoutForRows(type.getDimSize(0), rs);
        RowVec alpha = materializeRow(rs.getAlpha(), l);
        if (type.getRank() == 1) {
          RowVec x = materializeRow(rs.getInput(), l);
          for (size_t h = 0; h < x.v.size(); ++h)
            x.v[h] = arith::MulFOp::create(b, loc, x.v[h], alpha.v[h]);
          frags[rs.getResult()] = x;
          return success();
        }
        Acc x = materializeAcc(rs.getInput(), l, type.getDimSize(1));
        for (int h = 0; h < halvesOf(l); ++h)
          for (int64_t j = 0; j < x.cols / 8; ++j)
            for (int e = 0; e < 2; ++e)
              x.at(h, j, e) = arith::MulFOp::create(b, loc, x.at(h, j, e), alpha.v[h]);
        frags[rs.getResult()] = x;
        return success();
      })
      .Case<TileRowSumOp>([&](TileRowSumOp rsum) {
        Acc x = get<Acc>(rsum.getInput());
        RowVec acc = materializeRow(rsum.getAcc(), x.layout);
        for (int h = 0; h < halvesOf(x.layout); ++h) {
          Value sum = cf(0);
          for (int64_t j = 0; j < x.cols / 8; ++j)
            for (int e = 0; e < 2; ++e)
              sum = arith::AddFOp::create(b, loc, sum, x.at(h, j, e));
          acc.v[h] = arith::AddFOp::create(b, loc, acc.v[h], quadSum(sum));
        }
        frags[rsum.getResult()] = acc;
        return success();
      })
      .Case<arith::MulFOp>([&](arith::MulFOp mulOp) {
        if (!isa<RankedTensorType>(mulOp.getType()))
          return success();
        Acc x = get<Acc>(mulOp.getLhs()), y = get<Acc>(mulOp.getRhs());
        for (size_t i = 0; i < x.v.size(); ++i)
          x.v[i] = arith::MulFOp::create(b, loc, x.v[i], y.v[i]);
        frags[mulOp.getResult()] = x;
        return success();
      })
      .Case<arith::TruncFOp>([&](arith::TruncFOp tr) {
        if (!isa<RankedTensorType>(tr.getType()))
          return success();
        Acc x = get<Acc>(tr.getIn());
        x.elt = p.elt; // rounded when packed into an operand
        frags[tr.getResult()] = x;
        return success();
      })
      .Case<FinalizeOp>([&](FinalizeOp fin) {
        auto type = shapeOf(fin.getO1());
        Layout l = layoutForRows(type.getDimSize(0), fin);
        Acc o1 = get<Acc>(fin.getO1());
        assert((!fin.getO2() || get<Acc>(fin.getO2()).colOffset == o1.colOffset) &&
               "O1 and O2 must hold the same column slice");
        RowVec d1 = materializeRow(fin.getD1(), l);
        Acc out = o1;
        out.elt = fin.getType().getElementType();
        for (int h = 0; h < halvesOf(l); ++h) {
          Value zero = cf(0);
          Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, d1.v[h], zero);
          Value inv = sel(empty, zero, arith::DivFOp::create(b, loc, cf(1), d1.v[h]));
          Value w, o2inv;
          if (fin.getO2()) {
            RowVec d2 = materializeRow(fin.getD2(), l);
            w = arith::AddFOp::create(b, loc, cf(1), arith::MulFOp::create(b, loc, d2.v[h], inv));
          }
          for (int64_t j = 0; j < out.cols / 8; ++j)
            for (int e = 0; e < 2; ++e) {
              Value o = arith::MulFOp::create(b, loc, o1.at(h, j, e), inv);
              if (fin.getO2()) {
                Acc o2 = get<Acc>(fin.getO2());
                o = arith::SubFOp::create(
                    b, loc, arith::MulFOp::create(b, loc, o, w),
                    arith::MulFOp::create(b, loc, o2.at(h, j, e), inv));
              }
              out.at(h, j, e) = o;
            }
        }
        frags[fin.getResult()] = out;
        return success();
      })
      .Case<tensor::ExpandShapeOp>([&](tensor::ExpandShapeOp ex) {
        auto type = shapeOf(ex.getResult());
        bool packed = ex.getReassociationIndices()[0].size() == 1;
        frags[ex.getResult()] =
            StoreView{get<Acc>(ex.getSrc()), Value(),
                      packed ? type.getDimSize(0) : type.getDimSize(1), packed};
        return success();
      })
      .Case<tensor::ExtractSliceOp>([&](tensor::ExtractSliceOp sl) {
        StoreView v = get<StoreView>(sl.getSource());
        auto sizes = sl.getMixedSizes();
        OpFoldResult rowsSize = sizes[v.packed ? 0 : 1];
        if (auto val = dyn_cast<Value>(rowsSize))
          v.validRows = scalar(val);
        else
          v.validRows = arith::ConstantIndexOp::create(
              b, loc, cast<IntegerAttr>(cast<Attribute>(rowsSize)).getInt());
        frags[sl.getResult()] = v;
        return success();
      })
      .Case<scf::ForOp>([&](scf::ForOp f) { return lowerLoop(f); })
      .Case<scf::InParallelOp>([&](scf::InParallelOp ip) {
        for (Operation &o : ip.getRegion().front())
          if (auto ins = dyn_cast<tensor::ParallelInsertSliceOp>(o))
            if (failed(lowerStore(ins)))
              return failure();
        return success();
      })
      .Default([&](Operation *o) -> LogicalResult {
        // Scalar program arithmetic is cloned on demand.
        if (llvm::none_of(o->getResultTypes(),
                          [](Type t) { return isa<RankedTensorType>(t); }))
          return success();
        return o->emitError() << "the GPU lowering does not handle this op";
      });
}

LogicalResult KernelBuilder::lowerStore(tensor::ParallelInsertSliceOp op) {
  StoreView v = get<StoreView>(op.getSource());
  auto dstType = cast<RankedTensorType>(op.getDest().getType());
  auto offsets = op.getMixedOffsets();
  auto idx = [&](OpFoldResult f) -> Value {
    if (auto val = dyn_cast<Value>(f))
      return toI64(scalar(val));
    return c64(cast<IntegerAttr>(cast<Attribute>(f)).getInt());
  };
  Value valid = toI64(v.validRows);
  int64_t eb = p.eltBytes();
  int64_t d = dstType.getDimSize(dstType.getRank() - 1);
  // Per half: the element offset of this thread's output row and the row's
  // index among the tile's valid rows.
  std::function<std::pair<Value, Value>(Value)> rowOf;
  if (v.packed) {
    // Packed output [T, H, D]: tile row i is token offsets[0] + i.
    Value tok0 = idx(offsets[0]), head = idx(offsets[1]);
    rowOf = [&, tok0, head](Value i) {
      return std::make_pair(
          mulc(add(mulc(add(tok0, i), dstType.getDimSize(1)), head), d), i);
    };
  } else {
    Value bIdx = idx(offsets[0]), head0 = idx(offsets[1]),
          row0 = idx(offsets[2]);
    Value lq = dimOf(func.getArgument(0), 2);
    rowOf = [&, bIdx, head0, row0, lq](Value r) {
      Value gHead = arith::DivSIOp::create(b, loc, r, c64(v.rowsPerHead));
      Value i = arith::RemSIOp::create(b, loc, r, c64(v.rowsPerHead));
      Value base = mulc(add(mul(add(mulc(bIdx, dstType.getDimSize(1)),
                                    add(head0, gHead)),
                                lq),
                            add(row0, i)),
                        d);
      return std::make_pair(base, i);
    };
  }
  Acc &o = v.tile;
  for (int h = 0; h < halvesOf(o.layout); ++h) {
    auto [rowBase, i] = rowOf(tileRow(o.layout, h));
    auto ifOp = scf::IfOp::create(b, loc, storeGuard(lt(i, valid)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    for (int64_t j = 0; j < o.cols / 8; ++j) {
      Value col = addc(mulc(c, 2), 8 * j);
      if (o.colOffset)
        col = add(col, o.colOffset);
      Value ptr = gep(outPtr, mulc(add(rowBase, col), eb));
      LLVM::StoreOp::create(b, loc, pack(o.at(h, j, 0), o.at(h, j, 1)), ptr, 4);
    }
  }
  return success();
}

LogicalResult KernelBuilder::lowerLoop(scf::ForOp loop) {
  // Flatten loop-carried tiles into f32 registers.
  SmallVector<Carried> carried;
  SmallVector<Value> flatInits;
  for (Value init : loop.getInitArgs()) {
    auto type = cast<RankedTensorType>(init.getType());
    Layout l = layoutForRows(type.getDimSize(0), loop);
    if (type.getRank() == 1) {
      RowVec r = materializeRow(init, l);
      carried.push_back({true, l, 0, flatInits.size(), r.v.size()});
      flatInits.append(r.v);
    } else {
      Acc a = materializeAcc(init, l, type.getDimSize(1));
      carried.push_back({false, l, a.cols, flatInits.size(), a.v.size()});
      flatInits.append(a.v);
    }
  }
  tracePoint(TracePoint::LoopBegin);
  Value lb = scalar(loop.getLowerBound()), ub = scalar(loop.getUpperBound());
  Value oldIv = loop.getInductionVar();
  int64_t numLoads = p.loopLoads.size();
  int64_t groups = p.kvGroups;
  // Each warp group owns its stages: group * stages * loads * tile bytes.
  Value groupBase = mulc(group, stages * numLoads * p.tileBytes());
  auto stageBase = [&](Value stage, unsigned slot) {
    Value off = mulc(add(mulc(stage, numLoads), c64(slot)), p.tileBytes());
    return gep(smem, add(groupBase, off));
  };
  // Group g runs tiles lb + g, lb + g + groups, ...; the group's own warps
  // meet at named barrier 1 + g (barrier 0 is the whole CTA).
  Value groupIdx = arith::IndexCastOp::create(b, loc, b.getIndexType(), group);
  Value groupsIdx = arith::ConstantIndexOp::create(b, loc, groups);
  if (p.splitKv) {
    // CTA split s takes tiles [lb + s*chunk, min(ub, lb + (s+1)*chunk)).
    Value S = arith::IndexCastOp::create(b, loc, b.getIndexType(), numSplits);
    Value sp = arith::IndexCastOp::create(b, loc, b.getIndexType(), split);
    Value n = arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb),
                                     arith::ConstantIndexOp::create(b, loc, 0));
    Value chunk = arith::CeilDivSIOp::create(b, loc, n, S);
    lb = arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, sp, chunk));
    ub = arith::MinSIOp::create(b, loc, ub, arith::AddIOp::create(b, loc, lb, chunk));
  }
  lb = arith::AddIOp::create(b, loc, lb, groupIdx);
  auto groupBarrier = [&]() {
    if (groups == 1) {
      NVVM::Barrier0Op::create(b, loc);
      return;
    }
    Value id = arith::TruncIOp::create(b, loc, i32(), addc(group, 1));
    NVVM::BarrierOp::create(b, loc, Type(), id, c32(32 * p.warps),
                            NVVM::BarrierReductionAttr(), Value());
  };
  // Bulk copies complete on one mbarrier per group and stage; warp 0 lane 0
  // of the group (the leader) initializes them and registers each stage's
  // bytes. Phase k of a stage's barrier is its k-th tile.
  Value leader;
  auto barrierOf = [&](Value stage) {
    Value idx = add(mulc(group, stages), stage);
    return gep(smem, addc(mulc(idx, 8), p.stagingBytes(stages)));
  };
  if (p.bulkCopy) {
    leader = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, warp, c64(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, c64(0)));
    auto ifOp = scf::IfOp::create(b, loc, leader, false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      for (int64_t s = 0; s < stages; ++s)
        NVVM::MBarrierInitOp::create(b, loc, barrierOf(c64(s)), c32(1), Value());
      NVVM::FenceMbarrierInitOp::create(b, loc);
    }
    groupBarrier();
  }
  auto issue = [&](Value ivIndex, Value stage) {
    if (!p.bulkCopy) {
      for (TileLoadOp l : p.loopLoads)
        copyTileToSmem(l, oldIv, ivIndex, stageBase(stage, loadSlot.at(l)));
      return;
    }
    Value bar = barrierOf(stage), bytes = c64(0);
    for (TileLoadOp l : p.loopLoads)
      bytes = add(bytes, bulkCopyTileToSmem(l, oldIv, ivIndex,
                                            stageBase(stage, loadSlot.at(l)), bar));
    auto ifOp = scf::IfOp::create(b, loc, leader, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    // The phase cannot complete before this arrival, so copies that land
    // first only make the transaction count negative for a while.
    NVVM::MBarrierArriveExpectTxOp::create(
        b, loc, Type(), bar, arith::TruncIOp::create(b, loc, i32(), bytes),
        NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA),
        b.getBoolAttr(false), Value());
  };
  auto commit = [&]() {
    if (!p.bulkCopy)
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
  };
  // Prologue: tiles 0 .. stages-2 of this group, one commit group each.
  for (int64_t k = 0; k + 1 < stages; ++k) {
    Value t = arith::AddIOp::create(
        b, loc, lb, arith::ConstantIndexOp::create(b, loc, k * groups));
    auto ifOp = scf::IfOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, ub), false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      issue(t, c64(k));
    }
    commit();
  }
  // The prologue's zero-filled tail rows (bulk copies) are visible before
  // the first iteration reads them; later ones pass an end-of-iteration
  // barrier between their issue and their use.
  if (p.bulkCopy && stages > 1)
    groupBarrier();

  auto newLoop = scf::ForOp::create(b, loc, lb, ub, groupsIdx, flatInits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(newLoop.getBody());
  Value iv = newLoop.getInductionVar();
  scalars.map(oldIv, iv);
  loopMarker = c64(0).getDefiningOp();
  Value rel = arith::DivSIOp::create(
      b, loc, toI64(arith::SubIOp::create(b, loc, iv, lb)), c64(groups));
  Value stage = arith::RemSIOp::create(b, loc, rel, c64(stages));
  {
    // Refill the stage that iteration rel - 1 read (its readers passed the
    // group barrier at the end of that iteration) with tile rel + stages - 1.
    Value next = arith::AddIOp::create(
        b, loc, iv, arith::ConstantIndexOp::create(b, loc, (stages - 1) * groups));
    auto ifOp = scf::IfOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, next, ub), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      issue(next, arith::RemSIOp::create(b, loc, addc(rel, stages - 1), c64(stages)));
    }
    commit();
  }
  if (p.bulkCopy) {
    // Wait for phase rel / stages of this stage's barrier.
    Value parity = arith::TruncIOp::create(
        b, loc, i32(),
        arith::RemSIOp::create(
            b, loc, arith::DivSIOp::create(b, loc, rel, c64(stages)), c64(2)));
    Value bar = barrierOf(stage);
    auto wait = scf::WhileOp::create(b, loc, TypeRange{}, ValueRange{});
    {
      OpBuilder::InsertionGuard g2(b);
      Block *before = b.createBlock(&wait.getBefore());
      b.setInsertionPointToStart(before);
      Value done = NVVM::MBarrierTryWaitOp::create(
          b, loc, b.getI1Type(), bar, parity, Value(),
          NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA));
      Value notDone = arith::XOrIOp::create(
          b, loc, done, arith::ConstantIntOp::create(b, loc, 1, 1));
      scf::ConditionOp::create(b, loc, notDone, ValueRange{});
      Block *after = b.createBlock(&wait.getAfter());
      b.setInsertionPointToStart(after);
      scf::YieldOp::create(b, loc);
    }
  } else {
    NVVM::CpAsyncWaitGroupOp::create(b, loc, b.getI32IntegerAttr(stages - 1));
  }
  // Every thread's copies of this stage are visible to the whole group. Bulk
  // copies need no barrier (each thread waited on the mbarrier), except for
  // zero-filled tail rows written in this same iteration (one stage only).
  if (!p.bulkCopy || stages == 1)
    groupBarrier();
  for (TileLoadOp l : p.loopLoads)
    frags[l.getResult()] = SmemTile{stageBase(stage, loadSlot.at(l))};

  bindCarried(loop.getRegionIterArgs(), carried, newLoop.getRegionIterArgs());
  for (Operation &op : loop.getBody()->without_terminator())
    if (failed(lowerOp(&op)))
      return failure();
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  SmallVector<Value> flatYield;
  for (auto [k, v] : llvm::enumerate(yield.getOperands())) {
    Carried &cd = carried[k];
    if (cd.isRow)
      flatYield.append(materializeRow(v, cd.layout).v);
    else
      flatYield.append(materializeAcc(v, cd.layout, cd.cols).v);
  }
  // Every warp is done with this stage before the next prefetch reuses it.
  groupBarrier();
  int64_t barriersPerIteration = (!p.bulkCopy || stages == 1) ? 2 : 1;
  scf::YieldOp::create(b, loc, flatYield);
  scalars.erase(oldIv);
  loopMarker = nullptr;

  b.setInsertionPointAfter(newLoop);
  tracePoint(TracePoint::LoopEnd);
  SmallVector<Value> merged(newLoop.getResults());
  RegSlice slice = sliceForGroups(carried);
  if (groups > 1) {
    // Every group reads the others' partials after a bar.sync 0, which
    // orders them. compute-sanitizer's racecheck, though, reports a read as
    // a hazard when the reading thread passed fewer barriers (named ones
    // included) than the writer: seen on the H200 for a group that ran one
    // tile fewer. Such a group passes the barriers of the iteration it
    // missed (0 or 1 iteration; group 0 runs the most).
    // Tiles of the CTA: [lb - group, ub); group g runs every groups-th from g.
    Value n = arith::MaxSIOp::create(
        b, loc, arith::SubIOp::create(b, loc, ub, arith::SubIOp::create(b, loc, lb, groupIdx)),
        arith::ConstantIndexOp::create(b, loc, 0));
    auto itersOf = [&](Value g) {
      Value num = arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, n, arith::ConstantIndexOp::create(b, loc, groups - 1)),
          g);
      return arith::DivSIOp::create(b, loc, num, groupsIdx).getResult();
    };
    Value missed = arith::SubIOp::create(
        b, loc, itersOf(arith::ConstantIndexOp::create(b, loc, 0)), itersOf(groupIdx));
    auto pad = scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0), missed,
                                  arith::ConstantIndexOp::create(b, loc, 1));
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(pad.getBody());
      for (int64_t k = 0; k < barriersPerIteration; ++k)
        groupBarrier();
    }
  }
  if (groups > 1) {
    int64_t maxIdx = maxCarriedIndex(yield);
    if (maxIdx < 0)
      return loop.emitError() << "cannot split keys across warp groups: no "
                                 "running max among the loop-carried values";
    merged = mergeGroups(merged, slice, maxIdx);
  }
  tracePoint(TracePoint::GroupsMerged);
  if (p.splitKv) {
    // One split: this CTA holds the whole result; skip the workspace round
    // trip (a write, a counter and a read-back per CTA).
    SmallVector<Type> types(merged.size(), f32());
    types.push_back(b.getI1Type());
    auto multi = scf::IfOp::create(
        b, loc, types,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, numSplits, c64(1)),
        /*withElse=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(multi.elseBlock());
      SmallVector<Value> same(merged);
      same.push_back(arith::ConstantIntOp::create(b, loc, 1, 1));
      scf::YieldOp::create(b, loc, same);
      b.setInsertionPointToStart(multi.thenBlock());
      if (failed(mergeSplits(merged, slice, flatInits.size(), yield)))
        return failure();
      SmallVector<Value> out(merged);
      out.push_back(isLastSplit);
      scf::YieldOp::create(b, loc, out);
    }
    ValueRange results = multi.getResults();
    merged.assign(results.begin(), results.begin() + (results.size() - 1));
    isLastSplit = multi.getResults().back();
  }
  bindCarried(loop.getResults(), slice.carried, merged, sliceColumn);
  return success();
}

void KernelBuilder::bindCarried(ValueRange tiles, ArrayRef<Carried> carried,
                                ValueRange flat, Value colOffset) {
  for (auto [k, tile] : llvm::enumerate(tiles)) {
    const Carried &cd = carried[k];
    SmallVector<Value> regs(flat.begin() + cd.first,
                            flat.begin() + cd.first + cd.count);
    if (cd.isRow)
      frags[tile] = RowVec{cd.layout, regs};
    else
      frags[tile] = Acc{cd.layout, cd.cols, f32(), regs, colOffset};
  }
}

void KernelBuilder::traceStore(int64_t slot, Value v) {
  auto ifOp = scf::IfOp::create(b, loc, traceOn, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  LLVM::StoreOp::create(b, loc, toI64(v), gep(traceRecord, c64(slot * 8)), 8);
}

void KernelBuilder::tracePoint(TracePoint point) {
  if (!trace)
    return;
  traceStore(kTraceClock0 + static_cast<int64_t>(point),
             NVVM::Clock64Op::create(b, loc, i64()));
}

RegSlice KernelBuilder::sliceForGroups(ArrayRef<Carried> carried) {
  int64_t groups = p.kvGroups;
  // Every accumulator tile the same width (one stride between slices).
  std::optional<int64_t> cols;
  bool sliced = groups > 1 && llvm::all_of(carried, [&](const Carried &cd) {
    if (cd.isRow)
      return true;
    if (!cols)
      cols = cd.cols;
    return cd.cols == *cols && (cd.cols / 8) % groups == 0;
  });
  RegSlice sl;
  for (const Carried &cd : carried) {
    Carried out = cd;
    out.first = sl.fullIndex.size();
    if (cd.isRow || !sliced) {
      for (size_t r = 0; r < cd.count; ++r) {
        sl.fullIndex.push_back(cd.first + r);
        sl.byGroup.push_back(false);
      }
    } else {
      // Registers [half][block][2]: keep blocks [0, n / G) of each half.
      int64_t blocks = cd.cols / 8, mine = blocks / groups;
      for (int h = 0; h < halvesOf(cd.layout); ++h)
        for (int64_t j = 0; j < mine; ++j)
          for (int e = 0; e < 2; ++e) {
            sl.fullIndex.push_back(cd.first + (h * blocks + j) * 2 + e);
            sl.byGroup.push_back(true);
          }
      out.cols = cd.cols / groups;
      sl.groupStride = mine * 2;
    }
    out.count = sl.fullIndex.size() - out.first;
    sl.carried.push_back(out);
  }
  return sl;
}

SmallVector<Value> KernelBuilder::mergeGroups(ArrayRef<Value> part,
                                              const RegSlice &sl,
                                              int64_t maxIdx) {
  // m = max_g m_g and every other carried value x = sum_g x_g * exp2(m_g - m),
  // through the staging memory (free once every group left its loop). Each
  // group merges only the registers of its slice.
  int64_t regs = part.size(), tpg = 32 * p.warps;
  Value tidInGroup = add(mulc(warp, 32), lane);
  // Register r of a group lives at groupBase + r * tpg * 4: one address per
  // group, constant offsets per register.
  auto groupBase = [&](Value grp) {
    return gep(smem, mulc(add(mulc(grp, regs * tpg), tidInGroup), 4));
  };
  auto slot = [&](Value base, int64_t r) { return gep(base, c64(r * tpg * 4)); };
  NVVM::Barrier0Op::create(b, loc); // every group is done with the memory
  Value own = groupBase(group);
  for (int64_t r = 0; r < regs; ++r)
    LLVM::StoreOp::create(b, loc, part[r], slot(own, r), 4);
  NVVM::Barrier0Op::create(b, loc);
  Value base0 = groupBase(c64(0)), sliceBase = base0;
  if (sl.groupStride) {
    sliceBase = gep(base0, mulc(group, sl.groupStride * tpg * 4));
    sliceColumn = mulc(group, sl.groupStride / 2 * 8); // 8 columns per 2 registers
  }
  SmallVector<SmallVector<Value>> all(p.kvGroups);
  for (int64_t gi = 0; gi < p.kvGroups; ++gi)
    for (auto [k, full] : llvm::enumerate(sl.fullIndex))
      all[gi].push_back(LLVM::LoadOp::create(
          b, loc, f32(), slot(sl.byGroup[k] ? sliceBase : base0, gi * regs + full), 4));
  return mergePartials(all, sl.carried, maxIdx);
}

SmallVector<Value>
KernelBuilder::mergePartials(ArrayRef<SmallVector<Value>> all,
                             ArrayRef<Carried> carried, int64_t maxIdx) {
  // m = max_g m_g; every other carried value x = sum_g x_g * exp2(m_g - m).
  int64_t groups = all.size();
  SmallVector<Value> merged(all[0]);
  const Carried &mc = carried[maxIdx];
  Value negInf = cf(-std::numeric_limits<double>::infinity());
  SmallVector<Value> mStar;
  for (size_t h = 0; h < mc.count; ++h) {
    Value m = negInf;
    for (int64_t gi = 0; gi < groups; ++gi)
      m = fmax(m, all[gi][mc.first + h]);
    mStar.push_back(m);
  }
  // exp2(m_g - m*) per part and half; empty rows (m* = -inf) scale by 0.
  SmallVector<SmallVector<Value>> scaleOf(groups);
  for (int64_t gi = 0; gi < groups; ++gi)
    for (size_t h = 0; h < mc.count; ++h) {
      Value isInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                          mStar[h], negInf);
      Value safe = sel(isInf, cf(0), mStar[h]);
      scaleOf[gi].push_back(
          exp2(arith::SubFOp::create(b, loc, all[gi][mc.first + h], safe)));
    }
  for (auto [k, cd] : llvm::enumerate(carried)) {
    if (static_cast<int64_t>(k) == maxIdx) {
      for (size_t h = 0; h < mc.count; ++h)
        merged[mc.first + h] = mStar[h];
      continue;
    }
    int halves = halvesOf(cd.layout);
    int64_t perHalf = cd.count / halves;
    for (size_t r = 0; r < cd.count; ++r) {
      // A Stacked8 tile's two halves are the same query rows (half 0 of m).
      size_t h = mc.count == 1 ? 0 : r / perHalf;
      Value acc = cf(0);
      for (int64_t gi = 0; gi < groups; ++gi)
        acc = arith::AddFOp::create(
            b, loc, acc,
            arith::MulFOp::create(b, loc, all[gi][cd.first + r], scaleOf[gi][h]));
      merged[cd.first + r] = acc;
    }
  }
  return merged;
}

LogicalResult KernelBuilder::mergeSplits(SmallVector<Value> &merged,
                                         const RegSlice &sl, int64_t fullRegs,
                                         scf::YieldOp yield) {
  // Every CTA of a program writes its partial registers to the workspace; the
  // last one to arrive (a per-program counter) merges them and stores, then
  // resets the counter so the next launch (or graph replay) starts at zero.
  // Each warp group writes, and later merges, its own slice.
  int64_t maxIdx = maxCarriedIndex(yield);
  if (maxIdx < 0)
    return yield.emitError() << "cannot split keys: no running max";
  int64_t tpg = 32 * p.warps, regs = merged.size();
  kernel->setAttr("parallax.workspace_bytes_per_cta",
                  b.getI64IntegerAttr(fullRegs * tpg * 4));
  Value tidInGroup = add(mulc(warp, 32), lane);
  Value prog = add(mul(add(mul(toI64(NVVM::BlockIdZOp::create(b, loc, i32())),
                               toI64(NVVM::GridDimYOp::create(b, loc, i32()))),
                           toI64(NVVM::BlockIdYOp::create(b, loc, i32()))),
                       arith::DivSIOp::create(
                           b, loc, toI64(NVVM::GridDimXOp::create(b, loc, i32())),
                           numSplits)),
                   qTile);
  // Full register r of split sp lives at splitBase(sp) + r * tpg * 4; a
  // group's slice starts groupStride registers per group further.
  Value sliceOffset = sl.groupStride ? mulc(group, sl.groupStride * tpg * 4) : c64(0);
  auto splitBase = [&](Value sp) {
    return gep(workspace,
               mulc(add(mulc(add(mul(prog, numSplits), sp), fullRegs * tpg), tidInGroup), 4));
  };
  auto slotOf = [&](Value base, Value sliceBase, size_t k) {
    return gep(sl.byGroup[k] ? sliceBase : base, c64(sl.fullIndex[k] * tpg * 4));
  };
  {
    // Row statistics are the same in every group: group 0 writes them. The
    // accumulator slices: each group its own (all of them in group 0 if
    // the tiles are not sliced).
    Value isGroup0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, group, c64(0));
    Value own = splitBase(split), ownSlice = gep(own, sliceOffset);
    for (bool sliced : {false, true}) {
      bool everyGroup = sliced && sl.groupStride;
      auto ifOp = scf::IfOp::create(
          b, loc, everyGroup ? arith::ConstantIntOp::create(b, loc, 1, 1).getResult() : isGroup0,
          false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      for (int64_t k = 0; k < regs; ++k)
        if (sl.byGroup[k] == sliced)
          LLVM::StoreOp::create(b, loc, merged[k], slotOf(own, ownSlice, k), 4);
    }
  }
  // Thread 0 counts this CTA in; a barrier with an OR reduction tells every
  // thread whether this CTA is the program's last (no shared memory needed).
  // Ordering (CUTLASS's semaphore pattern): the barrier orders the CTA's
  // stores before thread 0, whose gpu-scope acq_rel fence releases them
  // before its relaxed increment; in the last CTA a second fence acquires
  // the other CTAs' stores, and the OR barrier passes that on. One thread
  // fences, acq_rel not SC: two MEMBAR.SC.GPU in every thread cost more.
  NVVM::Barrier0Op::create(b, loc);
  tracePoint(TracePoint::PartialStored);
  Value tid0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     add(mulc(add(mulc(group, p.warps), warp), 32), lane),
                                     c64(0));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getI1Type()}, tid0, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value counter = gep(counters, mulc(prog, 4));
    auto gpuFence = [&] {
      LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acq_rel, "device");
    };
    gpuFence();
    Value old = LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::add, counter,
                                          c32(1), LLVM::AtomicOrdering::monotonic,
                                          "device");
    Value last = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, toI64(old),
        arith::SubIOp::create(b, loc, numSplits, c64(1)));
    auto reset = scf::IfOp::create(b, loc, last, false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(reset.thenBlock());
      gpuFence();
      LLVM::StoreOp::create(b, loc, c32(0), counter, 4);
    }
    scf::YieldOp::create(b, loc, last);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, arith::ConstantIntOp::create(b, loc, 0, 1).getResult());
  }
  tracePoint(TracePoint::Counted);
  Value anyLast = NVVM::BarrierOp::create(
      b, loc, i32(), Value(), Value(),
      NVVM::BarrierReductionAttr::get(b.getContext(), NVVM::BarrierReduction::OR),
      arith::ExtUIOp::create(b, loc, i32(), ifOp.getResult(0)).getResult())
                      .getRes();
  isLastSplit = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, anyLast, c32(0));
  tracePoint(TracePoint::LastKnown);
  // The last CTA merges every split, `batch` splits per step: their loads are
  // all in flight at once (one L2 round trip per step), then one rescale
  // folds them in. Every group merges its own slice; the other CTAs' loops
  // run zero times. Thread 0's acquire fence and the OR barrier order these
  // plain loads after the other CTAs' stores.
  const Carried &mc = sl.carried[maxIdx];
  Value negInf = cf(-std::numeric_limits<double>::infinity());
  auto isMax = [&](int64_t k) {
    return k >= static_cast<int64_t>(mc.first) &&
           k < static_cast<int64_t>(mc.first + mc.count);
  };
  auto loadSplit = [&](Value cond, Value sp) {
    // Split sp's slice if cond, else an empty partial (m = -inf, zeros).
    SmallVector<Type> types(regs, f32());
    auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value base = splitBase(sp), slice = gep(base, sliceOffset);
    SmallVector<Value> xs;
    for (int64_t k = 0; k < regs; ++k)
      xs.push_back(LLVM::LoadOp::create(b, loc, f32(), slotOf(base, slice, k), 4));
    scf::YieldOp::create(b, loc, xs);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> empty;
    for (int64_t k = 0; k < regs; ++k)
      empty.push_back(isMax(k) ? negInf : cf(0));
    scf::YieldOp::create(b, loc, empty);
    return SmallVector<Value>(ifOp.getResults());
  };
  // Registers: the running slice, `batch` loaded slices, addresses.
  int64_t regLimit = target.maxRegistersPerThread;
  if (minCtasPerSm > 0)
    regLimit = std::min<int64_t>(regLimit, 65536 / (32 * p.warps * p.kvGroups * minCtasPerSm));
  int64_t batch = std::clamp<int64_t>((regLimit - 48 - 2 * regs) / regs, 1, 8);
  SmallVector<Value> init;
  for (int64_t k = 0; k < regs; ++k)
    init.push_back(isMax(k) ? negInf : cf(0));
  Value to = sel(isLastSplit, numSplits, c64(0));
  auto loop = scf::ForOp::create(b, loc, c64(0), to, c64(batch), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value sp0 = loop.getInductionVar();
    SmallVector<SmallVector<Value>> parts{SmallVector<Value>(loop.getRegionIterArgs())};
    for (int64_t k = 0; k < batch; ++k) {
      Value sp = addc(sp0, k);
      parts.push_back(loadSplit(lt(sp, to), sp));
    }
    scf::YieldOp::create(b, loc, mergePartials(parts, sl.carried, maxIdx));
  }
  merged.assign(loop.getResults().begin(), loop.getResults().end());
  tracePoint(TracePoint::SplitsMerged);
  return success();
}

FailureOr<LLVM::LLVMFuncOp> KernelBuilder::build() {
  MLIRContext *ctx = func.getContext();
  auto ptrG = LLVM::LLVMPointerType::get(ctx, 1);
  SmallVector<Type> params;
  SmallVector<Attribute> paramNames;
  auto argNames = func->getAttrOfType<ArrayAttr>("parallax.arg_names");
  auto nameOf = [&](unsigned i) -> std::string {
    if (argNames && i < argNames.size())
      return cast<StringAttr>(argNames[i]).str();
    return "arg" + std::to_string(i);
  };
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    params.push_back(ptrG);
    paramNames.push_back(b.getStringAttr(nameOf(i)));
  }
  params.push_back(ptrG);
  paramNames.push_back(b.getStringAttr("out"));
  if (p.splitKv) {
    params.append({ptrG, ptrG});
    paramNames.push_back(b.getStringAttr("workspace"));
    paramNames.push_back(b.getStringAttr("counters"));
  }
  SmallVector<std::pair<unsigned, int64_t>> dyn;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto t = cast<RankedTensorType>(func.getArgument(i).getType());
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (t.isDynamicDim(d)) {
        dyn.push_back({i, d});
        params.push_back(i64());
        paramNames.push_back(b.getStringAttr(nameOf(i) + ".dim" + std::to_string(d)));
      }
  }
  if (p.splitKv) {
    params.push_back(i64());
    paramNames.push_back(b.getStringAttr("num_splits"));
  }
  b.setInsertionPoint(func);
  auto fnType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), params);
  kernel = LLVM::LLVMFuncOp::create(b, loc, func.getSymName(), fnType);
  kernel->setAttr("nvvm.kernel", b.getUnitAttr());
  int64_t threads = 32 * p.warps * p.kvGroups;
  kernel->setAttr("nvvm.maxntid", b.getDenseI32ArrayAttr({(int32_t)threads, 1, 1}));
  if (minCtasPerSm > 0)
    kernel->setAttr("nvvm.minctasm", b.getI32IntegerAttr(minCtasPerSm));
  kernel->setAttr("parallax.param_names", b.getArrayAttr(paramNames));
  kernel->setAttr("parallax.block", b.getI64ArrayAttr({threads, 1, 1}));
  kernel->setAttr("parallax.shared_bytes", b.getI64IntegerAttr(p.sharedBytes(stages)));
  Block *entry = kernel.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    argPtr[func.getArgument(i)] = entry->getArgument(i);
  outPtr = entry->getArgument(func.getNumArguments());
  unsigned firstDim = func.getNumArguments() + 1 + (p.splitKv ? 2 : 0);
  for (auto [k, d] : llvm::enumerate(dyn))
    dynDims[{func.getArgument(d.first), d.second}] =
        entry->getArgument(firstDim + k);
  if (p.splitKv) {
    workspace = entry->getArgument(func.getNumArguments() + 1);
    counters = entry->getArgument(func.getNumArguments() + 2);
    numSplits = entry->getArguments().back();
  }

  auto sym = LLVM::AddressOfOp::create(
      b, loc, LLVM::LLVMPointerType::get(ctx, 3), "parallax_dynamic_smem");
  smem = sym;
  Value tid = toI64(NVVM::ThreadIdXOp::create(b, loc, i32()));
  lane = arith::RemSIOp::create(b, loc, tid, c64(32));
  // Warps [g * warps, (g + 1) * warps) form key-split group g; `warp` is the
  // warp's index within its group (it picks the tile rows).
  Value warpInCta = arith::DivSIOp::create(b, loc, tid, c64(32));
  warp = arith::RemSIOp::create(b, loc, warpInCta, c64(p.warps));
  group = arith::DivSIOp::create(b, loc, warpInCta, c64(p.warps));
  g = arith::DivSIOp::create(b, loc, lane, c64(4));
  c = arith::RemSIOp::create(b, loc, lane, c64(4));
  if (trace) {
    // This CTA's record: blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y *
    // blockIdx.z); thread 0 writes it, CTAs past the capacity skip it.
    auto sreg = [&](Value v) { return toI64(v); };
    Value cta = add(sreg(NVVM::BlockIdXOp::create(b, loc, i32())),
                    mul(sreg(NVVM::GridDimXOp::create(b, loc, i32())),
                        add(sreg(NVVM::BlockIdYOp::create(b, loc, i32())),
                            mul(sreg(NVVM::GridDimYOp::create(b, loc, i32())),
                                sreg(NVVM::BlockIdZOp::create(b, loc, i32()))))));
    traceOn = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c64(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, cta, c64(kTraceCapacity)));
    Value table = LLVM::AddressOfOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 1),
                                            "parallax_trace");
    traceRecord = gep(table, mulc(cta, kTraceSlots * 8));
    traceStore(0, NVVM::GlobalTimerOp::create(b, loc, i64()));
    traceStore(2, NVVM::SmIdOp::create(b, loc, i32()));
    tracePoint(TracePoint::Entry);
  }

  // Program ids: the last forall dimension is blockIdx.x.
  SmallVector<Value> ivs(p.forall.getInductionVars());
  SmallVector<Value> ids = {NVVM::BlockIdXOp::create(b, loc, i32()),
                            NVVM::BlockIdYOp::create(b, loc, i32()),
                            NVVM::BlockIdZOp::create(b, loc, i32())};
  if (ivs.size() > 3)
    return p.forall.emitError() << "at most 3 program dimensions";
  if (p.splitKv) {
    // blockIdx.x = query tile * num_splits + split.
    Value x = toI64(ids[0]);
    qTile = arith::DivSIOp::create(b, loc, x, numSplits);
    split = arith::RemSIOp::create(b, loc, x, numSplits);
    ids[0] = arith::TruncIOp::create(b, loc, i32(), qTile);
  }
  for (size_t k = 0; k < ivs.size(); ++k) {
    Value iv = ivs[ivs.size() - 1 - k];
    scalars.map(iv, arith::IndexCastOp::create(b, loc, b.getIndexType(), ids[k]));
  }
  for (unsigned slot = 0; slot < p.loopLoads.size(); ++slot)
    loadSlot[p.loopLoads[slot]] = slot;
  entryMarker = c64(0).getDefiningOp();

  // Everything before the forall is host-side shape math: clone on demand.
  for (Operation &op : p.forall.getBody()->without_terminator())
    if (failed(lowerOp(&op)))
      return failure();
  if (failed(lowerOp(p.forall.getTerminator())))
    return failure();
  if (trace) {
    tracePoint(TracePoint::Exit);
    traceStore(1, NVVM::GlobalTimerOp::create(b, loc, i64()));
  }
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return kernel;
}

/// Grid dimension `k` (x, y, z) as a JSON-friendly formula over the dynamic
/// dimension parameters: an integer, a parameter name, or ceil(name / n).
std::string gridFormula(Value ub, func::FuncOp func) {
  auto argNames = func->getAttrOfType<ArrayAttr>("parallax.arg_names");
  std::function<std::string(Value)> fmt = [&](Value v) -> std::string {
    APInt cst;
    if (matchPattern(v, m_ConstantInt(&cst)))
      return std::to_string(cst.getSExtValue());
    if (auto dim = v.getDefiningOp<tensor::DimOp>()) {
      auto type = cast<RankedTensorType>(dim.getSource().getType());
      int64_t idx = *dim.getConstantIndex();
      if (!type.isDynamicDim(idx))
        return std::to_string(type.getDimSize(idx));
      auto arg = cast<BlockArgument>(dim.getSource());
      std::string name = argNames ? cast<StringAttr>(argNames[arg.getArgNumber()]).str()
                                  : "arg" + std::to_string(arg.getArgNumber());
      return name + ".dim" + std::to_string(*dim.getConstantIndex());
    }
    if (auto cd = v.getDefiningOp<arith::CeilDivUIOp>())
      return "ceil(" + fmt(cd.getLhs()) + "/" + fmt(cd.getRhs()) + ")";
    if (auto sub = v.getDefiningOp<arith::SubIOp>())
      return fmt(sub.getLhs()) + "-" + fmt(sub.getRhs());
    return "?";
  };
  return fmt(ub);
}

struct ConvertParallaxToNVVMPass
    : public parallax::impl::ConvertParallaxToNVVMBase<ConvertParallaxToNVVMPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    const TargetInfo *target = lookupTarget(chip);
    if (!target) {
      module.emitError() << "unsupported chip '" << chip
                         << "': supported are " << supportedChipsList();
      return signalPassFailure();
    }
    if (numStages < 1 || numStages > 4) {
      module.emitError() << "num-stages must be between 1 and 4, got "
                         << static_cast<int64_t>(numStages);
      return signalPassFailure();
    }
    if (kvGroups < 1 || kvGroups > 15) {
      module.emitError() << "kv-groups must be between 1 and 15 (named "
                            "barriers 1..15), got "
                         << static_cast<int64_t>(kvGroups);
      return signalPassFailure();
    }
    WalkResult untiled = module.walk([](Operation *op) {
      if (isa<AttentionOp, DecodeAttentionOp, VarlenAttentionOp>(op)) {
        op->emitOpError() << "must be tiled and fused (parallax-tile-attention, "
                             "parallax-fuse) before convert-parallax-to-nvvm";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (untiled.wasInterrupted())
      return signalPassFailure();
    SmallVector<func::FuncOp> funcs;
    module.walk([&](func::FuncOp f) {
      bool hasProgram = false;
      f.walk([&](scf::ForallOp) { hasProgram = true; });
      if (hasProgram)
        funcs.push_back(f);
    });
    if (!funcs.empty() && tracePhases && !module.lookupSymbol("parallax_trace")) {
      // Zero-initialized (a definition, not an extern) so the module owns it.
      OpBuilder b(module.getBodyRegion());
      auto arrTy = LLVM::LLVMArrayType::get(b.getI64Type(), kTraceCapacity * kTraceSlots);
      auto global = LLVM::GlobalOp::create(
          b, module.getLoc(), arrTy, /*isConstant=*/false, LLVM::Linkage::External,
          "parallax_trace", Attribute(), /*alignment=*/8, /*addrSpace=*/1);
      Block *init = b.createBlock(&global.getInitializerRegion());
      b.setInsertionPointToStart(init);
      LLVM::ReturnOp::create(b, module.getLoc(),
                             LLVM::ZeroOp::create(b, module.getLoc(), arrTy).getResult());
    }
    if (!funcs.empty() && !module.lookupSymbol("parallax_dynamic_smem")) {
      OpBuilder b(module.getBodyRegion());
      auto arrTy = LLVM::LLVMArrayType::get(b.getI8Type(), 0);
      auto global = LLVM::GlobalOp::create(
          b, module.getLoc(), arrTy, /*isConstant=*/false, LLVM::Linkage::External,
          "parallax_dynamic_smem", Attribute(), /*alignment=*/16, /*addrSpace=*/3);
      (void)global;
    }
    for (func::FuncOp f : funcs) {
      FailureOr<ProgramInfo> info = analyze(f);
      if (succeeded(info)) {
        info->kvGroups = kvGroups;
        info->splitKv = splitKv;
        info->bulkCopy = bulkCopy && target->computeCapability >= 90;
      }
      if (failed(info) || failed(checkShapeRules(*info, info->loop)) ||
          failed(checkResources(*info, *target, numStages, info->loop)))
        return signalPassFailure();
      SmallVector<Attribute> grid;
      for (int64_t k = info->forall.getRank() - 1; k >= 0; --k) {
        OpFoldResult ub = info->forall.getMixedUpperBound()[k];
        std::string s;
        if (auto a = dyn_cast<Attribute>(ub))
          s = std::to_string(cast<IntegerAttr>(a).getInt());
        else
          s = gridFormula(cast<Value>(ub), f);
        grid.push_back(StringAttr::get(f.getContext(), s));
      }
      while (grid.size() < 3)
        grid.push_back(StringAttr::get(f.getContext(), "1"));
      if (splitKv)
        grid[0] = StringAttr::get(
            f.getContext(), cast<StringAttr>(grid[0]).str() + "*num_splits");
      KernelBuilder kb(f, *info, *target, numStages, minCtasPerSm, tracePhases);
      FailureOr<LLVM::LLVMFuncOp> k = kb.build();
      if (failed(k))
        return signalPassFailure();
      (*k)->setAttr("parallax.grid", ArrayAttr::get(f.getContext(), grid));
      (*k)->setAttr("parallax.chip", StringAttr::get(f.getContext(), target->chip));
      f.erase();
    }
  }
};

struct CheckResourcesPass
    : public parallax::impl::ParallaxCheckResourcesBase<CheckResourcesPass> {
  using Base::Base;
  void runOnOperation() override {
    const TargetInfo *target = lookupTarget(chip);
    if (!target) {
      getOperation().emitError() << "unsupported chip '" << chip
                                 << "': supported are " << supportedChipsList();
      return signalPassFailure();
    }
    WalkResult r = getOperation().walk([&](func::FuncOp f) {
      bool hasProgram = false;
      f.walk([&](scf::ForallOp) { hasProgram = true; });
      if (!hasProgram)
        return WalkResult::advance();
      FailureOr<ProgramInfo> info = analyze(f);
      if (succeeded(info)) {
        info->kvGroups = kvGroups;
        info->splitKv = splitKv;
        info->bulkCopy = bulkCopy && target->computeCapability >= 90;
      }
      if (failed(info) || failed(checkShapeRules(*info, info->loop)) ||
          failed(checkResources(*info, *target, numStages, info->loop)))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
