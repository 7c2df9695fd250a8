//===- parallax-run.cpp - run a generated kernel on the GPU and check it --===//
//
//   parallax-run KERNEL.json --b=2 --lq=1000 --lk=1000 [--seq-lens=a,b] \
//                [--seed=1] [--bench=50] [--num-splits=N] \
//                [--max-cluster-splits=N] [--pdl | --no-pdl] [--repeat=N] [--no-cache]
//
// sm_90 kernels launch programmatically by default (rt::ProgrammaticLaunch::
// Auto); --pdl insists (an error for a kernel that cannot), --no-pdl
// launches plainly.
//
// --repeat=N launches N times back to back (no synchronization between
// them) before the check, every other launch on negated queries and the
// last on the real ones, so a launch that overlaps or reorders with the one
// before it (e.g. under --pdl, programmatic dependent launch) shows in the
// output or leaves the split-KV counters wrong (checked after the last
// launch: every counter must be back at zero).
//
// Random inputs (never all zeros), rounded to the kernel's dtype; the output
// is poisoned with NaN (0xFF bytes) before the launch; every element is
// compared with the float64 reference. Prints one line; exit 0 only within
// tolerance (rel-L2 <= 1e-2 for bf16, <= 2e-3 for f16, no NaN). Exit 77 when
// there is no GPU (so test drivers can skip).
//
//===----------------------------------------------------------------------===//
#include "parallax/Reference/Float16.h"
#include "parallax/Reference/Reference.h"
#include "parallax/Runtime/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace parallax;
using parallax::ref::fromBf16;
using parallax::ref::fromF16;
using parallax::ref::toBf16;
using parallax::ref::toF16;

namespace {

bool arg(const char *a, const char *name, std::string &out) {
  size_t n = std::strlen(name);
  if (std::strncmp(a, name, n) == 0 && a[n] == '=') {
    out = a + n + 1;
    return true;
  }
  return false;
}

int fail(const std::string &msg, int code = 2) {
  std::fprintf(stderr, "parallax-run: error: %s\n", msg.c_str());
  return code;
}

/// A whole decimal integer in [lo, hi], or false (and why in `err`).
bool parseInt(const std::string &flag, const std::string &text, int64_t lo, int64_t hi,
              int64_t &out, std::string &err) {
  char *end = nullptr;
  errno = 0;
  long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || x < lo || x > hi) {
    err = flag + " takes an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
          ", got '" + text + "'";
    return false;
  }
  out = x;
  return true;
}

/// Comma-separated integers in [lo, hi].
bool parseList(const std::string &flag, const std::string &text, int64_t lo, int64_t hi,
               std::vector<int32_t> &out, std::string &err) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    int64_t x = 0;
    if (!parseInt(flag, text.substr(pos, comma - pos), lo, hi, x, err))
      return false;
    out.push_back(static_cast<int32_t>(x));
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return true;
}

#define CHECK_CU(call)                                                         \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS)                                                    \
      return fail(std::string(#call) + ": " + rt::cudaErrorName(r_));          \
  } while (0)

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return fail("usage: parallax-run KERNEL.json --b=N --lq=N --lk=N "
                "[--seq-lens=a,b,...] [--seed=S] [--bench=ITERS] [--num-splits=N] "
                "[--max-cluster-splits=N] [--pdl | --no-pdl] [--repeat=N] [--no-cache]");
  std::string jsonPath = argv[1];
  int64_t B = 1, Lq = 1, Lk = 1, bench = 0, numSplits = 0;
  rt::LaunchOptions launchOpts;
  int64_t repeat = 1;
  uint64_t seed = 1;
  std::vector<int32_t> seqLens, varlenQ, varlenK;
  rt::CacheOptions cache = rt::defaultCacheOptions();
  // Sizes up to 2^31 - 1 elements a dimension (the kernels' 32-bit lengths).
  const int64_t kMax = 2147483647;
  for (int i = 2; i < argc; ++i) {
    std::string v, err;
    int64_t x = 0;
    bool ok = true;
    if (arg(argv[i], "--b", v))
      ok = parseInt("--b", v, 1, kMax, B, err);
    else if (arg(argv[i], "--lq", v))
      ok = parseInt("--lq", v, 1, kMax, Lq, err);
    else if (arg(argv[i], "--lk", v))
      ok = parseInt("--lk", v, 1, kMax, Lk, err);
    else if (arg(argv[i], "--seed", v)) {
      ok = parseInt("--seed", v, 0, kMax, x, err);
      seed = static_cast<uint64_t>(x);
    } else if (arg(argv[i], "--bench", v))
      ok = parseInt("--bench", v, 0, kMax, bench, err);
    else if (arg(argv[i], "--num-splits", v))
      ok = parseInt("--num-splits", v, 0, 1024, numSplits, err);
    else if (arg(argv[i], "--max-cluster-splits", v)) {
      ok = parseInt("--max-cluster-splits", v, 0, rt::kMaxClusterSplits, x, err);
      launchOpts.maxClusterSplits = x;
    } else if (arg(argv[i], "--repeat", v))
      ok = parseInt("--repeat", v, 1, kMax, repeat, err);
    else if (std::strcmp(argv[i], "--pdl") == 0)
      launchOpts.programmaticLaunch = rt::ProgrammaticLaunch::On;
    else if (std::strcmp(argv[i], "--no-pdl") == 0)
      launchOpts.programmaticLaunch = rt::ProgrammaticLaunch::Off;
    else if (arg(argv[i], "--seq-lens", v))
      ok = parseList("--seq-lens", v, 0, kMax, seqLens, err);
    else if (arg(argv[i], "--varlen-q", v))
      ok = parseList("--varlen-q", v, 0, kMax, varlenQ, err);
    else if (arg(argv[i], "--varlen-k", v))
      ok = parseList("--varlen-k", v, 0, kMax, varlenK, err);
    else if (std::strcmp(argv[i], "--no-cache") == 0)
      cache.enabled = false;
    else
      return fail(std::string("unknown option '") + argv[i] + "'");
    if (!ok)
      return fail(err);
  }
  for (int32_t len : seqLens)
    if (len > Lk)
      return fail("--seq-lens: a sequence of " + std::to_string(len) +
                  " keys is longer than the cache (--lk=" + std::to_string(Lk) + ")");

  if (cuInit(0) != CUDA_SUCCESS)
    return fail("no CUDA driver or GPU: skipping", 77);
  int count = 0;
  if (cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0)
    return fail("no GPU: skipping", 77);
  CUdevice dev;
  CUcontext ctx;
  CHECK_CU(cuDeviceGet(&dev, 0));
  CHECK_CU(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK_CU(cuCtxSetCurrent(ctx));

  rt::Kernel kernel;
  rt::Status st = rt::loadKernel(jsonPath, kernel, cache);
  if (!st)
    return fail(st.error);
  const rt::KernelOptions &ko = kernel.info.options;
  bool bf16 = ko.dtype == "bf16";
  std::vector<int32_t> cuQ = {0}, cuK = {0};
  if (ko.varlen) {
    if (varlenQ.empty() || varlenQ.size() != varlenK.size())
      return fail("a varlen kernel needs --varlen-q and --varlen-k with one "
                  "length per sequence each");
    for (size_t i = 0; i < varlenQ.size(); ++i) {
      cuQ.push_back(cuQ.back() + varlenQ[i]);
      cuK.push_back(cuK.back() + varlenK[i]);
    }
    // Packed [T, H, D] holds the elements of [1, T, H, D].
    B = static_cast<int64_t>(varlenQ.size());
    Lq = cuQ.back();
    Lk = cuK.back();
  }
  ref::Shape shape{ko.varlen ? 1 : B, ko.hq, ko.hkv, std::max<int64_t>(Lq, 1),
                   std::max<int64_t>(Lk, 1), ko.headDim};
  ref::Options opts;
  opts.causal = ko.causal;
  opts.window = ko.window;
  opts.scale = ko.scale;
  if (ko.decode && seqLens.empty())
    seqLens.assign(B, static_cast<int32_t>(Lk));
  if (ko.decode && static_cast<int64_t>(seqLens.size()) != B)
    return fail("--seq-lens needs B (" + std::to_string(B) + ") entries");

  size_t nq = ref::numQ(shape), nkv = ref::numKV(shape);
  std::vector<double> q(nq), k(nkv), v(nkv), r(nq, 0.0), expected(nq);
  ref::fillRandom(q.data(), nq, seed * 4 + 1);
  ref::fillRandom(k.data(), nkv, seed * 4 + 2);
  ref::fillRandom(v.data(), nkv, seed * 4 + 3);
  if (ko.probe)
    ref::fillRandom(r.data(), nq, seed * 4 + 4, -0.5, 0.5);
  auto round = [&](std::vector<double> &x) {
    for (double &e : x)
      e = bf16 ? fromBf16(toBf16(e)) : fromF16(toF16(e));
  };
  round(q), round(k), round(v), round(r);
  try {
    if (ko.varlen)
      ref::forwardVarlen(B, ko.hq, ko.hkv, ko.headDim, opts, cuQ.data(),
                         cuK.data(), q.data(), k.data(), v.data(),
                         ko.probe ? r.data() : nullptr, expected.data());
    else if (ko.decode)
      ref::forwardDecode(shape, opts, q.data(), k.data(), v.data(),
                         seqLens.data(), ko.probe ? r.data() : nullptr,
                         expected.data());
    else
      ref::forward(shape, opts, q.data(), k.data(), v.data(),
                   ko.probe ? r.data() : nullptr, expected.data());
  } catch (const std::exception &e) {
    return fail(e.what());
  }
  auto encode = [&](const std::vector<double> &x, bool nanPastLen) {
    std::vector<uint16_t> h(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      h[i] = bf16 ? toBf16(x[i]) : toF16(x[i]);
    if (nanPastLen) // the cache past each sequence is NaN: reading it fails
      for (int64_t b = 0; b < B; ++b)
        for (int64_t hh = 0; hh < ko.hkv; ++hh)
          for (int64_t j = seqLens[b]; j < Lk; ++j)
            for (int64_t d = 0; d < ko.headDim; ++d)
              h[((b * ko.hkv + hh) * Lk + j) * ko.headDim + d] = 0xFFFF;
    return h;
  };
  auto upload = [&](const std::vector<uint16_t> &h, CUdeviceptr &d) {
    CUresult res = cuMemAlloc(&d, std::max<size_t>(2, h.size() * 2));
    if (res == CUDA_SUCCESS && !h.empty())
      res = cuMemcpyHtoD(d, h.data(), h.size() * 2);
    return res;
  };
  CUdeviceptr dq, dqNeg = 0, dk, dv, dr = 0, dout, dlens = 0;
  CHECK_CU(upload(encode(q, false), dq));
  if (repeat > 1) {
    std::vector<uint16_t> neg = encode(q, false);
    for (uint16_t &h : neg)
      h ^= 0x8000; // -q: another softmax, another output
    CHECK_CU(upload(neg, dqNeg));
  }
  // Paged cache: the logical [B, Hkv, Lmax, D] cache goes to shuffled pages
  // of [num_pages, Hkv, page, D] through a block table.
  int64_t page = ko.pageSize, maxPages = 0, numPages = 0;
  std::vector<int32_t> blockTable;
  auto paginate = [&](const std::vector<uint16_t> &logical) {
    std::vector<uint16_t> pages(numPages * ko.hkv * page * ko.headDim, 0xFFFF);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t hh = 0; hh < ko.hkv; ++hh)
        for (int64_t j = 0; j < Lk; ++j) {
          int64_t pg = blockTable[b * maxPages + j / page];
          std::memcpy(&pages[((pg * ko.hkv + hh) * page + j % page) * ko.headDim],
                      &logical[((b * ko.hkv + hh) * Lk + j) * ko.headDim],
                      ko.headDim * 2);
        }
    return pages;
  };
  if (page > 0) {
    maxPages = (Lk + page - 1) / page;
    numPages = B * maxPages + 1;
    std::vector<int32_t> ids(numPages);
    for (int64_t i = 0; i < numPages; ++i)
      ids[i] = static_cast<int32_t>(i);
    // A fixed shuffle (seeded) so pages are never in order.
    uint64_t state = seed * 2654435761u + 1;
    for (int64_t i = numPages - 1; i > 0; --i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      std::swap(ids[i], ids[(state >> 33) % static_cast<uint64_t>(i + 1)]);
    }
    blockTable.assign(ids.begin(), ids.begin() + B * maxPages);
    CHECK_CU(upload(paginate(encode(k, true)), dk));
    CHECK_CU(upload(paginate(encode(v, true)), dv));
  } else {
    CHECK_CU(upload(encode(k, ko.decode), dk));
    CHECK_CU(upload(encode(v, ko.decode), dv));
  }
  if (ko.probe)
    CHECK_CU(upload(encode(r, false), dr));
  CHECK_CU(cuMemAlloc(&dout, nq * 2));
  CHECK_CU(cuMemsetD8(dout, 0xFF, nq * 2)); // poison: NaN in bf16 and f16
  if (ko.decode) {
    CHECK_CU(cuMemAlloc(&dlens, B * 4));
    CHECK_CU(cuMemcpyHtoD(dlens, seqLens.data(), B * 4));
  }
  CUdeviceptr dcuq = 0, dcuk = 0;
  if (ko.varlen) {
    CHECK_CU(cuMemAlloc(&dcuq, cuQ.size() * 4));
    CHECK_CU(cuMemcpyHtoD(dcuq, cuQ.data(), cuQ.size() * 4));
    CHECK_CU(cuMemAlloc(&dcuk, cuK.size() * 4));
    CHECK_CU(cuMemcpyHtoD(dcuk, cuK.data(), cuK.size() * 4));
  }
  std::map<std::string, CUdeviceptr> ptrs = {{"q", dq}, {"out", dout}};
  std::map<std::string, int64_t> dims;
  std::vector<std::string> kvNames = ko.decode ? std::vector<std::string>{"k_cache", "v_cache"}
                                               : std::vector<std::string>{"k", "v"};
  ptrs[kvNames[0]] = dk;
  ptrs[kvNames[1]] = dv;
  if (ko.probe)
    ptrs["r"] = dr;
  if (ko.decode)
    ptrs["seq_lens"] = dlens;
  for (const char *n : {"q", "r"}) {
    dims[std::string(n) + ".dim0"] = B;
    dims[std::string(n) + ".dim2"] = Lq;
  }
  for (const std::string &n : kvNames) {
    dims[n + ".dim0"] = B;
    dims[n + ".dim2"] = Lk;
  }
  dims["seq_lens.dim0"] = B;
  CUdeviceptr dbt = 0;
  if (page > 0) {
    CHECK_CU(cuMemAlloc(&dbt, blockTable.size() * 4));
    CHECK_CU(cuMemcpyHtoD(dbt, blockTable.data(), blockTable.size() * 4));
    ptrs["block_table"] = dbt;
    dims["block_table.dim0"] = B;
    dims["block_table.dim1"] = maxPages;
    for (const std::string &n : kvNames)
      dims[n + ".dim0"] = numPages;
  }
  if (ko.varlen) {
    ptrs["cu_seqlens_q"] = dcuq;
    ptrs["cu_seqlens_k"] = dcuk;
    dims = {{"q.dim0", Lq}, {"r.dim0", Lq}, {"k.dim0", Lk}, {"v.dim0", Lk},
            {"cu_seqlens_q.dim0", B + 1}, {"cu_seqlens_k.dim0", B + 1}};
  }

  // Split-KV kernels: choose the split count, give them a workspace and
  // zeroed per-program counters (the kernel leaves them zeroed).
  CUdeviceptr dwork = 0, dcount = 0;
  int64_t numCounters = 0;
  int64_t clusterSize = 0; // the cluster rt::launch forms (as its rule decides)
  if (kernel.info.workspaceBytesPerCta > 0) {
    dims["num_splits"] = 1;
    int64_t programs = 1;
    for (int d = 0; d < 3; ++d) {
      int64_t g = 0;
      st = rt::evalGrid(kernel.info.grid[d], dims, g);
      if (!st)
        return fail(st.error);
      programs *= g;
    }
    int sms = 0;
    CHECK_CU(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    int64_t keyTiles = (Lk + kernel.info.blockN - 1) / std::max<int64_t>(1, kernel.info.blockN);
    if (numSplits <= 0)
      numSplits = rt::chooseNumSplits(
          programs, keyTiles, sms, kernel.info.kvGroups, kernel.info.blockN,
          rt::clusterMergeFor(kernel.info, dims, launchOpts.maxClusterSplits));
    dims["num_splits"] = numSplits;
    clusterSize = rt::clusterSizeFor(kernel.info,
                                     {numSplits, programs * numSplits, sms,
                                      rt::oneRowMerge(kernel.info, dims)},
                                     launchOpts.maxClusterSplits);
    CHECK_CU(cuMemAlloc(&dwork, std::max<int64_t>(4, programs * numSplits *
                                                      kernel.info.workspaceBytesPerCta)));
    numCounters = std::max<int64_t>(1, programs);
    CHECK_CU(cuMemAlloc(&dcount, numCounters * 4));
    CHECK_CU(cuMemsetD32(dcount, 0, numCounters));
    ptrs["workspace"] = dwork;
    ptrs["counters"] = dcount;
  }
  for (int64_t it = 0; it < repeat; ++it) {
    ptrs["q"] = (repeat - 1 - it) % 2 == 0 ? dq : dqNeg;
    st = rt::launch(kernel, ptrs, dims, 0, launchOpts);
    if (!st)
      return fail(st.error);
  }
  ptrs["q"] = dq;
  CHECK_CU(cuCtxSynchronize());
  std::vector<uint16_t> outH(nq);
  CHECK_CU(cuMemcpyDtoH(outH.data(), dout, nq * 2));
  std::vector<double> got(nq);
  size_t nans = 0;
  double maxAbs = 0;
  for (size_t i = 0; i < nq; ++i) {
    got[i] = bf16 ? fromBf16(outH[i]) : fromF16(outH[i]);
    if (!std::isfinite(got[i]))
      ++nans;
    else
      maxAbs = std::max(maxAbs, std::fabs(got[i] - expected[i]));
  }
  double err = ref::relL2(got.data(), expected.data(), nq);
  double tol = bf16 ? 1e-2 : 2e-3;
  bool ok = nans == 0 && err <= tol;

  double medianUs = 0;
  if (bench > 0) {
    CUevent a, b;
    CHECK_CU(cuEventCreate(&a, 0));
    CHECK_CU(cuEventCreate(&b, 0));
    std::vector<float> times;
    for (int64_t it = 0; it < bench + 3; ++it) {
      CHECK_CU(cuEventRecord(a, 0));
      st = rt::launch(kernel, ptrs, dims, 0, launchOpts);
      if (!st)
        return fail(st.error);
      CHECK_CU(cuEventRecord(b, 0));
      CHECK_CU(cuEventSynchronize(b));
      float ms = 0;
      CHECK_CU(cuEventElapsedTime(&ms, a, b));
      if (it >= 3)
        times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    medianUs = times[times.size() / 2] * 1000.0;
  }
  // Split-KV kernels leave their counters zeroed for the next launch.
  size_t dirtyCounters = 0;
  if (dcount) {
    CHECK_CU(cuCtxSynchronize());
    std::vector<int32_t> counts(numCounters);
    CHECK_CU(cuMemcpyDtoH(counts.data(), dcount, numCounters * 4));
    dirtyCounters = std::count_if(counts.begin(), counts.end(), [](int32_t v) { return v != 0; });
    ok = ok && dirtyCounters == 0;
  }
  if (dwork)
    cuMemFree(dwork), cuMemFree(dcount);
  bool programmatic = rt::launchesProgrammatically(kernel.info, launchOpts);
  std::printf("%s %s%s B=%lld Lq=%lld Lk=%lld rel-L2=%.3e max-abs=%.3e nan=%zu "
              "elements=%zu tol=%.0e cache=%s%s%s\n",
              ok ? "PASS" : "FAIL", kernel.info.entry.c_str(),
              numSplits > 0 ? (" splits=" + std::to_string(numSplits) +
                               (clusterSize
                                    ? " (cluster)"
                                    : ""))
                                  .c_str()
                            : "",
              (long long)B,
              (long long)Lq, (long long)Lk, err, maxAbs, nans, nq, tol,
              kernel.fromCache ? "hit" : "miss",
              bench > 0 ? (" median-us=" + std::to_string(medianUs)).c_str() : "",
              (repeat > 1 || programmatic)
                  ? (" launches=" + std::to_string(repeat) +
                     (programmatic ? " (programmatic)" : ""))
                        .c_str()
                  : "");
  if (dirtyCounters)
    std::printf("FAIL: %zu of %lld split-KV counters left nonzero (the next launch "
                "would start from them)\n",
                dirtyCounters, (long long)numCounters);
  cuMemFree(dq), cuMemFree(dk), cuMemFree(dv), cuMemFree(dout);
  if (dqNeg)
    cuMemFree(dqNeg);
  if (dr)
    cuMemFree(dr);
  if (dlens)
    cuMemFree(dlens);
  return ok ? 0 : 1;
}
