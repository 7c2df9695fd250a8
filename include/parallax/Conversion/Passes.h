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

} // namespace parallax
} // namespace mlir

#endif
