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
  /// The device's SMs and the most shared memory one CTA may ask for
  /// (launchSharedBytes).
  int64_t numSMs = 0, maxSharedPerCta = 0;
};

/// Loads NAME.json and NAME.ptx (same path, other extension) on the current
/// context's device. Refuses a kernel built for a newer chip than the device.
Status loadKernel(const std::string &jsonPath, Kernel &out,
                  const CacheOptions &cache = defaultCacheOptions());

/// Encodes tensor-map parameter `p` (Param::isTensorMap) of a kernel for the
/// cache at `source` with the launch's dimensions; errors name the map, the
/// shape and CUDA's error.
Status encodeTensorMap(const KernelInfo &info, const Param &p, CUdeviceptr source,
                       const std::map<std::string, int64_t> &dims, CUtensorMap &out);

/// Launches with pointers and dimensions by parameter name (tensor maps are
/// encoded from their source's pointer); every parameter
/// must be given. Checks the launch error (not the kernel's completion).
Status launch(const Kernel &k, const std::map<std::string, CUdeviceptr> &ptrs,
              const std::map<std::string, int64_t> &dims, CUstream stream = 0,
              const LaunchOptions &options = {});

} // namespace parallax::rt

#endif
