//===- Passes.h - parallax conversions to NVIDIA GPUs -----------*- C++ -*-===//
#ifndef PARALLAX_CONVERSION_PASSES_H
#define PARALLAX_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class ModuleOp;
namespace parallax {

#define GEN_PASS_DECL
#include "parallax/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "parallax/Conversion/Passes.h.inc"

/// What one GPU kernel needs at launch, known after lowering.
struct KernelResources {
  int64_t sharedBytes = 0;   ///< dynamic shared memory
  int64_t threads = 0;       ///< per block
  int64_t registerEstimate = 0;
};

/// Options of `parallax-lower-to-nvvm` (defaults: a 4-warp Parallax
/// prefill tile; parallax-gen picks them per kernel).
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("sm_80 ... sm_90a"),
                           llvm::cl::init("sm_80")};
  Option<int64_t> blockM{*this, "block-m",
                         llvm::cl::desc("Query rows per tile (0: what num-warps fill, per op: "
                                        "x 16 for softmax, x 8 for Parallax)"),
                         llvm::cl::init(0)};
  Option<int64_t> blockN{*this, "block-n", llvm::cl::desc("Keys per tile"),
                         llvm::cl::init(64)};
  Option<int64_t> numWarps{*this, "num-warps", llvm::cl::desc("Warps per CTA"),
                           llvm::cl::init(4)};
  Option<bool> packGqa{*this, "pack-gqa",
                       llvm::cl::desc("Pack GQA heads into one tile"),
                       llvm::cl::init(false)};
  Option<int64_t> numStages{*this, "num-stages",
                            llvm::cl::desc("K/V shared-memory stages"),
                            llvm::cl::init(2)};
  Option<int64_t> kvGroups{*this, "kv-groups",
                           llvm::cl::desc("Warp groups splitting the key tiles"),
                           llvm::cl::init(1)};
  Option<bool> bulkCopy{*this, "bulk-copy",
                        llvm::cl::desc("sm_90+: K/V rows by cp.async.bulk + mbarriers"),
                        llvm::cl::init(false)};
  Option<bool> tmaCopy{*this, "tma-copy",
                       llvm::cl::desc("sm_90+: K/V tiles by tensor-map TMA copies + mbarriers"),
                       llvm::cl::init(false)};
};

/// From convert-parallax-to-nvvm's output to a pure LLVM/NVVM-dialect module
/// (scf/arith/index/cf to LLVM, cleanups): the input of PTX emission.
void buildNVVMToLLVMPipeline(OpPassManager &pm);
/// Tile, fuse, check resources, lower to NVVM and to the LLVM dialect.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);
/// Registers `parallax-lower-to-nvvm`.
void registerParallaxGpuPipelines();

} // namespace parallax
} // namespace mlir

#endif
