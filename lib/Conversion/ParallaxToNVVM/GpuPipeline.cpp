//===- GpuPipeline.cpp - parallax-lower-to-nvvm ---------------------------===//
#include "parallax/Conversion/Passes.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::parallax;

void mlir::parallax::buildGpuPipeline(OpPassManager &pm,
                                      const GpuPipelineOptions &o) {
  ParallaxTileAttentionOptions tile;
  tile.blockM = o.blockM;
  tile.fitWarps = true;
  tile.blockN = o.blockN;
  tile.numWarps = o.numWarps;
  tile.packGqa = o.packGqa;
  pm.nest<func::FuncOp>().addPass(createParallaxTileAttention(tile));
  buildFusionPipeline(pm, /*canonicalize=*/false);
  ParallaxCheckResourcesOptions res;
  res.chip = o.chip;
  res.numStages = o.numStages;
  res.kvGroups = o.kvGroups;
  res.bulkCopy = o.bulkCopy;
  res.tmaCopy = o.tmaCopy;
  pm.addPass(createParallaxCheckResources(res));
  ConvertParallaxToNVVMOptions nvvm;
  nvvm.chip = o.chip;
  nvvm.numStages = o.numStages;
  nvvm.kvGroups = o.kvGroups;
  nvvm.bulkCopy = o.bulkCopy;
  nvvm.tmaCopy = o.tmaCopy;
  pm.addPass(createConvertParallaxToNVVM(nvvm));
  buildNVVMToLLVMPipeline(pm);
}

void mlir::parallax::buildNVVMToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::parallax::registerParallaxGpuPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "parallax-lower-to-nvvm",
      "Tile, fuse and lower attention to an LLVM/NVVM kernel (then parallax-translate --parallax-to-ptx)",
      [](OpPassManager &pm, const GpuPipelineOptions &o) {
        buildGpuPipeline(pm, o);
      });
}
