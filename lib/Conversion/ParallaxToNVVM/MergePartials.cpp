//===- MergePartials.cpp - warp-group and split-KV merges, phase traces ---===//
//
// After the key loop the warp groups of a CTA merge their partial (m, d, O)
// through shared memory, each group its slice of the accumulators' columns;
// split-KV CTAs pass their slices through a workspace to the program's last
// CTA, which merges them, or, launched as one thread-block cluster, push
// them into rank 0's shared memory (one row, or in the wide kernels whole
// partials of at most 4 splits) or merge them through distributed shared
// memory, each CTA its share of the rows.
// Phase traces (trace-phases) are recorded here too.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilder.h"

namespace mlir::parallax::nvvm_lowering {

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

void KernelBuilder::storePartial(ArrayRef<Value> merged, const RegSlice &sl,
                                 Value own, Value sliceOffset, StoreF32 store) {
  // Row statistics are the same in every group: group 0 writes them. The
  // accumulator slices: each group its own (all of them in group 0 if the
  // tiles are not sliced). Full register r sits at own + r * tpg * 4; a
  // group's slice starts sliceOffset further.
  int64_t tpg = 32 * p.warps;
  Value isGroup0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, group, c64(0));
  Value ownSlice = gep(own, sliceOffset);
  for (bool sliced : {false, true}) {
    bool everyGroup = sliced && sl.groupStride;
    auto ifOp = scf::IfOp::create(
        b, loc, everyGroup ? arith::ConstantIntOp::create(b, loc, 1, 1).getResult() : isGroup0,
        false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    for (auto [k, full] : llvm::enumerate(sl.fullIndex))
      if (sl.byGroup[k] == sliced) {
        Value at = gep(sliced ? ownSlice : own, c64(full * tpg * 4));
        if (store)
          store(at, merged[k]);
        else
          LLVM::StoreOp::create(b, loc, merged[k], at, 4);
      }
  }
}

SmallVector<Value> KernelBuilder::mergeSplitSteps(
    ArrayRef<Carried> carried, int64_t maxIdx, Value to, int64_t maxBatch, SplitAddress at,
    llvm::function_ref<SmallVector<Value>(Value)> loadSplit, Value laneLoads) {
  // Splits [0, to) in steps of `batch`: their loads are all in flight at once
  // (one round trip per step), then one rescale folds them in. CTAs with
  // to = 0 skip the loop. A split past `to`, or on a lane where laneLoads
  // (if given) is false, is an empty partial (m = -inf, zeros). (Unconditional
  // loads from split 0 and a select were slower on the H200: 1.7 against
  // 1.1 us for 8 splits from L2, and in a cluster every CTA's idle lanes then
  // read rank 0's shared memory.)
  int64_t regs = 0;
  for (const Carried &cd : carried)
    regs += cd.count;
  const Carried &mc = carried[maxIdx];
  Value negInf = cf(-std::numeric_limits<double>::infinity());
  auto emptyPartial = [&] {
    SmallVector<Value> e;
    for (int64_t k = 0; k < regs; ++k)
      e.push_back(k >= static_cast<int64_t>(mc.first) &&
                          k < static_cast<int64_t>(mc.first + mc.count)
                      ? negInf
                      : cf(0));
    return e;
  };
  // Registers: the running partial, `batch` loaded ones, addresses.
  int64_t regLimit = target.maxRegistersPerThread;
  if (minCtasPerSm > 0)
    regLimit = std::min<int64_t>(regLimit, 65536 / (32 * p.warps * p.kvGroups * minCtasPerSm));
  int64_t batch = std::clamp<int64_t>((regLimit - 48 - 2 * regs) / regs, 1, maxBatch);
  auto loop = scf::ForOp::create(b, loc, c64(0), to, c64(batch), emptyPartial());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  // The split index through an opaque copy (a PTX mov, which ptxas folds):
  // SCEV cannot see it as the loop's induction variable, so LLVM's loop
  // strength reduction leaves this loop alone. On these unrolled loads it
  // gained nothing and was most of codegen (D=256 decode: 0.34 of 0.51 s);
  // the key loop keeps it.
  Value sp0 = inlinePtx(i64(), loop.getInductionVar(), "mov.b64 $0, $1;", "=l,l",
                        /*sideEffects=*/false)
                  .getResult(0);
  SmallVector<SmallVector<Value>> parts{SmallVector<Value>(loop.getRegionIterArgs())};
  // One address for the step's splits, constant offsets from it (computed
  // before the branches, which LLVM does not hoist common code out of).
  Value stepBase = at.stride ? at.base(sp0) : Value();
  for (int64_t k = 0; k < batch; ++k) {
    Value sp = addc(sp0, k);
    auto load = [&] {
      return loadSplit(at.stride ? gep(stepBase, c64(k * at.stride)) : at.base(sp));
    };
    // The step's first split is below `to` (the loop's own test, which the
    // opaque copy hides from LLVM).
    Value cond = k ? lt(sp, to) : Value();
    if (laneLoads)
      cond = cond ? arith::AndIOp::create(b, loc, cond, laneLoads) : laneLoads;
    if (!cond) {
      parts.push_back(load());
      continue;
    }
    SmallVector<Type> types(regs, f32());
    auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, load());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, emptyPartial());
    parts.push_back(SmallVector<Value>(ifOp.getResults()));
  }
  scf::YieldOp::create(b, loc, mergePartials(parts, carried, maxIdx));
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> KernelBuilder::mergeSplitLoop(
    const RegSlice &sl, int64_t maxIdx, Value to, Value sliceOffset,
    SplitAddress splitBase, Value laneLoads) {
  // Every group merges its own slice, 8 splits a step.
  int64_t tpg = 32 * p.warps;
  return mergeSplitSteps(
      sl.carried, maxIdx, to, 8, splitBase,
      [&](Value base) {
        Value slice = gep(base, sliceOffset);
        SmallVector<Value> xs;
        for (auto [k, full] : llvm::enumerate(sl.fullIndex))
          xs.push_back(LLVM::LoadOp::create(
              b, loc, f32(), gep(sl.byGroup[k] ? slice : base, c64(full * tpg * 4)), 4));
        return xs;
      },
      laneLoads);
}

tensor::ExtractSliceOp KernelBuilder::oneRowSlice() {
  // Decode kernels (one warp per group); the rows the output stores are the
  // epilogue's one extract_slice.
  if (p.warps != 1)
    return {};
  tensor::ExtractSliceOp slice;
  int found = 0;
  func.walk([&](tensor::ExtractSliceOp op) {
    slice = op;
    ++found;
  });
  if (found != 1 || !slice.getSource().getDefiningOp<tensor::ExpandShapeOp>())
    return {};
  // [heads, rows, D] per tile: the rows of each of the tile's query heads
  // (GQA packing). One row means one head and one row.
  auto ex = slice.getSource().getDefiningOp<tensor::ExpandShapeOp>();
  auto shape = cast<RankedTensorType>(ex.getResult().getType());
  bool packed = ex.getReassociationIndices()[0].size() == 1;
  if (packed || shape.getRank() != 3 || shape.getDimSize(0) != 1)
    return {};
  return slice;
}

Value KernelBuilder::oneRowTile() {
  tensor::ExtractSliceOp slice = oneRowSlice();
  if (!slice)
    return {};
  OpFoldResult rows = slice.getMixedSizes()[1];
  Value n;
  if (auto v = dyn_cast<Value>(rows))
    n = toI64(scalar(v));
  else
    n = c64(cast<IntegerAttr>(cast<Attribute>(rows)).getInt());
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, n, c64(1));
}

void KernelBuilder::storeOneRowPartial(ArrayRef<Value> merged, const RegSlice &sl,
                                       Value slot, StoreF32 store) {
  // Row 0 lives in lanes 0-3 (g = 0); the other lanes hold padding rows.
  int64_t regs = sl.fullIndex.size();
  Value quad = lt(lane, c64(4));
  auto ifOp = scf::IfOp::create(b, loc, quad, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value base = gep(slot, mulc(add(mulc(group, regs * 4), lane), 4));
  for (int64_t k = 0; k < regs; ++k) {
    Value at = gep(base, c64(k * 16));
    if (store)
      store(at, merged[k]);
    else
      LLVM::StoreOp::create(b, loc, merged[k], at, 4);
  }
}

SmallVector<Value> KernelBuilder::mergeOneRowSplits(
    const RegSlice &sl, int64_t maxIdx, Value to,
    SplitAddress slotOf, int64_t maxBatch) {
  // The full-layout merge reads every lane's registers, 15 of 16 rows of
  // them padding, one load instruction per register and split (19 per split
  // for the G=1 decode kernel, in steps of 8 splits). Here a split costs
  // ceil(regs / 8) coalesced 128-byte loads and one broadcast of its max.
  int64_t regs = sl.fullIndex.size(), perLane = (regs + 7) / 8;
  const Carried &mc = sl.carried[maxIdx];
  Value quadLane = arith::RemSIOp::create(b, loc, lane, c64(4));
  Value jBase = arith::DivSIOp::create(b, loc, lane, c64(4));
  // Register j of quad lane l at group block + (j * 4 + l) * 4; the max of
  // row 0 (the same in lanes 0-3) from lane 0.
  Value groupOffset = mulc(group, regs * 16);
  SmallVector<Value> laneOffset;
  for (int64_t k = 0; k < perLane; ++k) {
    // Lanes past the last register read its copy (discarded below).
    Value j = arith::MinSIOp::create(b, loc, addc(jBase, 8 * k), c64(regs - 1));
    laneOffset.push_back(mulc(add(mulc(j, 4), quadLane), 4));
  }
  // Per split: [max, x_0 .. x_{perLane-1}], merged like one row tile.
  SmallVector<Carried> carried{{true, Layout::R8, 0, 0, 1},
                               {false, Layout::R8, 8, 1, static_cast<size_t>(perLane)}};
  SmallVector<Value> merged = mergeSplitSteps(carried, 0, to, maxBatch, slotOf, [&](Value slot) {
    Value blk = gep(slot, groupOffset);
    SmallVector<Value> xs{
        LLVM::LoadOp::create(b, loc, f32(), gep(blk, c64(mc.first * 16)), 4)};
    for (int64_t k = 0; k < perLane; ++k)
      xs.push_back(LLVM::LoadOp::create(b, loc, f32(), gep(blk, laneOffset[k]), 4));
    return xs;
  });
  // Lane L's value k is register jBase + 8k of quad lane L % 4; the max
  // registers take the merged max. Lane l gets register j from lane
  // 4 * (j % 8) + l % 4.
  Value maxAll = merged[0];
  SmallVector<Value> vals;
  for (int64_t k = 0; k < perLane; ++k) {
    Value j = addc(jBase, 8 * k);
    Value isMax = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, j, c64(mc.first)),
        lt(j, c64(mc.first + mc.count)));
    vals.push_back(sel(isMax, maxAll, merged[1 + k]));
  }
  SmallVector<Value> out;
  for (int64_t j = 0; j < regs; ++j) {
    Value src = arith::TruncIOp::create(b, loc, i32(), addc(quadLane, 4 * (j % 8)));
    out.push_back(NVVM::ShflOp::create(b, loc, f32(), c32(-1), vals[j / 8], src,
                                       c32(0x1f), NVVM::ShflKind::idx, UnitAttr()));
  }
  return out;
}

Value KernelBuilder::mergeSplitsInWorkspace(SmallVector<Value> &merged,
                                            const RegSlice &sl, int64_t fullRegs,
                                            int64_t maxIdx) {
  // Every CTA of a program writes its partial registers to the workspace; the
  // last one to arrive (a per-program counter) merges them and stores, then
  // resets the counter so the next launch (or graph replay) starts at zero.
  int64_t tpg = 32 * p.warps;
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
  Value sliceOffset = sliceOffsetOf(sl);
  // The program's and the thread's terms first (loop-invariant in the merge,
  // hoisted by LICM), the split's as its own multiple: no per-split multiply
  // in the merge's loads without LLVM's loop strength reduction.
  int64_t splitBytes = fullRegs * tpg * 4;
  Value threadBase =
      gep(workspace, mulc(add(mulc(mul(prog, numSplits), fullRegs * tpg), tidInGroup), 4));
  auto splitBase = [&](Value sp) { return gep(threadBase, mulc(sp, splitBytes)); };
  auto slotOf = [&](Value sp) {
    return gep(workspace, mulc(add(mul(prog, numSplits), sp), splitBytes));
  };
  // A tile of one valid row (one query per KV head and G = 1: decode) passes
  // only that row's registers.
  Value oneRow = oneRowTile();
  if (oneRow && sl.fullIndex.size() * 16 * p.kvGroups > static_cast<size_t>(fullRegs * tpg * 4))
    oneRow = {};
  ifElse(
      oneRow, {},
      [&] {
        storeOneRowPartial(merged, sl, slotOf(split));
        return SmallVector<Value>();
      },
      [&] {
        storePartial(merged, sl, splitBase(split), sliceOffset);
        return SmallVector<Value>();
      });
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
  Value isLast = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, anyLast, c32(0));
  tracePoint(TracePoint::LastKnown);
  // Only the last CTA merges (the others' loops run zero times). Thread 0's
  // acquire fence and the OR barrier order these plain loads after the other
  // CTAs' stores.
  Value to = sel(isLast, numSplits, c64(0));
  merged = ifElse(
      oneRow, SmallVector<Type>(merged.size(), f32()),
      [&] { return mergeOneRowSplits(sl, maxIdx, to, {slotOf, splitBytes}); },
      [&] { return mergeSplitLoop(sl, maxIdx, to, sliceOffset, {splitBase, splitBytes}); });
  tracePoint(TracePoint::SplitsMerged);
  return isLast;
}

Value KernelBuilder::mergeSplitsInCluster(SmallVector<Value> &merged,
                                          const RegSlice &sl, int64_t maxIdx,
                                          int64_t fullRegs) {
  // One valid row, or a cluster of at most pushSlots splits: every CTA
  // pushes its partial into rank 0, which merges it alone. Otherwise every
  // CTA reads its share of the rows of all partials.
  Value push;
  if (inboxBarrier) {
    // Every CTA's inbox barrier is initialised (the phase begun at entry).
    NVVM::ClusterWaitOp::create(b, loc, b.getUnitAttr());
    if (pushSlots)
      push = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, numSplits,
                                   c64(pushSlots));
    else
      push = arith::AndIOp::create(
          b, loc, oneRowTile(),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, numSplits,
                                c64(kMaxPortableClusterSize)));
  }
  SmallVector<Type> types(merged.size(), f32());
  types.push_back(b.getI1Type());
  SmallVector<Value> results = ifElse(
      push, types,
      [&] {
        SmallVector<Value> regs = pushSlots
                                      ? pushPartialToLeader(merged, sl, maxIdx, fullRegs)
                                      : pushOneRowToLeader(merged, sl, maxIdx);
        regs.push_back(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, split, c64(0)));
        return regs;
      },
      [&] {
        SmallVector<Value> regs(merged);
        Value owns = pullFromCluster(regs, sl, maxIdx);
        regs.push_back(owns);
        return regs;
      });
  Value stores = results.pop_back_val();
  merged = results;
  return stores;
}

Value KernelBuilder::sliceOffsetOf(const RegSlice &sl) {
  return sl.groupStride ? mulc(group, sl.groupStride * 32 * p.warps * 4) : c64(0);
}

KernelBuilder::LeaderInbox KernelBuilder::leaderInbox() {
  auto ptrCluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  Value local = gep(smem, c64(inboxOffset));
  Value remote = NVVM::MapaOp::create(b, loc, ptrCluster, local, c32(0));
  Value barrier = NVVM::MapaOp::create(b, loc, ptrCluster, inboxBarrier, c32(0));
  return {local, remote, LLVM::PtrToIntOp::create(b, loc, i64(), barrier)};
}

void KernelBuilder::pushToLeader(Value at, Value v, Value barrier) {
  // (No NVVM op or intrinsic for st.async in LLVM 22: one instruction of
  // inline PTX.)
  inlinePtx(Type(), ValueRange{LLVM::PtrToIntOp::create(b, loc, i64(), at), v, barrier},
            "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [$0], $1, [$2];",
            "l,f,l", /*sideEffects=*/true);
}

Value KernelBuilder::waitForPushes(int64_t bytesPerSplit) {
  Value leader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, split, c64(0));
  auto wait = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(wait.thenBlock());
  // Thread 0's arrival expects every split's bytes; pushes that landed
  // before it made the transaction count negative for a while.
  auto expect = scf::IfOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                            add(mulc(group, 32 * p.warps), add(mulc(warp, 32), lane)), c64(0)),
      /*withElse=*/false);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(expect.thenBlock());
    NVVM::MBarrierArriveExpectTxOp::create(
        b, loc, Type(), inboxBarrier,
        arith::TruncIOp::create(b, loc, i32(), mulc(numSplits, bytesPerSplit)),
        NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA),
        b.getBoolAttr(false), Value());
  }
  waitBarrierPhase(inboxBarrier, c32(0), NVVM::MemScopeKind::CLUSTER);
  return leader;
}

SmallVector<Value> KernelBuilder::pushOneRowToLeader(ArrayRef<Value> merged,
                                                     const RegSlice &sl, int64_t maxIdx) {
  // Rank 0's inbox holds kMaxPortableClusterSize slots of [group][register]
  // [lane] (the workspace's one-row layout). The pushes are st.async: each
  // store completes its bytes on rank 0's barrier when it lands, so the
  // pushing CTA waits for nothing and rank 0 for one one-way trip after
  // the last partial (no release round trip, no cluster barrier).
  int64_t regs = sl.fullIndex.size(), splitBytes = p.kvGroups * regs * 16;
  assert(regs == p.sliceRegs() && "inbox sized for another slice");
  kernel->setAttr("parallax.shared_bytes",
                  b.getI64IntegerAttr(inboxOffset - 16 + pushInboxBytes(p.kvGroups, regs)));
  // The workspace's one-row slot layout, each store an st.async.
  LeaderInbox inbox = leaderInbox();
  storeOneRowPartial(merged, sl, gep(inbox.remote, mulc(split, splitBytes)),
                     [&](Value at, Value v) { pushToLeader(at, v, inbox.barrier); });
  tracePoint(TracePoint::PartialStored);
  Value leader = waitForPushes(splitBytes);
  tracePoint(TracePoint::Counted);
  tracePoint(TracePoint::LastKnown);
  SmallVector<Value> out = mergeOneRowSplits(
      sl, maxIdx, sel(leader, numSplits, c64(0)),
      {[&](Value sp) { return gep(inbox.local, mulc(sp, splitBytes)); }, splitBytes},
      kMaxPortableClusterSize);
  tracePoint(TracePoint::SplitsMerged);
  // (Every CTA waits for all arrivals at the kernel's end. Nothing to
  // release: rank 0 has every push, and no CTA reads another's memory.)
  NVVM::ClusterArriveRelaxedOp::create(b, loc, b.getUnitAttr());
  return out;
}

SmallVector<Value> KernelBuilder::pushPartialToLeader(ArrayRef<Value> merged,
                                                      const RegSlice &sl, int64_t maxIdx,
                                                      int64_t fullRegs) {
  // Rank 0's inbox holds pushSlots slots of one partial each, written by
  // storePartial as it writes a workspace slot (register r of the thread at
  // tidInGroup in group 0's columns at r * tpg * 4 + tidInGroup * 4, a
  // group's slice sliceOffset further), each store an st.async. Every byte
  // of a slot is pushed once (row statistics by group 0, each slice by its
  // group), so rank 0 expects numSplits whole slots. As in pushOneRowToLeader, st.async completes on
  // rank 0's barrier: the pushing CTA waits for nothing, rank 0 for one
  // one-way trip after the last push, and no cluster barrier orders them.
  int64_t tpg = 32 * p.warps, slotBytes = fullRegs * tpg * 4;
  assert(slotBytes == pushSlotBytes && "checked by mergeSplits");
  Value tidInGroup = add(mulc(warp, 32), lane);
  Value sliceOffset = sliceOffsetOf(sl);
  LeaderInbox inbox = leaderInbox();
  storePartial(merged, sl, gep(inbox.remote, add(mulc(split, slotBytes), mulc(tidInGroup, 4))),
               sliceOffset, [&](Value at, Value v) { pushToLeader(at, v, inbox.barrier); });
  tracePoint(TracePoint::PartialStored);
  Value leader = waitForPushes(slotBytes);
  tracePoint(TracePoint::Counted);
  tracePoint(TracePoint::LastKnown);
  // Rank 0 merges every split's slot from its own shared memory, all lanes;
  // the other CTAs merge none (to = 0) and store nothing.
  Value ownLocal = gep(inbox.local, mulc(tidInGroup, 4));
  SmallVector<Value> out = mergeSplitLoop(
      sl, maxIdx, sel(leader, numSplits, c64(0)), sliceOffset,
      {[&](Value sp) { return gep(ownLocal, mulc(sp, slotBytes)); }, slotBytes});
  tracePoint(TracePoint::SplitsMerged);
  // (Every CTA waits for all arrivals at the kernel's end. Nothing to
  // release: rank 0 has every push, and no CTA reads another's memory.)
  NVVM::ClusterArriveRelaxedOp::create(b, loc, b.getUnitAttr());
  return out;
}

Value KernelBuilder::pullFromCluster(SmallVector<Value> &merged,
                                     const RegSlice &sl, int64_t maxIdx) {
  // The program's splits are one thread-block cluster (cluster rank =
  // split). Each CTA leaves its partial in its own shared memory, laid out
  // as a workspace slot. Then the CTAs share the merge by rows: CTA s reads
  // the rows r with r % 8 % num_splits == s (the lanes with g % num_splits
  // == s) of every CTA's partial through distributed shared memory (mapa),
  // merges and stores them, so no CTA waits on all the reads. (On the H200
  // the reads cost a round trip per split either way, about 160 ns: 2.0 us
  // for 8 splits at B=1, L=4096, in one CTA or shared.) No workspace, fence
  // or counter: two cluster barriers order it all.
  Value tidInGroup = add(mulc(warp, 32), lane);
  Value sliceOffset = sliceOffsetOf(sl);
  // The partial reuses the start of the staging memory: every group must be
  // done reading the groups' merge slots there.
  if (p.kvGroups > 1)
    NVVM::Barrier0Op::create(b, loc);
  Value own = gep(smem, mulc(tidInGroup, 4));
  storePartial(merged, sl, own, sliceOffset);
  tracePoint(TracePoint::PartialStored);
  // Arrive releases these stores to the cluster; wait acquires the others'.
  NVVM::ClusterArriveOp::create(b, loc, b.getUnitAttr());
  NVVM::ClusterWaitOp::create(b, loc, b.getUnitAttr());
  tracePoint(TracePoint::Counted);
  Value ownsRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         arith::RemSIOp::create(b, loc, g, numSplits), split);
  tracePoint(TracePoint::LastKnown);
  auto ptrCluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  merged = mergeSplitLoop(
      sl, maxIdx, numSplits, sliceOffset,
      {[&](Value sp) -> Value {
        return NVVM::MapaOp::create(b, loc, ptrCluster, own,
                                    arith::TruncIOp::create(b, loc, i32(), sp));
      }},
      ownsRows);
  // The CTA's reads are done once it arrives; every CTA waits for all
  // arrivals before it exits (its shared memory must outlive the others'
  // reads), at the kernel's end.
  NVVM::ClusterArriveOp::create(b, loc, b.getUnitAttr());
  tracePoint(TracePoint::SplitsMerged);
  return ownsRows;
}

LogicalResult KernelBuilder::mergeSplits(SmallVector<Value> &merged,
                                         const RegSlice &sl, int64_t fullRegs,
                                         scf::YieldOp yield) {
  int64_t maxIdx = maxCarriedIndex(yield);
  if (maxIdx < 0)
    return yield.emitError() << "cannot split keys: no running max";
  int64_t tpg = 32 * p.warps;
  if (pushSlots && fullRegs * tpg * 4 != pushSlotBytes)
    return yield.emitError() << "internal: the push inbox holds partials of "
                             << pushSlotBytes << " bytes, this one has " << fullRegs * tpg * 4;
  kernel->setAttr("parallax.workspace_bytes_per_cta",
                  b.getI64IntegerAttr(fullRegs * tpg * 4));
  // sm_90+: the launch decides. A cluster of exactly num_splits CTAs merges
  // through distributed shared memory; any other launch uses the workspace.
  if (clusterMerged)
    kernel->setAttr("parallax.cluster_merge", b.getUnitAttr());
  SmallVector<Type> types(merged.size(), f32());
  types.push_back(b.getI1Type());
  // Registers, then whether this thread stores them.
  auto with = [&](bool inCluster) {
    SmallVector<Value> regs(merged);
    Value last = inCluster ? mergeSplitsInCluster(regs, sl, maxIdx, fullRegs)
                           : mergeSplitsInWorkspace(regs, sl, fullRegs, maxIdx);
    regs.push_back(last);
    return regs;
  };
  SmallVector<Value> results =
      ifElse(clusterMerged, types, [&] { return with(true); }, [&] { return with(false); });
  storesOutput = results.pop_back_val();
  merged = results;
  return success();
}

SmallVector<Value> KernelBuilder::ifElse(Value cond, TypeRange types,
                                         llvm::function_ref<SmallVector<Value>()> thenFn,
                                         llvm::function_ref<SmallVector<Value>()> elseFn) {
  if (!cond)
    return elseFn();
  auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
  for (bool taken : {true, false}) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(taken ? ifOp.thenBlock() : ifOp.elseBlock());
    SmallVector<Value> vals = taken ? thenFn() : elseFn();
    // A branch without results ends in the scf.if's implicit yield.
    if (!types.empty())
      scf::YieldOp::create(b, loc, vals);
  }
  return SmallVector<Value>(ifOp.getResults());
}

} // namespace mlir::parallax::nvvm_lowering
