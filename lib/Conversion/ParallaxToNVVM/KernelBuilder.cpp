//===- KernelBuilder.cpp - fused tiled program -> NVVM kernel -------------===//
//
// The op-by-op lowering of one program (see KernelBuilder.h): fragments,
// A-operand and K/V tile loads, the MMA products, the pipelined key loop,
// the output store and the kernel's signature.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilder.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::parallax::nvvm_lowering {

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
      fenceSharedForAsyncProxy();
    }
  }
  // The bytes this tile delivers: its rows below the limit.
  Value valid = arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, limit, row0), c64(0)),
      c64(rows));
  return mulc(valid, rowBytes);
}

void KernelBuilder::tmaCopyTileToSmem(TileLoadOp op, Value oldIv, Value iv, Value dst,
                                      Value bar) {
  // The map is the source as a 3-D tensor {D, L, B x H} (the runtime encodes
  // it; paged caches: {D, page, pages x H}); a box is 128 bytes x block-n rows.
  auto srcType = cast<RankedTensorType>(op.getSource().getType());
  int64_t heads = srcType.getDimSize(1);
  Value bIdx = tileScalar(op.getBatch(), oldIv, iv);
  Value head = tileScalar(op.getHead(), oldIv, iv);
  Value row0 = tileScalar(op.getRow(), oldIv, iv);
  auto i32Of = [&](Value v) { return arith::TruncIOp::create(b, loc, i32(), v).getResult(); };
  Value rowCoord = i32Of(row0);
  Value plane = i32Of(add(mulc(bIdx, heads), head));
  auto ptrCluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  int64_t rowBytes = p.headDim * p.eltBytes(), blocks = rowBytes / kTensorMapBlockBytes;
  int64_t blockElems = kTensorMapBlockBytes / p.eltBytes();
  for (int64_t k = 0; k < blocks; ++k) {
    Value to = gep(dst, c64(k * p.blockN * kTensorMapBlockBytes));
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, loc, LLVM::AddrSpaceCastOp::create(b, loc, ptrCluster, to),
        tensorMapOf.at(op.getSource()), ValueRange{c32(k * blockElems), rowCoord, plane}, bar,
        ValueRange{}, Value(), Value(), NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false,
        NVVM::CTAGroupKindAttr(), Value());
  }
}

void KernelBuilder::zeroRowsPastSequence(TileLoadOp op, Value dst) {
  Value first = arith::SubIOp::create(b, loc, tileLimit(op, nullptr, nullptr),
                                      tileScalar(op.getRow(), nullptr, nullptr));
  int64_t chunksPerBlock = kTensorMapBlockBytes / 16;
  int64_t chunks = p.tileBytes() / 16, threads = 32 * p.warps;
  Value tid = add(mulc(warp, 32), lane);
  auto v4 = VectorType::get({4}, i32());
  Value zero = LLVM::ZeroOp::create(b, loc, v4);
  for (int64_t k0 = 0; k0 < chunks; k0 += threads) {
    // Chunk k of [block][row][8 chunks]: row (k / 8) % block-n.
    Value k = addc(tid, k0);
    Value row = arith::RemSIOp::create(b, loc, arith::DivSIOp::create(b, loc, k, c64(chunksPerBlock)),
                                       c64(p.blockN));
    Value past = arith::AndIOp::create(
        b, loc, lt(k, c64(chunks)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, row, first));
    auto ifOp = scf::IfOp::create(b, loc, past, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    LLVM::StoreOp::create(b, loc, zero, gep(dst, mulc(k, 16)), 16);
  }
}

bool KernelBuilder::copiesWholeRows(TileLoadOp op) const {
  int64_t chunksPerRow = p.headDim * p.eltBytes() / 16, threads = 32 * p.warps;
  return threads % chunksPerRow == 0 && op.getRows() * chunksPerRow % threads == 0;
}

Value KernelBuilder::loopTilesInSequence(Value oldIv, Value iv) {
  Value whole = tileInSequence(p.loopLoads.front(), oldIv, iv);
  for (TileLoadOp l : llvm::drop_begin(p.loopLoads))
    whole = arith::AndIOp::create(b, loc, whole, tileInSequence(l, oldIv, iv));
  return whole;
}

void KernelBuilder::fenceSharedForAsyncProxy() {
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}

Value KernelBuilder::tileInSequence(TileLoadOp op, Value oldIv, Value iv) {
  Value left = arith::SubIOp::create(b, loc, tileLimit(op, oldIv, iv),
                                     tileScalar(op.getRow(), oldIv, iv));
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, left, c64(op.getRows()));
}

void KernelBuilder::copyTileToSmem(TileLoadOp op, Value oldIv, Value iv,
                                   Value dst, bool masked) {
  assert((masked || copiesWholeRows(op)) && "only whole-row copies drop the masks");
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
                            valid ? sel(valid, c32(16), c32(0)) : Value());
  };
  if (copiesWholeRows(op)) {
    // Each pass covers whole rows and a thread keeps its 16-byte column, so
    // every copy is a constant offset from two per-thread pointers and only
    // the row test varies (a few instructions per 16 bytes).
    int64_t rowsPerPass = threads / chunksPerRow;
    Value r0 = arith::DivSIOp::create(b, loc, tid, c64(chunksPerRow));
    Value ch = arith::RemSIOp::create(b, loc, tid, c64(chunksPerRow));
    Value colOff = mulc(ch, 16 / eb);
    Value left = arith::SubIOp::create(
        b, loc, arith::SubIOp::create(b, loc, limit, row0), r0);
    // The lane's part first, the tile's row as its own term: in head-major
    // caches the first is loop-invariant (hoisted by the emitter's LICM) and
    // the second a multiple of the induction variable.
    Value laneSrc = gep(src, mulc(add(add(seqBase, mulc(r0, rowStride)), colOff), eb));
    Value srcBase = gep(laneSrc, mulc(row0, rowStride * eb));
    Value safeSrc = gep(src, mulc(add(seqBase, colOff), eb)); // row 0: in bounds
    // One destination pointer per row % 8 (the swizzle), constant offsets on it.
    llvm::SmallDenseMap<int64_t, Value> dstBase;
    for (int64_t it = 0; it < iters; ++it) {
      int64_t k = p.swizzled() ? it * rowsPerPass % 8 : 0;
      if (!dstBase.count(k))
        dstBase[k] = gep(dst, stagedOffset(addc(r0, k), 0, ch, 0));
    }
    for (int64_t it = 0; it < iters; ++it) {
      int64_t r = it * rowsPerPass, k = p.swizzled() ? r % 8 : 0;
      Value to = gep(dstBase[k], c64((r - k) * p.smemStride()));
      Value from = gep(srcBase, c64(r * rowStride * eb));
      if (!masked) {
        copy16(to, from, Value());
        continue;
      }
      Value valid = lt(c64(r), left);
      copy16(to, sel(valid, from, safeSrc), valid);
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
  // Each n-tile's sum over D is a chain of dependent MMAs. With decode's
  // 16-key tiles (2 chains of D/16) the k-steps go round-robin into up to 4
  // partial sums added at the end, about 8 short chains instead of 2 long
  // ones (H200, one warp per scheduler at B = 1: G=8, L=4096 10.2 -> 10.0
  // us, G=1 8.7-8.8 -> 8.7). Wider tiles have independent chains already
  // and no registers to spare (prefill at D = 256).
  int64_t steps = p.headDim / 16, nTiles = p.blockN / 8;
  int64_t partials =
      p.blockN <= 16 ? std::clamp<int64_t>(8 / nTiles, 1, std::max<int64_t>(1, steps / 2)) : 1;
  SmallVector<Acc> s(partials, splatAcc(outLayout, p.blockN, 0.0));
  auto [r, mHalf, mOdd] = ldmatrixLanes();
  for (int64_t jp = 0; jp < p.blockN / 16; ++jp) {
    Value laneRow = add(mulc(mHalf, 8), r);
    for (int64_t t = 0; t < steps; ++t) {
      // Row 16 jp + 8 mHalf + r, 16-byte chunk 2 t + mOdd (8 elements each).
      Value ptr = gep(kBase, stagedOffset(laneRow, 16 * jp, mOdd, 2 * t));
      auto kb = ldmatrix4(ptr, /*trans=*/false);
      std::array<Value, 4> av = {a.at(0, t, 0), a.at(1, t, 0), a.at(0, t, 1),
                                 a.at(1, t, 1)};
      for (int q = 0; q < 2; ++q) {
        int64_t j = 2 * jp + q;
        mmaInto(s[t % partials], j, av, {kb[2 * q], kb[2 * q + 1]});
      }
    }
  }
  // Pairwise: log2(partials) dependent adds.
  for (int64_t width = partials; width > 1; width = (width + 1) / 2)
    for (int64_t i = 0; i + (width + 1) / 2 < width; ++i)
      for (auto [x, y] : llvm::zip(s[i].v, s[i + (width + 1) / 2].v))
        x = arith::AddFOp::create(b, loc, x, y);
  return s[0];
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
        int64_t rowsPerHead = packed ? type.getDimSize(0) : type.getDimSize(1);
        // Every row valid unless an extract_slice cuts the tile (canonicalization
        // drops that slice where it takes the whole tile).
        frags[ex.getResult()] =
            StoreView{get<Acc>(ex.getSrc()), arith::ConstantIndexOp::create(b, loc, rowsPerHead),
                      rowsPerHead, packed};
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
  // meet at named barrier 1 + g (barrier 0 is the whole CTA), a group of one
  // warp at a warp barrier.
  Value groupIdx = arith::IndexCastOp::create(b, loc, b.getIndexType(), group);
  Value groupsIdx = arith::ConstantIndexOp::create(b, loc, groups);
  if (p.splitKv) {
    // CTA split s takes tiles [lb + s*chunk, min(ub, lb + (s+1)*chunk)).
    Value S = arith::IndexCastOp::create(b, loc, b.getIndexType(), numSplits);
    Value sp = arith::IndexCastOp::create(b, loc, b.getIndexType(), split);
    Value n = arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb),
                                     arith::ConstantIndexOp::create(b, loc, 0));
    // In 32 bits (key tiles and splits are far below 2^31): a 64-bit
    // division is a runtime branch to its 32-bit form (LLVM's slow-division
    // bypass), which split the entry's block in front of the first copies.
    auto i32Of = [&](Value v) {
      return arith::IndexCastOp::create(b, loc, b.getI32Type(), v).getResult();
    };
    Value chunk = arith::IndexCastOp::create(
        b, loc, b.getIndexType(), arith::CeilDivSIOp::create(b, loc, i32Of(n), i32Of(S)));
    lb = arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, sp, chunk));
    ub = arith::MinSIOp::create(b, loc, ub, arith::AddIOp::create(b, loc, lb, chunk));
  }
  lb = arith::AddIOp::create(b, loc, lb, groupIdx);
  auto groupBarrier = [&]() {
    // A one-warp group (every decode kernel) orders its lanes' copies and
    // reads with a warp barrier, not a 32-thread named barrier of the CTA.
    if (p.warps == 1) {
      NVVM::SyncWarpOp::create(b, loc, c32(-1));
      return;
    }
    if (groups == 1) {
      NVVM::Barrier0Op::create(b, loc);
      return;
    }
    Value id = arith::TruncIOp::create(b, loc, i32(), addc(group, 1));
    NVVM::BarrierOp::create(b, loc, Type(), id, c32(32 * p.warps),
                            NVVM::BarrierReductionAttr(), Value());
  };
  // Bulk and tensor-map copies complete on one mbarrier per group and stage;
  // warp 0 lane 0 of the group (the leader) initializes them and registers
  // each stage's bytes (and issues the tensor-map copies). Phase k of a
  // stage's barrier is its k-th tile.
  Value leader;
  auto barrierOf = [&](Value stage) {
    Value idx = add(mulc(group, stages), stage);
    return gep(smem, addc(mulc(idx, 8), p.stagingBytes(stages)));
  };
  if (p.usesMbarriers()) {
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
      // Start fetching the tensor maps before the first copies need them.
      if (p.tmaCopy)
        for (TileLoadOp l : p.loopLoads)
          NVVM::PrefetchOp::create(b, loc, NVVM::PrefetchCacheLevelAttr(),
                                   NVVM::CacheEvictionPriorityAttr(),
                                   tensorMapOf.at(l.getSource()), Value(), /*tensormap=*/true);
    }
    groupBarrier();
  }
  auto issue = [&](Value ivIndex, Value stage) {
    if (p.tmaCopy) {
      auto ifOp = scf::IfOp::create(b, loc, leader, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value bar = barrierOf(stage);
      int64_t bytes = static_cast<int64_t>(p.loopLoads.size()) * p.tileBytes();
      NVVM::MBarrierArriveExpectTxOp::create(
          b, loc, Type(), bar, c32(bytes),
          NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA),
          b.getBoolAttr(false), Value());
      for (TileLoadOp l : p.loopLoads)
        tmaCopyTileToSmem(l, oldIv, ivIndex, stageBase(stage, loadSlot.at(l)), bar);
      return;
    }
    if (!p.bulkCopy) {
      auto copyAll = [&](bool masked) {
        for (TileLoadOp l : p.loopLoads)
          copyTileToSmem(l, oldIv, ivIndex, stageBase(stage, loadSlot.at(l)), masked);
      };
      if (!llvm::all_of(p.loopLoads, [&](TileLoadOp l) { return copiesWholeRows(l); })) {
        copyAll(/*masked=*/true);
        return;
      }
      // A tile inside the sequence (all but its last, in prefill and decode)
      // copies from one pointer at constant offsets, without the per-row
      // masks and address selects that were most of the decode loop's
      // instructions (ncu, H200: 418 SASS instructions a 16-key tile, one
      // warp per scheduler). One branch for all loads, so their masks stay
      // in the cold path (the copy code is emitted twice).
      auto ifOp = scf::IfOp::create(b, loc, loopTilesInSequence(oldIv, ivIndex),
                                    /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      copyAll(/*masked=*/false);
      b.setInsertionPointToStart(ifOp.elseBlock());
      copyAll(/*masked=*/true);
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
    if (!p.usesMbarriers())
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

  // Iteration rel (of this group) reads stage rel % stages; mbarrier copies wait
  // for phase rel / stages of its barrier. Both are carried, not divided out
  // of the induction variable: a 64-bit remainder by 3 stages was two
  // mul.hi.s64 sequences in every iteration.
  SmallVector<Value> loopInits(flatInits);
  int64_t stageArg = loopInits.size();
  loopInits.push_back(c64(0));
  if (p.usesMbarriers())
    loopInits.push_back(c64(0));
  auto newLoop = scf::ForOp::create(b, loc, lb, ub, groupsIdx, loopInits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(newLoop.getBody());
  Value iv = newLoop.getInductionVar();
  scalars.map(oldIv, iv);
  loopMarker = c64(0).getDefiningOp();
  Value stage = newLoop.getRegionIterArgs()[stageArg];
  Value lastStage = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stage,
                                          c64(stages - 1));
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
      Value previous = sel(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stage, c64(0)),
                           c64(stages - 1), addc(stage, -1));
      issue(next, previous);
    }
    commit();
  }
  if (p.usesMbarriers()) {
    Value parity = newLoop.getRegionIterArgs()[stageArg + 1];
    waitBarrierPhase(barrierOf(stage), arith::TruncIOp::create(b, loc, i32(), parity),
                     NVVM::MemScopeKind::CTA);
  } else {
    NVVM::CpAsyncWaitGroupOp::create(b, loc, b.getI32IntegerAttr(stages - 1));
  }
  // Every thread's copies of this stage are visible to the whole group.
  // Mbarrier copies need no barrier (each thread waited on the mbarrier),
  // except for rows zeroed by generic stores: bulk copies' tail rows written
  // in this same iteration (one stage only), tensor-map copies' below.
  if (!p.usesMbarriers() || (p.bulkCopy && stages == 1))
    groupBarrier();
  // Tensor-map copies: the tile crossing the sequence's end (the CTA's last
  // tile, so one group's and one iteration's) zeroes its rows past the end
  // and orders those generic writes before the async proxy's next copy into
  // the stage; the group meets once more (lowerLoop pads the other groups).
  auto partialTile = [&](Value oldIvOrNull, Value tile) {
    return arith::XOrIOp::create(b, loc, loopTilesInSequence(oldIvOrNull, tile),
                                 arith::ConstantIntOp::create(b, loc, 1, 1))
        .getResult();
  };
  if (p.tmaCopy) {
    auto ifOp = scf::IfOp::create(b, loc, partialTile(nullptr, nullptr), false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    for (TileLoadOp l : p.loopLoads)
      zeroRowsPastSequence(l, stageBase(stage, loadSlot.at(l)));
    fenceSharedForAsyncProxy();
    groupBarrier();
  }
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
  int64_t barriersPerIteration = (!p.usesMbarriers() || (p.bulkCopy && stages == 1)) ? 2 : 1;
  flatYield.push_back(sel(lastStage, c64(0), addc(stage, 1)));
  if (p.usesMbarriers()) {
    Value parity = newLoop.getRegionIterArgs()[stageArg + 1];
    flatYield.push_back(sel(lastStage, arith::XOrIOp::create(b, loc, parity, c64(1)), parity));
  }
  scf::YieldOp::create(b, loc, flatYield);
  scalars.erase(oldIv);
  loopMarker = nullptr;

  b.setInsertionPointAfter(newLoop);
  tracePoint(TracePoint::LoopEnd);
  if (target.computeCapability >= 90) {
    // This CTA has read its keys: once every CTA has passed here (or
    // exited), a programmatically launched next grid may be scheduled onto
    // the SMs this grid frees; it waits for our completion at its entry.
    // Not earlier: a next grid resident during our key loop would hold the
    // SM slots that later waves of this grid need.
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::launch_dependents);
  }
  SmallVector<Value> merged(newLoop.getResults().take_front(flatInits.size()));
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
    if (p.tmaCopy) {
      // The partial tile's barrier: the groups that did not run the CTA's
      // last tile pass it here, if that tile crossed the sequence's end.
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      Value last = arith::SubIOp::create(b, loc, ub, one);
      Value first = arith::SubIOp::create(b, loc, lb, groupIdx);
      Value lastGroup =
          arith::RemSIOp::create(b, loc, arith::SubIOp::create(b, loc, last, first), groupsIdx);
      Value other = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, n,
                                arith::ConstantIndexOp::create(b, loc, 0)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, lastGroup, groupIdx));
      auto ifOther = scf::IfOp::create(b, loc, other, false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOther.thenBlock());
      auto ifPartial = scf::IfOp::create(b, loc, partialTile(oldIv, last), false);
      b.setInsertionPointToStart(ifPartial.thenBlock());
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
      out.push_back(storesOutput);
      scf::YieldOp::create(b, loc, out);
    }
    ValueRange results = multi.getResults();
    merged.assign(results.begin(), results.begin() + (results.size() - 1));
    storesOutput = multi.getResults().back();
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
  // Tensor-map copies: one CUtensorMap per K/V source, passed by value in
  // parameter space (128 bytes, 64-byte aligned) as TMA requires; the
  // runtime encodes it from the source's pointer and shape.
  SmallVector<Value> mapSources;
  SmallVector<Attribute> mapInfo;
  if (p.tmaCopy)
    for (TileLoadOp l : p.loopLoads) {
      if (llvm::is_contained(mapSources, l.getSource()))
        continue;
      mapSources.push_back(l.getSource());
      unsigned i = cast<BlockArgument>(l.getSource()).getArgNumber();
      params.push_back(LLVM::LLVMPointerType::get(ctx));
      paramNames.push_back(b.getStringAttr(nameOf(i) + ".tensor_map"));
      SmallVector<int64_t> shape; // -1: the dimension parameter SOURCE.dimN
      for (int64_t n : cast<RankedTensorType>(l.getSource().getType()).getShape())
        shape.push_back(ShapedType::isDynamic(n) ? -1 : n);
      mapInfo.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("param", paramNames.back()),
           b.getNamedAttr("source", b.getStringAttr(nameOf(i))),
           b.getNamedAttr("shape", b.getI64ArrayAttr(shape)),
           b.getNamedAttr("box", b.getI64ArrayAttr({kTensorMapBlockBytes / p.eltBytes(),
                                                    p.blockN, 1}))}));
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
  unsigned firstMap = params.size() - mapSources.size();
  for (unsigned k = 0; k < mapSources.size(); ++k) {
    kernel.setArgAttr(firstMap + k, LLVM::LLVMDialect::getByValAttrName(),
                      TypeAttr::get(LLVM::LLVMArrayType::get(b.getI8Type(), 128)));
    kernel.setArgAttr(firstMap + k, LLVM::LLVMDialect::getAlignAttrName(),
                      b.getI64IntegerAttr(64));
    kernel.setArgAttr(firstMap + k, NVVM::NVVMDialect::getGridConstantAttrName(),
                      b.getUnitAttr());
  }
  if (!mapInfo.empty())
    kernel->setAttr("parallax.tensor_maps", b.getArrayAttr(mapInfo));
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
    numSplits = entry->getArgument(firstMap - 1);
  }
  for (auto [k, src] : llvm::enumerate(mapSources))
    tensorMapOf[src] = entry->getArgument(firstMap + k);

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
  if (target.computeCapability >= 90) {
    // Programmatic dependent launch (sm_90+): launched with programmatic
    // stream serialization, this grid may start while the previous one in
    // the stream finishes; it waits here, before touching global memory,
    // until that grid has completed and its writes are visible. Without
    // that launch attribute the wait returns at once.
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
    kernel->setAttr("parallax.programmatic_launch", b.getUnitAttr());
  }
  if (trace) {
    // This CTA's record: blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y *
    // blockIdx.z); thread 0 writes it, CTAs past the capacity skip it.
    Value cta = add(toI64(NVVM::BlockIdXOp::create(b, loc, i32())),
                    mul(toI64(NVVM::GridDimXOp::create(b, loc, i32())),
                        add(toI64(NVVM::BlockIdYOp::create(b, loc, i32())),
                            mul(toI64(NVVM::GridDimYOp::create(b, loc, i32())),
                                toI64(NVVM::BlockIdZOp::create(b, loc, i32()))))));
    traceOn = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c64(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, cta, c64(kTraceCapacity)));
    Value table = LLVM::AddressOfOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 1),
                                            "parallax_trace");
    traceRecord = gep(table, mulc(cta, kTraceSlots * 8));
    traceStore(kTraceEntryTimeSlot, NVVM::GlobalTimerOp::create(b, loc, i64()));
    traceStore(kTraceSmIdSlot, NVVM::SmIdOp::create(b, loc, i32()));
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
    // (32-bit division, as for the split's chunk in lowerLoop; the remainder
    // by multiply and subtract, not a second division.)
    Value x32 = ids[0], splits32 = arith::TruncIOp::create(b, loc, i32(), numSplits);
    Value q32 = arith::DivUIOp::create(b, loc, x32, splits32);
    qTile = toI64(q32);
    split = toI64(arith::SubIOp::create(b, loc, x32, arith::MulIOp::create(b, loc, q32, splits32)));
    ids[0] = arith::TruncIOp::create(b, loc, i32(), qTile);
    if (p.clusterMerge) {
      // Launched as clusters of exactly num_splits CTAs along x (cluster rank
      // = split): merge through distributed shared memory. Any other cluster
      // width takes the workspace. (rt::launch shapes clusters along x only;
      // one with num_splits along x and more CTAs along y or z is not
      // detected here.)
      Value several = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, numSplits, c64(1));
      Value alongX = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          toI64(NVVM::ClusterDimBlocksXOp::create(b, loc, i32())), numSplits);
      clusterMerged = arith::AndIOp::create(b, loc, alongX, several);
      // (Only where the inbox, 8 slots of every group's slice registers,
      // fits beside the staging memory without costing a CTA per SM.)
      int64_t staging = llvm::alignTo(p.sharedBytes(stages), 16);
      int64_t inboxMax = staging + pushInboxBytes(p.kvGroups, p.sliceRegs());
      bool inboxFits = inboxMax <= target.maxSharedBytes &&
                       (minCtasPerSm < 2 || minCtasPerSm * (inboxMax + kReservedSharedPerBlock) <=
                                                target.sharedBytesPerSM);
      if (inboxFits && oneRowSlice()) {
        // The one-row cluster merge (pushOneRowToLeader) pushes into rank 0's
        // inbox behind the staging memory.
        kernel->setAttr("parallax.one_row_merge", b.getUnitAttr());
        initInbox(staging);
      } else if (!oneRowSlice() && minCtasPerSm < 2) {
        // Several rows, in kernels not asked to share an SM (the wide decode
        // kernels, which the runtime launches for one wave of long chunks):
        // whole partials pushed into rank 0 (pushPartialToLeader), as many
        // slots as fit beside the staging memory, up to kMaxPushedPartials;
        // fewer than 2: none. Rank 0 then merges every row alone, which pays
        // at the end of a one-wave grid (H200, G = 8, B = 8: L = 32768
        // 247.6-247.9 -> 246.8-246.9 us, L = 16384 129.6-130.1 -> 128.5-128.7)
        // but not where the next wave waits for the cluster's slowest CTA
        // (the narrow kernels, 2 CTAs per SM, at B = 128: 0.1-0.3% slower),
        // which keep the pull.
        // (Nor fewer CTAs per SM than the staging memory alone allows: a
        // kernel that asks for no occupancy may still fit two.)
        int64_t partialBytes = p.partialBytes();
        auto ctasPerSm = [&](int64_t bytes) {
          return target.sharedBytesPerSM / (bytes + kReservedSharedPerBlock);
        };
        int64_t slots = std::min<int64_t>(
            kMaxPushedPartials, (target.maxSharedBytes - staging - 16) / partialBytes);
        while (slots >= 2 && ctasPerSm(staging + 16 + slots * partialBytes) < ctasPerSm(staging))
          --slots;
        if (slots >= 2) {
          pushSlots = slots;
          pushSlotBytes = partialBytes;
          kernel->setAttr("parallax.shared_bytes",
                          b.getI64IntegerAttr(staging + 16 + slots * partialBytes));
          initInbox(staging);
        }
      }
    }
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
  if (clusterMerged) {
    // Keep this CTA's shared memory until every CTA of the cluster has read
    // its rows of it (each one arrives after its merge).
    auto wait = scf::IfOp::create(b, loc, clusterMerged, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(wait.thenBlock());
    NVVM::ClusterWaitOp::create(b, loc, b.getUnitAttr());
  }
  if (trace) {
    tracePoint(TracePoint::Exit);
    traceStore(kTraceExitTimeSlot, NVVM::GlobalTimerOp::create(b, loc, i64()));
  }
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return kernel;
}

void KernelBuilder::initInbox(int64_t offset) {
  // Each CTA initialises its inbox barrier (one arrival: its own, expecting
  // the pushed bytes); the cluster barrier's first phase (arrive here, wait
  // before the pushes) makes that visible to the other CTAs.
  inboxOffset = offset + 16; // after its barrier
  inboxBarrier = gep(smem, c64(offset));
  Value tid = toI64(NVVM::ThreadIdXOp::create(b, loc, i32()));
  Value tid0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c64(0));
  auto init = scf::IfOp::create(b, loc, arith::AndIOp::create(b, loc, clusterMerged, tid0),
                                /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(init.thenBlock());
    NVVM::MBarrierInitOp::create(b, loc, inboxBarrier, c32(1), Value());
    NVVM::FenceMbarrierInitOp::create(b, loc);
  }
  auto arrive = scf::IfOp::create(b, loc, clusterMerged, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(arrive.thenBlock());
  NVVM::ClusterArriveRelaxedOp::create(b, loc, b.getUnitAttr());
}

void KernelBuilder::waitBarrierPhase(Value bar, Value parity, NVVM::MemScopeKind scope) {
  // try_wait may return before the phase completes (a time limit): loop.
  auto wait = scf::WhileOp::create(b, loc, TypeRange{}, ValueRange{});
  OpBuilder::InsertionGuard guard(b);
  Block *before = b.createBlock(&wait.getBefore());
  b.setInsertionPointToStart(before);
  Value done = NVVM::MBarrierTryWaitOp::create(b, loc, b.getI1Type(), bar, parity, Value(),
                                               NVVM::MemScopeKindAttr::get(b.getContext(), scope));
  Value notDone = arith::XOrIOp::create(b, loc, done, arith::ConstantIntOp::create(b, loc, 1, 1));
  scf::ConditionOp::create(b, loc, notDone, ValueRange{});
  Block *after = b.createBlock(&wait.getAfter());
  b.setInsertionPointToStart(after);
  scf::YieldOp::create(b, loc);
}

} // namespace mlir::parallax::nvvm_lowering
