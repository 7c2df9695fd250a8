//===- Runtime.h - load and launch generated kernels ------------*- C++ -*-===//
//
// No MLIR here: the runtime builds anywhere CUDA's driver API is. It loads a
// kernel's PTX and metadata (parallax-gen's NAME.ptx + NAME.json), keeps an
// on-disk cache of compiled cubins, and launches with the metadata's
// parameter order, grid and block formulas and shared memory.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_RUNTIME_RUNTIME_H
#define PARALLAX_RUNTIME_RUNTIME_H

#include "parallax/Runtime/KernelInfo.h"

#include <cuda.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace parallax::rt {

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string cudaErrorName(CUresult r);

struct Kernel {
  KernelInfo info;
  CUmodule module = nullptr;
  CUfunction function = nullptr;
  bool fromCache = false;
};

/// Loads NAME.json and NAME.ptx (same path, other extension) on the current
/// context's device. Refuses a kernel built for a newer chip than the device.
Status loadKernel(const std::string &jsonPath, Kernel &out,
                  const CacheOptions &cache = defaultCacheOptions());

struct LaunchOptions {
  /// Split-KV kernels with cluster_merge: launch 2 to this many splits as
  /// clusters of num_splits CTAs that merge through distributed shared
  /// memory (see clusterSizeFor; at most kMaxClusterSplits). 0 or 1: always
  /// merge through the workspace.
  int64_t maxClusterSplits = kDefaultMaxClusterSplits;
  /// Programmatic dependent launch: the kernel may start while the previous
  /// kernel in the stream finishes (its CTAs wait at entry for that kernel's
  /// completion), hiding the launch gap between consecutive kernels. Needs
  /// a kernel with programmatic_launch (sm_90+); the previous kernel gates
  /// how early (ours release their dependents after their key loop).
  bool programmaticLaunch = false;
};

/// Launches with pointers and dimensions by parameter name; every parameter
/// must be given. Checks the launch error (not the kernel's completion).
Status launch(const Kernel &k, const std::map<std::string, CUdeviceptr> &ptrs,
              const std::map<std::string, int64_t> &dims, CUstream stream = 0,
              const LaunchOptions &options = {});

} // namespace parallax::rt

#endif
