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
  std::string raw;
};

Status parseKernelInfo(const std::string &json, KernelInfo &out);

/// How many CTAs split the keys of one program: about one CTA per SM
/// (programs x splits <= numSMs), at least 4 key tiles per warp group of a
/// split, at most 16 splits (the last CTA reads every split's partial), and
/// none unless splitting takes at least 512 keys off each CTA.
int64_t chooseNumSplits(int64_t programs, int64_t keyTiles, int64_t numSMs,
                        int64_t kvGroups, int64_t keysPerTile);

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

} // namespace parallax::rt

#endif
