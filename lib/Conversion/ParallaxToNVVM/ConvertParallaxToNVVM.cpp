//===- ConvertParallaxToNVVM.cpp - fused tiled programs -> NVVM kernels ---===//
//
// The passes convert-parallax-to-nvvm and parallax-check-resources, and the
// analysis of a fused tiled program they share. The lowering of one program
// is KernelBuilder (KernelBuilder.h).
//
//===----------------------------------------------------------------------===//
#include "parallax/Conversion/Passes.h"

#include "KernelBuilder.h"

namespace mlir::parallax {
#define GEN_PASS_DEF_CONVERTPARALLAXTONVVM
#define GEN_PASS_DEF_PARALLAXCHECKRESOURCES
#include "parallax/Conversion/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;
using namespace mlir::parallax::nvvm_lowering;

namespace mlir::parallax::nvvm_lowering {

/// The form the GPU lowering turns into one kernel: tensor arguments (each a
/// kernel pointer), one tiled program at the function's top level whose
/// result the function returns and nothing else, and inside it no tensor
/// from outside but the arguments and constants.
static LogicalResult checkKernelForm(func::FuncOp func, scf::ForallOp &forall) {
  StringRef name = func.getSymName();
  if (!isPtxIdentifier(name))
    return func.emitError() << "kernel name '" << name
                            << "' is not a PTX identifier: use letters, digits and '_', "
                               "starting with a letter or '_'";
  for (BlockArgument a : func.getArguments())
    if (!isa<RankedTensorType>(a.getType()))
      return func.emitError() << "a GPU kernel takes ranked tensors only (one pointer each): "
                              << "argument #" << a.getArgNumber() << " is " << a.getType();
  if (auto names = func->getAttr("parallax.arg_names")) {
    auto arr = dyn_cast<ArrayAttr>(names);
    if (!arr || arr.size() != func.getNumArguments() ||
        !llvm::all_of(arr, [](Attribute x) { return isa<StringAttr>(x); }))
      return func.emitError() << "parallax.arg_names must be an array of "
                              << func.getNumArguments() << " strings (one per argument), got "
                              << names;
  }
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "a GPU kernel function has one block: @" << name << " has "
                            << func.getBody().getBlocks().size();
  SmallVector<scf::ForallOp> programs;
  func.walk([&](scf::ForallOp f) { programs.push_back(f); });
  if (programs.empty())
    return func.emitError() << "no tiled program: run parallax-tile-attention "
                               "before the GPU lowering";
  if (programs.size() > 1)
    return programs[1].emitError()
           << "one attention per GPU kernel: @" << name << " has " << programs.size()
           << " tiled programs; give each attention op its own function";
  forall = programs[0];
  if (forall->getParentOp() != func.getOperation())
    return forall.emitError() << "the tiled program must sit at the top level of @" << name
                              << ", not inside '" << forall->getParentOp()->getName() << "'";
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (forall->getNumResults() != 1 || ret.getNumOperands() != 1 ||
      ret.getOperand(0) != forall->getResult(0))
    return ret.emitError() << "a GPU kernel's one output is its attention's result: @" << name
                           << " must return exactly that value (no other results, and no ops "
                              "on it after the attention)";
  WalkResult outside = forall.getBody()->walk([&](Operation *op) {
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      if (!isa<TensorType>(v.getType()) || forall->isAncestor(v.getParentBlock()->getParentOp()))
        continue;
      if (auto a = dyn_cast<BlockArgument>(v); a && a.getOwner() == &func.getBody().front())
        continue;
      // Splat constants (the accumulators' initial values) become registers;
      // what is loaded from memory must be a kernel argument.
      auto cst = v.getDefiningOp<arith::ConstantOp>();
      auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue()) : DenseElementsAttr();
      if (dense && dense.isSplat() && !isa<TileLoadOp, tensor::ExtractOp>(op))
        continue;
      op->emitError() << "operand #" << i << " comes from '"
                      << (v.getDefiningOp() ? v.getDefiningOp()->getName().getStringRef()
                                            : StringRef("a block argument"))
                      << "' outside the tiled program: a GPU kernel reads its tensors from "
                         "the function's arguments (make it an argument of @"
                      << name << ")";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(outside.wasInterrupted());
}

FailureOr<ProgramInfo> analyze(func::FuncOp func) {
  ProgramInfo info;
  if (failed(checkKernelForm(func, info.forall)))
    return failure();
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
    if (type.getRank() == 1) {
      info.carriedRegs += halves;
      info.carriedRowRegs += halves;
      continue;
    }
    int64_t c = type.getDimSize(1);
    info.carriedRegs += halves * c / 8 * 2;
    info.carriedCols = info.carriedCols == 0 || info.carriedCols == c ? c : -1;
  }
  return info;
}

} // namespace mlir::parallax::nvvm_lowering

namespace {

LogicalResult checkShapeRules(const ProgramInfo &p, Operation *at) {
  int64_t perWarp = queryRowsPerWarp(p.parallax);
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

/// Tensor-map copies stage a tile as column blocks of 128 bytes (the widest
/// box row the 128-byte swizzle allows) and address it by (column, row,
/// batch x heads + head), so rows must be whole blocks and the sources
/// [B, H, L, D] caches (paged ones included: [pages, H, page, D]).
LogicalResult checkTensorMapCopies(const ProgramInfo &p) {
  int64_t rowBytes = p.headDim * p.eltBytes();
  if (rowBytes % kTensorMapBlockBytes)
    return p.loop->emitError()
           << "tma-copy (--tma) stages rows in 128-byte column blocks: head dim "
           << p.headDim << " x " << p.eltBytes() << " bytes = " << rowBytes
           << " is not a multiple of 128 (supported head dims: multiples of "
           << kTensorMapBlockBytes / p.eltBytes() << ")";
  if (p.blockN > kTensorMapMaxBoxRows)
    return p.loop->emitError() << "tma-copy (--tma) copies a tile of block-n rows in one box: "
                               << "block-n " << p.blockN << " is over "
                               << kTensorMapMaxBoxRows;
  for (TileLoadOp l : p.loopLoads)
    if (cast<RankedTensorType>(l.getSource().getType()).getRank() != 4)
      return l.emitError() << "tma-copy (--tma) needs K/V sources laid out [B, H, L, D] "
                              "(or paged [pages, H, page, D]), not packed varlen "
                              "[T, H, D] ones; drop it for this kernel";
  return success();
}

LogicalResult checkResources(const ProgramInfo &p, const TargetInfo &t,
                             int64_t stages, Operation *at) {
  int64_t threads = 32 * p.warps * p.kvGroups;
  if (threads > kMaxThreadsPerBlock)
    return at->emitError() << "needs " << threads << " threads per block (" << p.warps
                           << " warps x " << p.kvGroups << " warp groups) but GPUs allow "
                           << kMaxThreadsPerBlock << "; lower num-warps or kv-groups";
  int64_t smem = p.sharedBytes(stages);
  if (smem > t.maxSharedBytes) {
    // Name the term that sets the size (the K/V stages, or the warp groups'
    // merge slots that reuse them) and the knobs that shrink it.
    InFlightDiagnostic d = at->emitError() << "needs " << smem << " bytes of shared memory (";
    if (p.kvStagingBytes(stages) == p.stagingBytes(stages)) {
      if (p.kvGroups > 1)
        d << p.kvGroups << " warp groups x ";
      d << stages << " stages x " << p.loopLoads.size() << " tiles of " << p.blockN << " x "
        << p.headDim << " x " << p.eltBytes() << " bytes"
        << (p.swizzled() ? ", swizzled" : ", rows padded by 16 bytes");
    } else {
      d << "the merge of " << p.kvGroups << " warp groups' partials";
    }
    d << ") but " << t.chip << " allows " << t.maxSharedBytes << " per block; lower block-n"
      << (p.kvGroups > 1 ? ", num-stages or kv-groups" : " or num-stages");
    return d;
  }
  int64_t regs = p.registerEstimate();
  if (regs > t.maxRegistersPerThread)
    return at->emitError()
           << "needs about " << regs << " registers per thread (head dim "
           << p.headDim << ", block-n " << p.blockN << ") but " << t.chip
           << " has " << t.maxRegistersPerThread << "; lower block-n";
  return success();
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
      unsigned i = arg.getArgNumber();
      std::string name = argNames && i < argNames.size() ? cast<StringAttr>(argNames[i]).str()
                                                         : "arg" + std::to_string(i);
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

/// The program of `f` with the lowering options that shape it, checked
/// against the shape rules and the target's resources (errors at the op).
FailureOr<ProgramInfo> analyzeFor(func::FuncOp f, const TargetInfo &target,
                                  int64_t kvGroups, bool splitKv, bool bulkCopy,
                                  bool tmaCopy, int64_t numStages) {
  FailureOr<ProgramInfo> info = analyze(f);
  if (failed(info))
    return failure();
  info->kvGroups = kvGroups;
  info->splitKv = splitKv;
  info->bulkCopy = bulkCopy && target.computeCapability >= 90;
  info->tmaCopy = tmaCopy && target.computeCapability >= 90;
  if (info->bulkCopy && info->tmaCopy)
    return f.emitError() << "bulk-copy and tma-copy (parallax-gen --bulk-copy and "
                            "--tma) are two ways of copying the K/V tiles; choose one";
  if (info->tmaCopy && failed(checkTensorMapCopies(*info)))
    return failure();
  info->clusterMerge = splitKv && target.computeCapability >= 90;
  if (failed(checkShapeRules(*info, info->loop)) ||
      failed(checkResources(*info, target, numStages, info->loop)))
    return failure();
  return info;
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
    if (minCtasPerSm < 0 || minCtasPerSm > 32) {
      module.emitError() << "min-ctas-per-sm must be between 1 and 32 (0 = none), got "
                         << static_cast<int64_t>(minCtasPerSm);
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
    WalkResult loose = module.walk([&](func::FuncOp f) {
      bool hasProgram = false;
      f.walk([&](scf::ForallOp) { hasProgram = true; });
      if (hasProgram) {
        funcs.push_back(f);
        return WalkResult::advance();
      }
      // Parallax ops outside a program would be left unlowered.
      WalkResult r = f.walk([&](Operation *op) {
        if (!isa<ParallaxDialect>(op->getDialect()))
          return WalkResult::advance();
        op->emitOpError() << "is outside a tiled program (scf.forall): the GPU lowering "
                             "converts tiled attention programs only";
        return WalkResult::interrupt();
      });
      return r.wasInterrupted() ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (loose.wasInterrupted())
      return signalPassFailure();
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
          "parallax_dynamic_smem", Attribute(),
          /*alignment=*/tmaCopy ? kTensorMapSwizzleAlign : 16, /*addrSpace=*/3);
      (void)global;
    }
    for (func::FuncOp f : funcs) {
      FailureOr<ProgramInfo> info =
          analyzeFor(f, *target, kvGroups, splitKv, bulkCopy, tmaCopy, numStages);
      if (failed(info))
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
      if (failed(analyzeFor(f, *target, kvGroups, splitKv, bulkCopy, tmaCopy, numStages)))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
