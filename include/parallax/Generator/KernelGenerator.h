//===- KernelGenerator.h - attention kernels for a head dim and GPU -*- C++ -*-===//
//
// From a handful of options to PTX and its launch metadata, through the
// whole pipeline: high-level op -> tiled -> fused -> NVVM -> LLVM IR -> PTX.
// The tile configuration comes from one heuristic (chooseTileConfig), which
// explicit options override so that an outside tuner can sweep it.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_GENERATOR_KERNELGENERATOR_H
#define PARALLAX_GENERATOR_KERNELGENERATOR_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::parallax {

struct GenOptions {
  bool probe = true;          ///< Parallax (true) or softmax attention
  bool decode = false;        ///< decode_attention against a cache (seq_lens)
  bool varlen = false;        ///< varlen_attention over packed sequences
  int64_t maxSeqlen = 4096;   ///< varlen: longest sequence the kernel serves
  int64_t pageSize = 0;       ///< decode: paged cache with this page size
  int64_t headDim = 128;
  int64_t hq = 8, hkv = 8;    ///< query and key/value heads (GQA group = hq/hkv)
  std::string dtype = "bf16"; ///< bf16 or f16
  bool causal = false;
  int64_t window = 0;         ///< 0 = none
  double scale = 0;           ///< 0 = 1/sqrt(D)
  std::string chip = "sm_80";
  int64_t blockM = 0, blockN = 0, numWarps = 0; ///< 0 = heuristic
  int64_t numStages = 0;      ///< K/V shared-memory stages, 1-4 (0 = heuristic)
  bool bulkCopy = false;      ///< cp.async.bulk + mbarriers where the chip has them (sm_90+)
  bool tmaCopy = false;       ///< tensor-map TMA copies + mbarriers (sm_90+)
  int64_t minCtasPerSm = 0;   ///< occupancy request to ptxas (0 = heuristic)
  int64_t kvGroups = 0;       ///< warp groups splitting the keys (0 = heuristic)
  int splitKv = -1;           ///< CTAs split the keys too (-1 = heuristic: decode)
  std::string name;           ///< kernel entry; empty = derived from options
  std::string dumpDir;        ///< if set, every stage is written there
  bool tracePhases = false;   ///< profiling: phase timestamps (Conversion/Trace.h)
};

struct TileConfig {
  int64_t blockM, blockN, numWarps;
  bool packGqa;
  int64_t kvGroups;
  bool splitKv;
  int64_t numStages;
  int64_t minCtasPerSm;
};

/// The heuristic: rows per warp are 8 (Parallax: 8 query + 8 probe rows) or
/// 16 (softmax); decode packs the GQA group in one tile; block-n keeps the
/// registers of one iteration under 255.
TileConfig chooseTileConfig(const GenOptions &);

/// Checks the options; the error names the constraint, the value and what is
/// supported (e.g. "head dim 100 is not supported: ...").
llvm::Error validate(const GenOptions &);

struct GeneratedKernel {
  std::string name;
  std::string highLevelIR;
  std::string ptx;
  std::string metadataJson;
  /// Wall seconds per stage (the five MLIR stages, LLVM translation, NVPTX
  /// codegen), for `parallax-gen --timing`.
  std::vector<std::pair<std::string, double>> stageSeconds;
};

llvm::Expected<GeneratedKernel> generateKernel(const GenOptions &);

/// The compiler's version string, part of every cache key.
std::string compilerVersion();

} // namespace mlir::parallax

#endif
