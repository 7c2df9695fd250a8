//===- Runtime.cpp - load and launch generated kernels --------------------===//
#include "parallax/Runtime/Runtime.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace parallax::rt;

std::string parallax::rt::cudaErrorName(CUresult r) {
  const char *name = nullptr, *text = nullptr;
  cuGetErrorName(r, &name);
  cuGetErrorString(r, &text);
  return std::string(name ? name : "CUDA_ERROR_UNKNOWN") + " (" +
         (text ? text : "no description") + ")";
}

#define CU_TRY(call)                                                           \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS)                                                    \
      return Status::failure(std::string(#call).substr(0, std::string(#call).find('(')) + \
                             ": " + cudaErrorName(r_));                        \
  } while (0)

Status parallax::rt::encodeTensorMap(const KernelInfo &info, const Param &p, CUdeviceptr source,
                                     const std::map<std::string, int64_t> &dims,
                                     CUtensorMap &out) {
  if (!p.isTensorMap || p.tensorMap.shape.size() != 4 || p.tensorMap.box.size() != 3)
    return Status::failure("parameter '" + p.name +
                           "' is not a tensor map of a [B, H, L, D] source with a 3-D box");
  std::vector<int64_t> shape;
  if (Status s = tensorMapShape(p, dims, shape); !s)
    return s;
  const std::string &dt = info.options.dtype;
  if (dt != "bf16" && dt != "f16")
    return Status::failure("tensor map '" + p.name + "': dtype '" + dt +
                           "' is not supported (bf16 or f16)");
  const int64_t eb = 2;
  // [B, H, L, D] (paged: [pages, H, page, D]) as {D, L, B x H}.
  int64_t rows = shape[2], planes = shape[0] * shape[1], d = shape[3];
  std::string where = "tensor map '" + p.name + "' of '" + p.tensorMap.source + "' [" +
                      std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ", " +
                      std::to_string(shape[2]) + ", " + std::to_string(shape[3]) + "]";
  if (source % 16)
    return Status::failure(where + ": TMA needs the cache 16-byte aligned, got address " +
                           std::to_string(source));
  // The kernel's copy coordinates are signed 32-bit.
  const int64_t maxCoord = (int64_t{1} << 31) - 1;
  if (rows < 1 || planes < 1 || rows > maxCoord || planes > maxCoord)
    return Status::failure(where + ": L and B x H must be 1 to 2^31 - 1 (got " +
                           std::to_string(rows) + " and " + std::to_string(planes) + ")");
  cuuint64_t globalDim[3] = {static_cast<cuuint64_t>(d), static_cast<cuuint64_t>(rows),
                             static_cast<cuuint64_t>(planes)};
  cuuint64_t globalStrides[2] = {static_cast<cuuint64_t>(d * eb),
                                 static_cast<cuuint64_t>(rows * d * eb)};
  cuuint32_t box[3], elementStrides[3] = {1, 1, 1};
  for (int k = 0; k < 3; ++k)
    box[k] = static_cast<cuuint32_t>(p.tensorMap.box[k]);
  CUresult r = cuTensorMapEncodeTiled(
      &out, dt == "bf16" ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
      3, reinterpret_cast<void *>(source), globalDim, globalStrides, box, elementStrides,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      // A box row is 128 bytes: 256-byte promotion made the decode kernels
      // 7-11% slower on the H200 (docs/performance.md, item 23).
      CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    return Status::failure("cuTensorMapEncodeTiled for " + where + ", box " +
                           std::to_string(box[0]) + "x" + std::to_string(box[1]) + "x" +
                           std::to_string(box[2]) + ": " + cudaErrorName(r));
  return Status::success();
}

static bool readFile(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

static int chipCC(const std::string &chip) {
  // "sm_90a" -> 90
  return std::atoi(chip.c_str() + 3);
}

Status parallax::rt::loadKernel(const std::string &jsonPath, Kernel &out,
                                const CacheOptions &cache) {
  std::string json, ptx;
  if (!readFile(jsonPath, json))
    return Status::failure("cannot read kernel metadata " + jsonPath);
  std::string ptxPath = jsonPath.substr(0, jsonPath.rfind('.')) + ".ptx";
  if (!readFile(ptxPath, ptx))
    return Status::failure("cannot read kernel PTX " + ptxPath);
  Status s = parseKernelInfo(json, out.info);
  if (!s)
    return Status::failure(jsonPath + ": " + s.error);

  CUdevice dev;
  CU_TRY(cuCtxGetDevice(&dev));
  int major = 0, minor = 0, driver = 0;
  CU_TRY(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  CU_TRY(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  CU_TRY(cuDriverGetVersion(&driver));
  int cc = major * 10 + minor;
  int need = chipCC(out.info.chip);
  bool archSpecific = out.info.chip.back() == 'a';
  if (need > cc || (archSpecific && need != cc))
    return Status::failure("kernel " + out.info.entry + " was built for " +
                           out.info.chip + " but the device is sm_" +
                           std::to_string(cc) + ": regenerate it with --chip=sm_" +
                           std::to_string(cc));

  std::string key = cacheKey(out.info, ptx, cc, driver);
  std::string cubinPath = cache.dir + "/" + key + ".cubin";
  std::string cubin;
  out.fromCache = cache.enabled && readFile(cubinPath, cubin);
  if (!out.fromCache) {
    CUlinkState link;
    CU_TRY(cuLinkCreate(0, nullptr, nullptr, &link));
    CUresult r = cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<char *>(ptx.c_str()),
                               ptx.size() + 1, out.info.entry.c_str(), 0,
                               nullptr, nullptr);
    if (r != CUDA_SUCCESS) {
      cuLinkDestroy(link);
      return Status::failure("cuLinkAddData(" + ptxPath + "): " + cudaErrorName(r));
    }
    void *image = nullptr;
    size_t size = 0;
    r = cuLinkComplete(link, &image, &size);
    if (r != CUDA_SUCCESS) {
      cuLinkDestroy(link);
      return Status::failure("cuLinkComplete: " + cudaErrorName(r));
    }
    cubin.assign(static_cast<const char *>(image), size);
    cuLinkDestroy(link);
    if (cache.enabled) {
      // Write to a temporary and rename: a reader never sees half a cubin.
      ::mkdir(cache.dir.c_str(), 0755);
      std::string tmp = cubinPath + ".tmp" + std::to_string(::getpid());
      std::ofstream f(tmp, std::ios::binary);
      f.write(cubin.data(), cubin.size());
      f.close();
      if (!f || std::rename(tmp.c_str(), cubinPath.c_str()) != 0)
        std::remove(tmp.c_str()); // caching is best effort
    }
  }
  CU_TRY(cuModuleLoadData(&out.module, cubin.data()));
  CU_TRY(cuModuleGetFunction(&out.function, out.module, out.info.entry.c_str()));
  int sms = 0, optin = 0;
  CU_TRY(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
  CU_TRY(cuDeviceGetAttribute(&optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev));
  out.numSMs = sms;
  out.maxSharedPerCta = optin;
  // Programmatic launches of one wave ask for up to the opt-in limit
  // (launchSharedBytes); anything else for what the kernel needs.
  int64_t maxDynamic = out.info.programmaticLaunch
                           ? std::max<int64_t>(optin, out.info.sharedBytes)
                           : out.info.sharedBytes;
  if (maxDynamic > 48 * 1024)
    CU_TRY(cuFuncSetAttribute(out.function,
                              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                              static_cast<int>(maxDynamic)));
  return Status::success();
}

Status parallax::rt::launch(const Kernel &k,
                            const std::map<std::string, CUdeviceptr> &ptrs,
                            const std::map<std::string, int64_t> &dims,
                            CUstream stream, const LaunchOptions &options) {
  if (options.programmaticLaunch == ProgrammaticLaunch::On && !k.info.programmaticLaunch)
    return Status::failure("programmatic launch of " + k.info.entry +
                           ": the kernel (chip " + k.info.chip +
                           ") does not wait for the previous grid; it needs "
                           "programmatic_launch in its metadata (sm_90 or later)");
  bool programmatic = launchesProgrammatically(k.info, options);
  std::vector<uint64_t> storage(k.info.params.size());
  std::vector<void *> args(k.info.params.size());
  // Sized up front: args point into it.
  std::vector<CUtensorMap> maps(k.info.params.size());
  for (size_t i = 0; i < k.info.params.size(); ++i) {
    const Param &p = k.info.params[i];
    if (p.isTensorMap) {
      auto it = ptrs.find(p.tensorMap.source);
      if (it == ptrs.end())
        return Status::failure("launch of " + k.info.entry + ": no pointer given for '" +
                               p.tensorMap.source + "' (its tensor map '" + p.name + "')");
      if (Status s = encodeTensorMap(k.info, p, it->second, dims, maps[i]); !s)
        return Status::failure("launch of " + k.info.entry + ": " + s.error);
      args[i] = &maps[i];
      continue;
    }
    if (p.isPointer) {
      auto it = ptrs.find(p.name);
      if (it == ptrs.end())
        return Status::failure("launch of " + k.info.entry +
                               ": no pointer given for parameter '" + p.name + "'");
      storage[i] = it->second;
    } else {
      auto it = dims.find(p.name);
      if (it == dims.end())
        return Status::failure("launch of " + k.info.entry +
                               ": no value given for dimension '" + p.name + "'");
      storage[i] = static_cast<uint64_t>(it->second);
    }
    args[i] = &storage[i];
  }
  std::array<int64_t, 3> grid;
  if (Status s = launchGrid(k.info, dims, grid); !s)
    return s;
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0)
    return Status::success(); // nothing to do (an empty batch or sequence)
  int64_t cluster = 0;
  if (auto splits = dims.find("num_splits"); splits != dims.end())
    cluster = clusterSizeFor(k.info,
                             {splits->second, grid[0] * grid[1] * grid[2], k.numSMs,
                              oneRowMerge(k.info, dims)},
                             options.maxClusterSplits);
  CUlaunchAttribute attrs[2] = {};
  unsigned numAttrs = 0;
  if (cluster > 0) {
    // The kernel compares %cluster_nctaid.x with num_splits: clusters of
    // exactly the program's splits (consecutive along x) merge in the cluster.
    CUlaunchAttribute &a = attrs[numAttrs++];
    a.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    a.value.clusterDim.x = static_cast<unsigned>(cluster);
    a.value.clusterDim.y = 1;
    a.value.clusterDim.z = 1;
  }
  if (programmatic) {
    CUlaunchAttribute &a = attrs[numAttrs++];
    a.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    a.value.programmaticStreamSerializationAllowed = 1;
  }
  CUlaunchConfig config{};
  config.gridDimX = static_cast<unsigned>(grid[0]);
  config.gridDimY = static_cast<unsigned>(grid[1]);
  config.gridDimZ = static_cast<unsigned>(grid[2]);
  config.blockDimX = static_cast<unsigned>(k.info.block[0]);
  config.blockDimY = static_cast<unsigned>(k.info.block[1]);
  config.blockDimZ = static_cast<unsigned>(k.info.block[2]);
  config.sharedMemBytes = static_cast<unsigned>(
      launchSharedBytes(k.info.sharedBytes, grid[0] * grid[1] * grid[2], programmatic,
                        k.numSMs, k.maxSharedPerCta, cluster));
  config.hStream = stream;
  config.attrs = attrs;
  config.numAttrs = numAttrs;
  CUresult r = cuLaunchKernelEx(&config, k.function, args.data(), nullptr);
  if (r != CUDA_SUCCESS)
    return Status::failure(
        "cuLaunchKernelEx of " + k.info.entry +
        (cluster ? " in clusters of " + std::to_string(cluster) + " CTAs (one per split)"
                 : std::string()) +
        (programmatic ? " with programmatic stream serialization" : "") +
        ", grid " + std::to_string(grid[0]) + "x" + std::to_string(grid[1]) + "x" +
        std::to_string(grid[2]) + ", " + std::to_string(config.sharedMemBytes) +
        " bytes of dynamic shared memory: " + cudaErrorName(r) +
        (cluster ? "; LaunchOptions::maxClusterSplits = 0 (parallax-run "
                   "--max-cluster-splits=0) merges through the workspace instead"
                 : std::string()) +
        (programmatic ? "; LaunchOptions::programmaticLaunch = Off (parallax-run "
                        "--no-pdl) launches it plainly"
                      : ""));
  return Status::success();
}
