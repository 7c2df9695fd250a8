//===- KernelBuilder.h - lowering of one fused program to a kernel -*- C++ -*-===//
//
// One CTA runs one program of the fused tiled `scf.forall`. Tile values live
// in registers in the layout of the m16n8k16 accumulator (Acc), as packed
// A-operand registers (AOperand), as row statistics replicated across the
// four threads of a row (RowVec), or as K/V tiles in shared memory
// (SmemTile). Each warp owns 16 MMA rows; which tile rows those are is the
// layout (see Layout). Scalar index arithmetic of the program is cloned as is.
//
// Private to lib/Conversion/ParallaxToNVVM: ConvertParallaxToNVVM.cpp (the
// passes and the program analysis), KernelBuilder.cpp (ops, the key loop,
// stores, the kernel) and MergePartials.cpp (warp-group and split-KV merges,
// phase traces).
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_CONVERSION_PARALLAXTONVVM_KERNELBUILDER_H
#define PARALLAX_CONVERSION_PARALLAXTONVVM_KERNELBUILDER_H

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

#include <functional>
#include <limits>
#include <variant>

namespace mlir::parallax::nvvm_lowering {

//===----------------------------------------------------------------------===//
// Program analysis shared by the resource check and the lowering
//===----------------------------------------------------------------------===//

/// Which tile rows a warp's 16 MMA rows hold (see the register fragments).
enum class Layout { R16, R8, Stacked8 };

inline int halvesOf(Layout l) { return l == Layout::R8 ? 1 : 2; }

/// The shape facts of one fused tiled program.
struct ProgramInfo {
  scf::ForallOp forall;
  scf::ForOp loop;
  bool parallax = false; ///< Q and R stacked: 8 query rows per warp
  int64_t rows = 0;      ///< query-tile rows (all packed heads)
  int64_t headDim = 0, blockN = 0, warps = 0;
  int64_t kvGroups = 1; ///< warp groups that split the key tiles of a program
  bool splitKv = false; ///< CTAs split the key tiles too (num_splits at launch)
  /// Split-KV on sm_90+: launched as clusters of num_splits CTAs, the splits
  /// merge through distributed shared memory instead of the workspace.
  bool clusterMerge = false;
  /// K/V rows arrive by cp.async.bulk (the TMA engine, sm_90+) and complete
  /// on one mbarrier per stage, instead of 16-byte cp.async per thread.
  bool bulkCopy = false;
  /// sm_90+: each K/V tile by tensor-map copies of 128-byte column blocks
  /// (kTensorMapBlockBytes), on one mbarrier per stage.
  bool tmaCopy = false;
  Type elt;              ///< bf16 or f16
  SmallVector<TileLoadOp> loopLoads; ///< K/V tiles, in order
  /// f32 registers per thread of the loop-carried (m, d, O) tiles: what the
  /// groups' merge passes through shared memory.
  int64_t carriedRegs = 0;
  /// Of those, the row statistics (m, d: one per half).
  int64_t carriedRowRegs = 0;
  /// The width of every loop-carried accumulator tile (-1: they differ).
  int64_t carriedCols = 0;
  /// Registers of one group's slice after the groups' merge (sliceForGroups'
  /// rule: one width, whole 8-column blocks per group).
  int64_t sliceRegs() const {
    bool sliced = kvGroups > 1 && carriedCols > 0 && (carriedCols / 8) % kvGroups == 0;
    return sliced ? carriedRowRegs + (carriedRegs - carriedRowRegs) / kvGroups : carriedRegs;
  }

  /// The layout of a tile with `rows` rows: Parallax keeps 8 query rows per
  /// warp (R8) and stacks [top; bottom] parts (Stacked8); softmax uses R16.
  Layout layoutForRows(int64_t rows) const {
    if (parallax)
      return rows == 8 * warps ? Layout::R8 : Layout::Stacked8;
    return Layout::R16;
  }

  /// Bulk and tensor-map copies complete on mbarriers, not cp.async groups.
  bool usesMbarriers() const { return bulkCopy || tmaCopy; }
  int64_t eltBytes() const { return elt.getIntOrFloatBitWidth() / 8; }
  /// Staged K/V rows (stagedRowsSwizzled): swizzled, every 128-byte
  /// shared-memory wavefront of a copy is one whole 128-byte global segment;
  /// padded rows split 32-byte sectors across wavefronts, which made the L2
  /// serve 1.5x the sectors read (ncu, H200).
  /// (Tensor-map tiles always are: checkTensorMapCopies takes only rows of
  /// whole 128-byte blocks.)
  bool swizzled() const {
    return tmaCopy || stagedRowsSwizzled(headDim * eltBytes(), bulkCopy);
  }
  int64_t smemStride() const { return stagedRowStride(headDim * eltBytes(), bulkCopy); }
  int64_t tileBytes() const { return blockN * smemStride(); }
  /// Staging for the K/V tiles; the groups' partial (m, d, O) registers pass
  /// through the same memory after the loop.
  int64_t stagingBytes(int64_t stages) const {
    // (A cluster merge leaves the CTA's partial in the first slot.)
    int64_t slots = std::max<int64_t>(kvGroups > 1 ? kvGroups : 0, clusterMerge ? 1 : 0);
    return llvm::alignTo(std::max(kvStagingBytes(stages), slots * partialBytes()), 8);
  }
  /// The K/V tiles alone: every group its own stages.
  int64_t kvStagingBytes(int64_t stages) const {
    return kvGroups * stages * static_cast<int64_t>(loopLoads.size()) * tileBytes();
  }
  /// One warp group's partial (m, d, O) registers, every thread's, as a
  /// merge slot, a workspace slot and an inbox slot lay them out.
  int64_t partialBytes() const { return carriedRegs * 32 * warps * 4; }
  /// Then one mbarrier per group and stage (bulk and tensor-map copies),
  /// never overlapped.
  int64_t sharedBytes(int64_t stages) const {
    return stagingBytes(stages) + (usesMbarriers() ? kvGroups * stages * 8 : 0);
  }
  /// Registers per thread held across the loop and in one iteration.
  int64_t registerEstimate() const {
    int64_t aRegs = headDim / 16 * 4;  // Q (and R) A operand, packed
    int64_t sRegs = blockN / 8 * 4;    // S accumulators (f32)
    int64_t oRegs = headDim / 8 * 4;   // O (or [O1;O2]) accumulators
    return aRegs + sRegs + oRegs + 40; // row stats, addresses, temporaries
  }
};


/// Facts of the fused program in `func`, or an error at the offending op.
FailureOr<ProgramInfo> analyze(func::FuncOp func);

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

/// Where split sp's partial starts: base(sp0) + k * stride for sp = sp0 + k,
/// so a merge step's loads share one address and take constant offsets
/// (the merge loops' index is opaque to LLVM's loop strength reduction,
/// which otherwise did this); with stride 0, base(sp) (a cluster rank's
/// shared memory is no fixed distance away).
struct SplitAddress {
  llvm::function_ref<Value(Value)> base;
  int64_t stride = 0;
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
inline int64_t maxCarriedIndex(scf::YieldOp yield) {
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
  /// ex2.approx.ftz: one MUFU op. llvm.exp2 becomes the non-ftz form, which
  /// ptxas wraps in a range test and two multiplies for denormal results
  /// (weights below 2^-126 of the row max, nothing a softmax sum can see).
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(b, loc, f32(),
                                         b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
                                         ValueRange{x})
        .getResult(0);
  }
  /// One instruction of inline PTX (`result` null: none). Used where LLVM 22
  /// has no NVVM op or intrinsic for it, or to hide a value from its passes.
  LLVM::InlineAsmOp inlinePtx(Type result, ValueRange operands, StringRef ptx,
                              StringRef constraints, bool sideEffects) {
    return LLVM::InlineAsmOp::create(
        b, loc, result ? TypeRange{result} : TypeRange{}, operands, b.getStringAttr(ptx),
        b.getStringAttr(constraints), sideEffects ? b.getUnitAttr() : UnitAttr(), UnitAttr(),
        LLVM::TailCallKindAttr::get(b.getContext(), LLVM::tailcallkind::TailCallKind::None),
        LLVM::AsmDialectAttr(), ArrayAttr());
  }
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
    if (storesOutput)
      cond = arith::AndIOp::create(b, loc, cond, storesOutput);
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
  /// Spins until the mbarrier at `bar` completes the phase of `parity`,
  /// acquiring at `scope`.
  void waitBarrierPhase(Value bar, Value parity, NVVM::MemScopeKind scope);
  void traceStore(int64_t slot, Value v);
  /// Split-KV: merges the program's splits, into its last CTA through the
  /// workspace or, in a cluster launch, each CTA its rows through
  /// distributed shared memory; sets storesOutput.
  LogicalResult mergeSplits(SmallVector<Value> &merged, const RegSlice &slice,
                            int64_t fullRegs, scf::YieldOp yield);
  /// Workspace, counter, last CTA merges; returns whether this CTA is last.
  Value mergeSplitsInWorkspace(SmallVector<Value> &merged, const RegSlice &slice,
                               int64_t fullRegs, int64_t maxIdx);
  /// Cluster of the program's splits: pushed into rank 0, which merges and
  /// stores every row (one row; whole partials of at most pushSlots
  /// splits), or each CTA merges and stores its rows through DSMEM; returns
  /// whether this lane stores its rows.
  Value mergeSplitsInCluster(SmallVector<Value> &merged, const RegSlice &slice,
                             int64_t maxIdx, int64_t fullRegs);
  /// ... the general form: each CTA reads its rows of every partial.
  Value pullFromCluster(SmallVector<Value> &merged, const RegSlice &slice, int64_t maxIdx);
  /// How a partial's f32 reaches its slot: a plain store (null), or pushed
  /// into cluster rank 0 (pushToLeader).
  using StoreF32 = llvm::function_ref<void(Value at, Value v)>;
  /// This CTA's partial slice at `own` (a workspace or shared-memory slot).
  void storePartial(ArrayRef<Value> merged, const RegSlice &slice, Value own,
                    Value sliceOffset, StoreF32 store = {});
  /// The values of thenFn under `cond`, else elseFn's, as one scf.if of
  /// `types`; a null cond (the choice does not exist in this kernel) emits
  /// only elseFn, in place.
  SmallVector<Value> ifElse(Value cond, TypeRange types,
                            llvm::function_ref<SmallVector<Value>()> thenFn,
                            llvm::function_ref<SmallVector<Value>()> elseFn);
  /// Whether the query tile holds one valid row (i1), when the kernel has a
  /// one-row form of the split merges (one warp per group); else null.
  Value oneRowTile();
  /// The rows' extract_slice of a kernel with a one-row form, else null.
  tensor::ExtractSliceOp oneRowSlice();
  /// Cluster launch, one valid row: lanes 0-3 of each group push their
  /// slice registers into cluster rank 0's inbox (remote stores, then a
  /// release arrive on its mbarrier); rank 0 waits there and merges them.
  /// Returns the merged registers (rank 0's).
  SmallVector<Value> pushOneRowToLeader(ArrayRef<Value> merged, const RegSlice &slice,
                                        int64_t maxIdx);
  /// Cluster launch of at most pushSlots splits, several valid rows: every
  /// thread pushes its partial (storePartial's layout) into rank 0's inbox
  /// slot with st.async; rank 0 waits on its mbarrier and merges all rows.
  /// Returns the merged registers (rank 0's).
  SmallVector<Value> pushPartialToLeader(ArrayRef<Value> merged, const RegSlice &slice,
                                         int64_t maxIdx, int64_t fullRegs);
  /// A group's slice of the accumulators in a partial slot (storePartial's
  /// layout): groupStride registers of every thread per group further.
  Value sliceOffsetOf(const RegSlice &slice);
  /// The push inbox: this CTA's own (`local`), cluster rank 0's (`remote`)
  /// and rank 0's inbox mbarrier as st.async takes it (`barrier`, i64).
  struct LeaderInbox {
    Value local, remote, barrier;
  };
  LeaderInbox leaderInbox();
  /// One f32 stored into rank 0's shared memory at `at` (a cluster
  /// address), completing its bytes on rank 0's inbox mbarrier (`barrier`,
  /// its cluster address as i64).
  void pushToLeader(Value at, Value v, Value barrier);
  /// Rank 0 waits until its inbox has numSplits x bytesPerSplit pushed
  /// bytes; returns whether this CTA is rank 0.
  Value waitForPushes(int64_t bytesPerSplit);
  /// Rank 0's inbox mbarrier, initialised by every CTA at entry and made
  /// visible by a relaxed cluster arrive (waited for before the pushes).
  void initInbox(int64_t offset);
  /// One valid row: lanes 0-3 of each group (the row's quad) write their
  /// slice registers to the CTA's slot as [group][register][lane].
  void storeOneRowPartial(ArrayRef<Value> merged, const RegSlice &slice, Value slot,
                          StoreF32 store = {});
  /// ... and the last CTA merges splits [0, to) of them with every lane:
  /// lane L takes registers L / 4 + 8k of quad lane L % 4, then shuffles
  /// the merged registers back to their lanes.
  SmallVector<Value> mergeOneRowSplits(const RegSlice &slice, int64_t maxIdx, Value to,
                                       SplitAddress slotOf, int64_t maxBatch = 16);
  /// Merges splits [0, to) whose partials have the registers of `carried`,
  /// up to maxBatch a step (as the registers allow); loadSplit(p) loads the
  /// partial at p, split sp's at `at`. Lanes where laneLoads (if given) is
  /// false merge nothing.
  SmallVector<Value> mergeSplitSteps(ArrayRef<Carried> carried, int64_t maxIdx, Value to,
                                     int64_t maxBatch, SplitAddress at,
                                     llvm::function_ref<SmallVector<Value>(Value)> loadSplit,
                                     Value laneLoads = {});
  /// Merges splits [0, to), the partial of split sp at splitBase.
  SmallVector<Value> mergeSplitLoop(const RegSlice &slice, int64_t maxIdx, Value to,
                                    Value sliceOffset, SplitAddress splitBase,
                                    Value laneLoads = {});
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerLoop(scf::ForOp loop);
  LogicalResult lowerStore(tensor::ParallelInsertSliceOp op);

  void loadAOperand(TileLoadOp op);
  /// Copies one K/V tile into shared memory with 16-byte cp.async; masked:
  /// rows past the sequence are zero-filled (otherwise every row must be in
  /// it: tileInSequence). Copies that do not cover whole rows per pass are
  /// always masked.
  void copyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst, bool masked);
  bool copiesWholeRows(TileLoadOp op) const;
  /// Whether every row of the tile lies inside the sequence.
  Value tileInSequence(TileLoadOp op, Value oldIv, Value iv);
  /// tileInSequence of every K/V load of the loop (oldIv null: the current
  /// iteration's).
  Value loopTilesInSequence(Value oldIv, Value iv);
  /// Orders this thread's generic shared-memory writes (zeroed rows) before
  /// later async-proxy copies (cp.async.bulk, tensor-map copies) into them.
  void fenceSharedForAsyncProxy();
  Value bulkCopyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst,
                           Value bar);
  /// Tensor-map copies of the tile into `dst`, one per 128-byte column block
  /// (the caller's leader thread issues them). They deliver whole boxes,
  /// p.tileBytes(): rows past the tensor's end arrive as zeros and count.
  void tmaCopyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst, Value bar);
  /// In the loop body: rows of the current tile at `dst` past the sequence
  /// (inside the cache, so stale: tensor-map boxes bring whole rows) are
  /// overwritten with zeros, as cp.async's zero-fill gives; masked keys must
  /// meet finite values in P V. The caller fences them from the async proxy.
  void zeroRowsPastSequence(TileLoadOp op, Value dst);
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
  /// Tensor-map tiles are column blocks of 8 chunks ([block][row][128 B]):
  /// the block comes from chunkConst (every caller's laneChunk is 0 or 1),
  /// the swizzle is the same.
  Value stagedOffset(Value laneRow, int64_t rowConst, Value laneChunk,
                     int64_t chunkConst) {
    assert(rowConst % 8 == 0 && "row constant must keep row % 8");
    Value chunk = laneChunk;
    int64_t rowStride = p.tmaCopy ? kTensorMapBlockBytes : p.smemStride();
    int64_t chunksPerBlock = kTensorMapBlockBytes / 16;
    int64_t constBytes =
        p.tmaCopy ? rowConst * rowStride + (chunkConst % chunksPerBlock) * 16 +
                        chunkConst / chunksPerBlock * p.blockN * kTensorMapBlockBytes
                  : rowConst * rowStride + chunkConst * 16;
    if (p.swizzled()) {
      if (chunkConst & 7)
        chunk = arith::XOrIOp::create(b, loc, chunk, c64(chunkConst & 7));
      chunk = arith::XOrIOp::create(
          b, loc, chunk, arith::AndIOp::create(b, loc, laneRow, c64(7)));
      constBytes -= (chunkConst & 7) * 16;
    }
    return addc(add(mulc(laneRow, rowStride), mulc(chunk, 16)), constBytes);
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
  DenseMap<Value, Value> tensorMapOf; // K/V source -> its CUtensorMap (param space, generic ptr)
  DenseMap<std::pair<Value, int64_t>, Value> dynDims;  // (arg, dim) -> i64
  Value outPtr, smem, lane, warp, g, c;
  Value group; ///< which warp group (key split) this thread belongs to
  // Split-KV across CTAs: the workspace and counters parameters, the split
  // count (a launch parameter), this CTA's split and query tile, and whether
  // this thread stores its output registers (the program's last CTA to
  // finish, or in a cluster merge the CTA whose rows they are).
  Value workspace, counters, numSplits, split, qTile, storesOutput;
  /// Cluster launch (sm_90+): the splits of a program are one cluster and
  /// merge through distributed shared memory (null: never).
  Value clusterMerged;
  /// Kernels with a push cluster merge: rank 0's inbox mbarrier (this
  /// CTA's copy, initialised at entry) and the inbox's offset in shared
  /// memory (null / 0: none).
  Value inboxBarrier;
  int64_t inboxOffset = 0;
  /// Whole-partial slots of the inbox (several rows pushed; 0: the inbox,
  /// if any, is the one-row merge's), and the bytes of one.
  int64_t pushSlots = 0, pushSlotBytes = 0;
  /// First column of this group's accumulator slice (null: not sliced).
  Value sliceColumn;
  IRMapping scalars;
  DenseMap<Value, Frag> frags;
  DenseMap<Operation *, unsigned> loadSlot;
  Operation *entryMarker = nullptr, *loopMarker = nullptr;
};


} // namespace mlir::parallax::nvvm_lowering

#endif // PARALLAX_CONVERSION_PARALLAXTONVVM_KERNELBUILDER_H
