//===- PTXEmitter.h - LLVM dialect -> PTX text -----------------*- C++ -*-===//
//
// In process, through LLVM's NVPTX TargetMachine: no nvcc, no NVRTC.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_TARGET_PTXEMITTER_H
#define PARALLAX_TARGET_PTXEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::parallax {

struct PTXOptions {
  std::string chip = "sm_80"; ///< sm_80 ... sm_90a
  /// LLVM codegen level. 2, not 3: at 3 NVPTX runs GVN twice where 2 runs
  /// EarlyCSE; our IR is already CSE'd, ptxas gives the same SASS, and
  /// generation takes 30% less time.
  unsigned optLevel = 2;
  /// LLVM's loop strength reduction (codegen's -disable-lsr when false). On:
  /// without it G=4 and 8 decode at B=1 ran 3-5% slower on the H200 under
  /// graph replay (G=1 and large grids the same). The split merges' loops
  /// hide their index from it (an opaque copy; it was most of codegen time
  /// there, 0.34 of 0.51 s for D=256). emitPTX runs LICM first either way.
  bool loopStrengthReduction = true;
};

/// Translates an LLVM-dialect module (NVVM ops allowed) to LLVM IR for
/// nvptx64-nvidia-cuda, with the chip's data layout.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToNVPTXModule(ModuleOp module, llvm::LLVMContext &ctx,
                       const PTXOptions &options);

/// LLVM IR -> PTX text for `options.chip` at the PTX version of the target
/// table. Fails with a message naming the supported chips on a bad chip.
llvm::Expected<std::string> emitPTX(llvm::Module &module,
                                    const PTXOptions &options);

/// Both steps.
llvm::Expected<std::string> emitPTX(ModuleOp module, const PTXOptions &options);

/// Registers the NVVM and LLVM dialect translations in `registry`.
void registerPTXTranslations(DialectRegistry &registry);

} // namespace mlir::parallax

#endif
