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

/// A CUtensorMap passed by value (tma-copy kernels). The launch encodes it
/// from the source's pointer and shape, as the 3-D tensor {D, L, B x H} of a
/// [B, H, L, D] cache with the 128-byte swizzle (encodeTensorMap).
struct TensorMapParam {
  std::string source;         ///< the pointer parameter it maps
  std::vector<int64_t> shape; ///< the source's shape; -1: SOURCE.dimN at launch
  std::vector<int64_t> box;   ///< elements per copy, innermost first
};

struct Param {
  std::string name;
  bool isPointer; ///< else a 64-bit integer (a dynamic dimension) or a tensor map
  bool isTensorMap = false;
  TensorMapParam tensorMap;
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
  /// The kernel's split merges have a one-row form (a tile of one query row:
  /// G = 1, one query per sequence), taken when this launch dimension is 1;
  /// in a cluster it pushes every partial into one CTA. Empty: none.
  std::string oneRowMergeDim;
  /// sm_90+: the kernel waits for the previous grid before touching memory,
  /// so it may be launched with programmatic stream serialization.
  bool programmaticLaunch = false;
  std::string raw;
};

Status parseKernelInfo(const std::string &json, KernelInfo &out);

/// The global shape of a tensor map's source: its metadata shape with the
/// dynamic dimensions taken from `dims` (SOURCE.dimN), or an error naming
/// the missing one.
Status tensorMapShape(const Param &p, const std::map<std::string, int64_t> &dims,
                      std::vector<int64_t> &shape);

/// How the kernel can merge a launch's splits inside thread-block clusters
/// (on chip, without the workspace's global round trip).
enum class ClusterMerge {
  None,   ///< no cluster merge (sm_80, or clusters not allowed)
  Rows,   ///< the splits' partials merged through distributed shared memory
  OneRow, ///< one row pushed into cluster rank 0 (oneRowMerge applies)
};

/// Grids of at least this many programs per SM are several waves of CTAs
/// (two full waves at the decode kernels' 2 CTAs per SM).
inline constexpr int64_t kMultiWaveProgramsPerSM = 4;
inline bool severalWaves(int64_t programs, int64_t numSMs) {
  return programs >= kMultiWaveProgramsPerSM * numSMs;
}

/// How many CTAs split the keys of one program: about one CTA per SM
/// (programs x splits <= numSMs), at least 4 key tiles per warp group of a
/// split (or 1, up to 8 splits, for short caches), at most 16 splits (the
/// last CTA reads every split's partial), and none unless splitting takes at
/// least 384 keys off each CTA. ClusterMerge::OneRow: at most 8 splits while
/// that leaves a CTA at most 512 keys and the clusters fill at most half the
/// SMs. Grids of several waves (kMultiWaveProgramsPerSM) with long caches,
/// where the kernel merges in clusters: shorter CTAs in clusters of 2 to 8
/// (OneRow: one split per 1024 keys from 4096 keys on; Rows: one per 8192
/// keys from 16384 keys on, at most 4).
int64_t chooseNumSplits(int64_t programs, int64_t keyTiles, int64_t numSMs,
                        int64_t kvGroups, int64_t keysPerTile,
                        ClusterMerge merge = ClusterMerge::None);

/// Decode kernels of one shape can be generated narrow (4 warp groups, the
/// default: 2 CTAs per SM) or wide (parallax-gen --kv-groups=8: one CTA per
/// SM with twice the K/V bytes in flight). Whether the wide kernel is the
/// faster one, given the narrow kernel's launch (its grid's CTAs and the
/// keys each CTA streams): one wave of at most one CTA per SM, each CTA
/// streaming at least 8192 keys. On the H200 the wide kernel ran B=8,
/// L=32768 in 238.6-240.6 us against 241.6-244.0, B=16, L=8192 to 16384 and
/// B=4 to 8, L=65536 0.8-14% faster, and tied at 4096-8192 keys a CTA in
/// more splits; it is slower on short chunks and several waves (B=128,
/// L=512 by 11%; B=1, L=32768 in 16 splits by 1-4%): docs/performance.md.
bool preferWideDecode(int64_t ctas, int64_t keysPerCta, int64_t numSMs);

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
/// LaunchOptions::maxClusterSplits's default: clusterSizeFor's own rule.
inline constexpr int64_t kAutoClusterSplits = -1;

/// What clusterSizeFor weighs for one split-KV launch.
struct SplitLaunch {
  int64_t numSplits = 1;
  int64_t ctas = 0;    ///< CTAs in the grid (programs x splits)
  int64_t numSMs = 0;
  bool oneRow = false; ///< the kernel's one-row merge applies (oneRowMerge)
};

/// Whether a launch with these dimensions takes the kernel's one-row merge.
bool oneRowMerge(const KernelInfo &info, const std::map<std::string, int64_t> &dims);

/// The cluster merge chooseNumSplits may count on for a launch with these
/// dimensions and LaunchOptions::maxClusterSplits: None unless the kernel
/// has cluster_merge and clusters of kMaxClusterSplits are allowed.
ClusterMerge clusterMergeFor(const KernelInfo &info,
                             const std::map<std::string, int64_t> &dims,
                             int64_t maxClusterSplits = kAutoClusterSplits);

/// How many CTAs form a cluster along x for this launch: num_splits, or 0
/// (no cluster: the workspace merge). Only kernels with cluster_merge, and
/// 2 <= num_splits <= kMaxClusterSplits. maxSplits >= 0 clusters up to that
/// many splits (0 or 1: never). kAutoClusterSplits, timed on the H200
/// (docs/performance.md): pairs always (0.3-4% faster than the workspace at
/// B = 1 to 8, within +-1.2% at L = 32768); 3 to 8 splits when the
/// one-row merge applies and the grid fills at most half the SMs (B = 1:
/// L = 512 5.4 -> 4.5 us, L = 2048 7.7 -> 6.7 us in 8-CTA clusters), or
/// when the programs alone are several waves (kMultiWaveProgramsPerSM:
/// chooseNumSplits's split of long caches), since other grids of 4- and
/// 8-CTA clusters ran up to 1.4x slower (a cluster's CTAs share one GPC,
/// and pairs of them one SM).
int64_t clusterSizeFor(const KernelInfo &info, const SplitLaunch &launch,
                       int64_t maxSplits = kAutoClusterSplits);

/// Evaluates one grid formula with the dimension values.
Status evalGrid(const std::string &formula,
                const std::map<std::string, int64_t> &dims, int64_t &out);

/// The launch's grid (x, y, z) from the kernel's formulas, checked against
/// CUDA's limits (x < 2^31, y and z <= 65535). A zero dimension is valid:
/// nothing to launch (an empty batch or sequence).
Status launchGrid(const KernelInfo &info, const std::map<std::string, int64_t> &dims,
                  std::array<int64_t, 3> &grid);

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
  /// memory (at most kMaxClusterSplits). 0 or 1: always merge through the
  /// workspace. kAutoClusterSplits: clusterSizeFor's rule.
  int64_t maxClusterSplits = kAutoClusterSplits;
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
