//===- TargetInfo.h - facts about the NVIDIA targets ------------*- C++ -*-===//
//
// Every sm- and PTX-version fact the backend uses lives in this one table.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_CONVERSION_TARGETINFO_H
#define PARALLAX_CONVERSION_TARGETINFO_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace mlir::parallax {

struct TargetInfo {
  llvm::StringRef chip;        ///< "sm_80", ..., "sm_90a"
  unsigned computeCapability;  ///< 80, 86, 89, 90
  unsigned ptxVersion;         ///< PTX ISA version emitted (x10: 80 = 8.0)
  int64_t maxSharedBytes;      ///< per block, with the opt-in attribute
  int64_t sharedBytesPerSM;    ///< all resident blocks together (1 KB each reserved)
  int64_t maxRegistersPerThread;
  int64_t numSMs;              ///< typical part (A100, A10, L4, H100/H200)
  bool hasWgmma;               ///< warpgroup MMA + TMA (sm_90a)
};

/// The largest thread-block cluster CUDA guarantees on sm_90 (the portable
/// size; 16 with the non-portable attribute). The one-row cluster merge
/// sizes its inbox for it (larger clusters take the general merge), and the
/// runtime launches no larger cluster (rt::kMaxClusterSplits).
inline constexpr int64_t kMaxPortableClusterSize = 8;

/// Whether `name` can be a kernel's PTX entry (and parallax-gen's file name):
/// letters, digits and '_', not starting with a digit.
inline bool isPtxIdentifier(llvm::StringRef name) {
  return !name.empty() && (llvm::isAlpha(name[0]) || name[0] == '_') &&
         llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// Threads per block on every supported chip (sm_80 to sm_90a).
inline constexpr int64_t kMaxThreadsPerBlock = 1024;

/// Shared memory the driver reserves per resident block (sharedBytesPerSM
/// counts it for every block).
inline constexpr int64_t kReservedSharedPerBlock = 1024;

/// The one-row push merge's inbox behind the staging memory: its mbarrier
/// (16 bytes) and one slot per cluster rank of every warp group's slice
/// registers (4 lanes x f32 each). The lowering lays it out so and the tile
/// heuristic leaves room for it.
inline int64_t pushInboxBytes(int64_t kvGroups, int64_t sliceRegs) {
  return 16 + kMaxPortableClusterSize * kvGroups * sliceRegs * 16;
}

/// Kernels with several valid rows that run one CTA per SM push whole
/// partials (every register of every thread, as the workspace lays them
/// out) into rank 0 instead, for
/// clusters of at most this many splits, where that many slots fit beside
/// the staging memory without fewer CTAs per SM fitting (the Rows cluster merges of chooseNumSplits take 2 to
/// 4 splits); larger clusters read through distributed shared memory.
inline constexpr int64_t kMaxPushedPartials = 4;

/// K/V rows staged in shared memory: rows of a multiple of 128 bytes copied
/// by 16-byte cp.async are swizzled (16-byte chunk c of row r at c ^ (r % 8))
/// and unpadded; other rows, and rows that cp.async.bulk copies whole, are
/// padded by 16 bytes so the 8 rows of an ldmatrix hit distinct banks. The
/// lowering lays tiles out this way and the tile heuristic sizes them so.
inline bool stagedRowsSwizzled(int64_t rowBytes, bool bulkCopy) {
  return !bulkCopy && rowBytes % 128 == 0;
}
inline int64_t stagedRowStride(int64_t rowBytes, bool bulkCopy) {
  return rowBytes + (stagedRowsSwizzled(rowBytes, bulkCopy) ? 0 : 16);
}

/// Tensor-map (TMA) copies, sm_90+: a tile is staged as column blocks of 128
/// bytes, [block][row][128 bytes], each written by one copy with the
/// 128-byte swizzle (16-byte chunk c of a block's row r at c ^ (r % 8)); a
/// box has at most 256 rows.
inline constexpr int64_t kTensorMapBlockBytes = 128;
inline constexpr int64_t kTensorMapMaxBoxRows = 256;
/// The swizzle repeats every 8 rows of 128 bytes: where it starts, shared
/// memory must be aligned to 1024 bytes.
inline constexpr int64_t kTensorMapSwizzleAlign = 1024;

/// All supported targets, in order.
llvm::ArrayRef<TargetInfo> supportedTargets();
/// The target for `chip`, or nullptr.
const TargetInfo *lookupTarget(llvm::StringRef chip);
/// "sm_80, sm_86, sm_89, sm_90, sm_90a" for error messages.
std::string supportedChipsList();

} // namespace mlir::parallax

#endif
