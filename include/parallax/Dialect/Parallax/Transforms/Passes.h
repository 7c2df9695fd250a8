//===- Passes.h - parallax passes and pipelines -----------------*- C++ -*-===//
#ifndef PARALLAX_DIALECT_PARALLAX_TRANSFORMS_PASSES_H
#define PARALLAX_DIALECT_PARALLAX_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
namespace func { class FuncOp; }
namespace parallax {

#define GEN_PASS_DECL
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"

/// Options of the CPU pipeline (`parallax-lower-to-cpu`).
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> blockM{*this, "block-m", llvm::cl::desc("Query rows per tile"),
                         llvm::cl::init(64)};
  Option<int64_t> blockN{*this, "block-n", llvm::cl::desc("Keys per tile"),
                         llvm::cl::init(64)};
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("Run the three fusion passes"),
                    llvm::cl::init(true)};
  Option<bool> packGqa{*this, "pack-gqa",
                       llvm::cl::desc("Pack GQA heads into one tile"),
                       llvm::cl::init(true)};
};

/// The three fusion passes in order, then cleanups: CSE (which also erases
/// the ops the fusions left dead) and, unless `canonicalize` is false, the
/// canonicalizer. The GPU path skips it: it would fold a K/V loop of one
/// static iteration away, and the GPU lowering maps that loop onto its
/// copy pipeline.
void buildFusionPipeline(OpPassManager &pm, bool canonicalize = true);
/// High-level attention -> tiled (-> fused) -> linalg -> bufferized -> LLVM
/// dialect for the host.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);
/// Registers `parallax-fuse` and `parallax-lower-to-cpu`.
void registerParallaxPipelines();

} // namespace parallax
} // namespace mlir

#endif
