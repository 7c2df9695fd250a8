//===- Pipelines.cpp - named pipelines of the parallax compiler ----------===//
//
// Upstream stages are spelled as textual pipelines: the flags are stable and
// documented, and a user can paste the same string into parallax-opt.
//
//===----------------------------------------------------------------------===//
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::parallax;

void mlir::parallax::buildFusionPipeline(OpPassManager &pm, bool canonicalize) {
  OpPassManager &f = pm.nest<func::FuncOp>();
  f.addPass(createParallaxFuseProjector());
  f.addPass(createParallaxFuseCovarianceProbe());
  f.addPass(createParallaxFuseValueAggregation());
  // Everything but folding away the program grid or the key loop: a grid of
  // one program (static B = H = 1, one query tile) must stay an scf.forall
  // and a cache of one key tile an scf.for, which the GPU lowering turns into
  // the kernel and its key loop. (The names are the patterns' debug names,
  // llvm::getTypeName as the compiler that built MLIR spells them: Clang's
  // for Debian's packages. test/Conversion/convert-parallax-to-nvvm-one-
  // program.mlir fails if they stop matching.)
  if (canonicalize)
    f.addPass(createCanonicalizerPass(
        GreedyRewriteConfig(),
        /*disabledPatterns=*/{"(anonymous namespace)::ForallOpSingleOrZeroIterationDimsFolder",
                              "(anonymous namespace)::SimplifyTrivialLoops"}));
  f.addPass(createCSEPass());
}

/// From bufferization to the LLVM dialect, for the host.
static const char *kHostLowering =
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map "
    "allow-return-allocs-from-loops},"
    "buffer-deallocation-pipeline,"
    "func.func(scf-forall-to-for,convert-linalg-to-loops),"
    "expand-strided-metadata,lower-affine,"
    "arith-expand{include-bf16=true},"
    "convert-scf-to-cf,convert-math-to-llvm,convert-arith-to-llvm,"
    "finalize-memref-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
    "convert-index-to-llvm,reconcile-unrealized-casts";

static void ensureUpstreamPassesRegistered() {
  static bool done = [] {
    registerAllPasses();
    return true;
  }();
  (void)done;
}

void mlir::parallax::buildCpuPipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  ensureUpstreamPassesRegistered();
  OpPassManager &f = pm.nest<func::FuncOp>();
  ParallaxTileAttentionOptions tile;
  tile.blockM = options.blockM;
  tile.blockN = options.blockN;
  tile.packGqa = options.packGqa;
  f.addPass(createParallaxTileAttention(tile));
  if (options.fuse)
    buildFusionPipeline(pm);
  OpPassManager &g = pm.nest<func::FuncOp>();
  g.addPass(createCanonicalizerPass());
  g.addPass(createConvertParallaxToLinalg());
  std::string err;
  llvm::raw_string_ostream os(err);
  if (failed(parsePassPipeline("func.func(convert-elementwise-to-linalg)", pm,
                               os)) ||
      failed(parsePassPipeline(kHostLowering, pm, os)))
    llvm::report_fatal_error(llvm::Twine("bad built-in pipeline: ") + err);
}

void mlir::parallax::registerParallaxPipelines() {
  PassPipelineRegistration<>(
      "parallax-fuse",
      "Fuse projector, covariance probe and value aggregation (in order)",
      [](OpPassManager &pm) { buildFusionPipeline(pm); });
  PassPipelineRegistration<CpuPipelineOptions>(
      "parallax-lower-to-cpu",
      "Tile, fuse and lower attention to the LLVM dialect for the host",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuPipeline(pm, options);
      });
}
