//===- CpuRunner.h - run attention kernels on the host ----------*- C++ -*-===//
//
// Compiles a parallax attention op through the CPU pipeline (tile, fuse,
// linalg, bufferize, LLVM), JIT-runs it on random inputs and compares it with
// the float64 reference. This is how CI proves that tiling and fusion keep
// the function, and how a user debugs a kernel without a GPU (like Triton's
// interpreter).
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_CPURUNNER_CPURUNNER_H
#define PARALLAX_CPURUNNER_CPURUNNER_H

#include "parallax/Reference/Reference.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace parallax::cpu {

enum class ElementType { F32, BF16 };

/// One kernel to build: the attention form, its shape and the compiler knobs.
struct KernelSpec {
  ref::Shape shape{1, 1, 1, 1, 1, 64};
  ref::Options options;
  bool probe = true;   ///< Parallax (true) or softmax attention (false).
  bool decode = false; ///< parallax.decode_attention with seq_lens; Lk = Lmax.
  /// parallax.varlen_attention: the query and key lengths of each sequence
  /// (B = their count; shape.B/Lq/Lk are then ignored).
  std::vector<int32_t> varlenQ, varlenK;
  /// decode: a paged cache of pages of this many keys (0 = contiguous); the
  /// pages are shuffled through a block table.
  int64_t pageSize = 0;
  ElementType elementType = ElementType::F32;
  int64_t blockM = 64, blockN = 64;
  bool fuse = true, packGqa = true;
};

/// The high-level IR (one func @kernel) for `spec`.
std::string buildAttentionModule(const KernelSpec &spec);

/// The result of one check against the reference.
struct CheckResult {
  double relL2 = 0;       ///< ||out - ref|| / ||ref||; +inf if any NaN/inf.
  size_t elements = 0;    ///< elements compared (all of them)
  double compileSeconds = 0, runSeconds = 0;
};

/// Compiles and runs `spec` on random inputs drawn from `seed` (decode:
/// `seqLens` gives each sequence's length, default Lk for all; cache entries
/// past a sequence's length are NaN, so reading them fails the check).
/// Outputs are poisoned (0x7f bytes, about 3.4e38) before the kernel writes
/// them, so an unwritten element fails too.
llvm::Expected<CheckResult> check(const KernelSpec &spec, uint64_t seed,
                                  std::vector<int32_t> seqLens = {});

/// Tolerance on rel-L2 for an element type (float32 execution vs float64:
/// 1e-5; bf16 inputs and P rounded to bf16: 1e-2).
double tolerance(ElementType t);

} // namespace parallax::cpu

#endif
