//===- KernelInfo.h - kernel metadata, grids and cache keys ----*- C++ -*-===//
//
// The part of the runtime that needs neither CUDA nor MLIR: reading
// parallax-gen's metadata, evaluating grid formulas and computing cache keys.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_RUNTIME_KERNELINFO_H
#define PARALLAX_RUNTIME_KERNELINFO_H

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace parallax::rt {

/// Success, or an error message that names the failing call and CUDA's
/// error name (e.g. "cuModuleLoadData: CUDA_ERROR_INVALID_PTX (...)").
struct Status {
  bool ok = true;
  std::string error;
  static Status success() { return {}; }
  static Status failure(std::string e) { return {false, std::move(e)}; }
  explicit operator bool() const { return ok; }
};

struct Param {
  std::string name;
  bool isPointer; ///< else a 64-bit integer (a dynamic dimension)
};

/// The generator options recorded in the metadata.
struct KernelOptions {
  bool probe = true, decode = false, varlen = false, causal = false;
  int64_t headDim = 0, hq = 0, hkv = 0, window = 0;
  int64_t pageSize = 0; ///< paged decode cache
  double scale = 0;
  std::string dtype;
};

/// The parts of NAME.json the runtime uses; `raw` keeps the whole text.
struct KernelInfo {
  KernelOptions options;
  std::string entry, chip, ptxVersion, compiler, inputIrHash;
  std::vector<Param> params;
  std::array<std::string, 3> grid; ///< "8", "q.dim0" or "ceil(q.dim2/32)"
  std::array<int64_t, 3> block{1, 1, 1};
  int64_t sharedBytes = 0;
  int64_t workspaceBytesPerCta = 0; ///< > 0: split-KV kernel
  int64_t blockN = 0;
  int64_t kvGroups = 1; ///< warp groups that split a CTA's key tiles
  /// Split-KV on sm_90+: launched in clusters of num_splits CTAs (2 to
  /// kMaxClusterSplits), the splits merge through distributed shared memory.
  bool clusterMerge = false;
  /// sm_90+: the kernel waits for the previous grid before touching memory,
  /// so it may be launched with programmatic stream serialization.
  bool programmaticLaunch = false;
  std::string raw;
};

Status parseKernelInfo(const std::string &json, KernelInfo &out);

/// How many CTAs split the keys of one program: about one CTA per SM
/// (programs x splits <= numSMs), at least 4 key tiles per warp group of a
/// split (or 1, up to 8 splits, for short caches), at most 16 splits (the
/// last CTA reads every split's partial), and none unless splitting takes at
/// least 384 keys off each CTA.
int64_t chooseNumSplits(int64_t programs, int64_t keyTiles, int64_t numSMs,
                        int64_t kvGroups, int64_t keysPerTile);

/// Dynamic shared memory for one launch of `ctas` CTAs of a kernel that
/// needs `sharedBytes`. A programmatic launch of at most one CTA per SM asks
/// for `maxSharedPerCta` (the device's opt-in limit, over half an SM's
/// memory), so that no SM takes two of its CTAs: started early beside the
/// previous grid, they would otherwise pile onto the SMs it frees first, two
/// to an SM while others idle (H200, B=1, L=32768: 2-3% slower than a plain
/// launch; one per SM: as fast or faster). Clusters of more than 2 CTAs are
/// not padded: each of their CTAs would need a free SM of one GPC, which can
/// push a grid that fits one wave into two. Anything else: sharedBytes.
int64_t launchSharedBytes(int64_t sharedBytes, int64_t ctas, bool programmatic,
                          int64_t numSMs, int64_t maxSharedPerCta,
                          int64_t clusterSize = 0);

/// The largest portable thread-block cluster (CUDA guarantees 8 on sm_90).
inline constexpr int64_t kMaxClusterSplits = 8;
/// Split counts up to this are launched as clusters by default. On the H200
/// 2-CTA clusters were 0.3-4% faster than the workspace merge at B = 1 to 8,
/// L = 2048 to 16384, and within +-1.2% either way at L = 32768, while 4-
/// and 8-CTA clusters ran up to 1.4x slower once there were more than a few
/// dozen of them (a cluster's CTAs share one GPC, and pairs of them one SM):
/// docs/performance.md.
inline constexpr int64_t kDefaultMaxClusterSplits = 2;

/// How many CTAs form a cluster along x for this launch: num_splits when the
/// kernel merges splits in a cluster and 2 <= num_splits <= min(maxSplits,
/// kMaxClusterSplits) (the merge then skips the workspace round trip), else
/// 0 (no cluster).
int64_t clusterSizeFor(const KernelInfo &info, int64_t numSplits,
                       int64_t maxSplits = kDefaultMaxClusterSplits);

/// Evaluates one grid formula with the dimension values.
Status evalGrid(const std::string &formula,
                const std::map<std::string, int64_t> &dims, int64_t &out);

struct CacheOptions {
  std::string dir;      ///< default: $PARALLAX_CACHE_DIR or ~/.cache/parallax
  bool enabled = true;  ///< PARALLAX_CACHE=0 in the environment turns it off
};
CacheOptions defaultCacheOptions();

/// The cache key: compiler version, every option, chip, PTX version, input
/// IR hash, the PTX itself, and the device's compute capability and driver
/// version, so a cubin never crosses GPUs or compilers.
std::string cacheKey(const KernelInfo &info, const std::string &ptx,
                     int deviceCC, int driverVersion);

/// Programmatic dependent launch: the kernel may start while the previous
/// kernel in the stream finishes (its CTAs wait at entry for that kernel's
/// completion and its memory, so this is always safe), hiding the launch gap
/// between consecutive kernels; the previous kernel gates how early (ours
/// release their dependents after their key loop). It needs a kernel with
/// programmatic_launch in its metadata (sm_90+).
enum class ProgrammaticLaunch {
  Auto, ///< whenever the kernel supports it
  On,   ///< always: an error for a kernel without programmatic_launch
  Off,  ///< a plain launch
};

struct LaunchOptions {
  /// Split-KV kernels with cluster_merge: launch 2 to this many splits as
  /// clusters of num_splits CTAs that merge through distributed shared
  /// memory (see clusterSizeFor; at most kMaxClusterSplits). 0 or 1: always
  /// merge through the workspace.
  int64_t maxClusterSplits = kDefaultMaxClusterSplits;
  /// On the H200 a programmatic launch (one CTA per SM when the grid fits,
  /// launchSharedBytes) was 5-12% faster for calls under about 25 us and
  /// within the noise for longer ones: docs/performance.md.
  ProgrammaticLaunch programmaticLaunch = ProgrammaticLaunch::Auto;
};

/// Whether `launch` launches a kernel with this metadata programmatically.
inline bool launchesProgrammatically(const KernelInfo &info,
                                     const LaunchOptions &options) {
  return options.programmaticLaunch == ProgrammaticLaunch::On ||
         (options.programmaticLaunch == ProgrammaticLaunch::Auto &&
          info.programmaticLaunch);
}

} // namespace parallax::rt

#endif
