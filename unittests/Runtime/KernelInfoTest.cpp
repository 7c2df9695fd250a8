//===- KernelInfoTest.cpp - metadata, grid formulas, cache keys -----------===//
#include "parallax/Runtime/KernelInfo.h"

#include <gtest/gtest.h>

using namespace parallax::rt;

namespace {

const char *kMeta = R"json({
  "block": [128, 1, 1],
  "chip": "sm_90",
  "compiler": "parallax 0.1.0 (MLIR 22.1.8)",
  "entry": "parallax_fwd_d128_bf16_h8x8_causal",
  "grid": ["ceil(q.dim2/32)", "8", "q.dim0"],
  "input_ir_sha256": "abc123",
  "options": {"probe": true, "decode": false, "causal": true, "head_dim": 128,
              "hq": 8, "hkv": 8, "window": 0, "scale": 0, "dtype": "bf16"},
  "params": [{"name": "q", "type": "ptr"}, {"name": "out", "type": "ptr"},
             {"name": "q.dim0", "type": "i64"}],
  "ptx_version": "8.0",
  "shared_bytes": 69632
})json";

TEST(KernelInfo, ParsesGeneratorMetadata) {
  KernelInfo info;
  Status s = parseKernelInfo(kMeta, info);
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(info.entry, "parallax_fwd_d128_bf16_h8x8_causal");
  EXPECT_EQ(info.chip, "sm_90");
  EXPECT_EQ(info.ptxVersion, "8.0");
  ASSERT_EQ(info.params.size(), 3u);
  EXPECT_TRUE(info.params[0].isPointer);
  EXPECT_FALSE(info.params[2].isPointer);
  EXPECT_EQ(info.params[2].name, "q.dim0");
  EXPECT_EQ(info.grid[0], "ceil(q.dim2/32)");
  EXPECT_EQ(info.block[0], 128);
  EXPECT_EQ(info.sharedBytes, 69632);
  EXPECT_TRUE(info.options.probe);
  EXPECT_TRUE(info.options.causal);
  EXPECT_EQ(info.options.headDim, 128);
  EXPECT_EQ(info.options.dtype, "bf16");
}

TEST(KernelInfo, RejectsBrokenMetadataWithAReason) {
  KernelInfo info;
  Status s = parseKernelInfo("{\"entry\": ", info);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("not valid JSON"), std::string::npos) << s.error;
  s = parseKernelInfo("{\"entry\": \"k\"}", info);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("lacks"), std::string::npos) << s.error;
}

TEST(KernelInfo, ParsesTensorMapParameters) {
  std::string meta = kMeta;
  std::string tail = R"({"name": "q.dim0", "type": "i64"}],)";
  std::string maps = R"({"name": "q.dim0", "type": "i64"},
      {"name": "k_cache.tensor_map", "type": "tensor_map", "source": "k_cache",
       "shape": [-1, 8, -1, 128], "box": [64, 16, 1]}],)";
  ASSERT_NE(meta.find(tail), std::string::npos);
  meta.replace(meta.find(tail), tail.size(), maps);
  KernelInfo info;
  Status s = parseKernelInfo(meta, info);
  ASSERT_TRUE(s.ok) << s.error;
  ASSERT_EQ(info.params.size(), 4u);
  const Param &p = info.params[3];
  EXPECT_TRUE(p.isTensorMap);
  EXPECT_FALSE(p.isPointer);
  EXPECT_EQ(p.tensorMap.source, "k_cache");
  EXPECT_EQ(p.tensorMap.box, (std::vector<int64_t>{64, 16, 1}));
  EXPECT_FALSE(info.params[2].isTensorMap);

  // The dynamic dimensions come from the launch, by the source's name.
  std::vector<int64_t> shape;
  ASSERT_TRUE(tensorMapShape(p, {{"k_cache.dim0", 3}, {"k_cache.dim2", 4096}}, shape).ok);
  EXPECT_EQ(shape, (std::vector<int64_t>{3, 8, 4096, 128}));
  s = tensorMapShape(p, {{"k_cache.dim0", 3}}, shape);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("k_cache.dim2"), std::string::npos) << s.error;

  // A tensor map without its shape, and an unknown parameter type.
  std::string broken = meta;
  broken.replace(broken.find(R"("shape": [-1, 8, -1, 128], )"), 27, "");
  EXPECT_FALSE(parseKernelInfo(broken, info).ok);
  std::string unknown = kMeta;
  unknown.replace(unknown.find(R"("type": "i64")"), 13, R"("type": "f32")");
  s = parseKernelInfo(unknown, info);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("unknown type 'f32'"), std::string::npos) << s.error;
}

TEST(KernelInfo, EvaluatesGridFormulas) {
  std::map<std::string, int64_t> dims = {{"q.dim0", 3}, {"q.dim2", 65}};
  int64_t v = 0;
  ASSERT_TRUE(evalGrid("ceil(q.dim2/32)", dims, v).ok);
  EXPECT_EQ(v, 3);
  ASSERT_TRUE(evalGrid("q.dim0", dims, v).ok);
  EXPECT_EQ(v, 3);
  ASSERT_TRUE(evalGrid("8", dims, v).ok);
  EXPECT_EQ(v, 8);
  ASSERT_TRUE(evalGrid("q.dim2-1", dims, v).ok);
  EXPECT_EQ(v, 64);
  dims["num_splits"] = 5;
  ASSERT_TRUE(evalGrid("ceil(q.dim2/32)*num_splits", dims, v).ok);
  EXPECT_EQ(v, 15);
  Status s = evalGrid("k.dim2", dims, v);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("k.dim2"), std::string::npos) << s.error;
}

TEST(KernelInfo, LaunchGridWithinCudaLimits) {
  KernelInfo info;
  info.entry = "k";
  info.grid = {"ceil(q.dim2/16)", "q.dim1", "q.dim0"};
  std::array<int64_t, 3> grid{};
  std::map<std::string, int64_t> dims = {{"q.dim0", 4}, {"q.dim1", 65535}, {"q.dim2", 33}};
  ASSERT_TRUE(launchGrid(info, dims, grid).ok);
  EXPECT_EQ(grid, (std::array<int64_t, 3>{3, 65535, 4}));
  dims["q.dim1"] = 65536; // y over the limit: named, with its formula
  Status s = launchGrid(info, dims, grid);
  ASSERT_FALSE(s.ok);
  EXPECT_NE(s.error.find("grid dimension y is 65536 (q.dim1) but CUDA allows 0 to 65535"),
            std::string::npos)
      << s.error;
  dims["q.dim1"] = 8;
  dims["q.dim0"] = 0; // an empty batch: valid, nothing to launch
  ASSERT_TRUE(launchGrid(info, dims, grid).ok);
  EXPECT_EQ(grid[2], 0);
}

TEST(KernelInfo, SplitHeuristicFillsTheGpuWithoutTinySplits) {
  // 8 programs on 132 SMs, 1024 key tiles: 33 wanted, capped at 16.
  // B = 1, Hkv = 8 on 132 SMs: 16 splits, one CTA per SM.
  EXPECT_EQ(chooseNumSplits(8, 2048, 132, 4, 16), 16);
  // ... but each of the 4 warp groups of a split keeps >= 4 key tiles.
  EXPECT_EQ(chooseNumSplits(8, 128, 132, 4, 16), 8);
  EXPECT_EQ(chooseNumSplits(8, 15, 132, 4, 16), 1);
  // 64 programs: 2 splits (128 CTAs), not a second wave.
  EXPECT_EQ(chooseNumSplits(64, 2048, 132, 4, 16), 2);
  // As many programs as SMs or more: no split.
  EXPECT_EQ(chooseNumSplits(132, 2048, 132, 4, 16), 1);
  EXPECT_EQ(chooseNumSplits(1024, 2048, 132, 4, 16), 1);
  EXPECT_EQ(chooseNumSplits(0, 2048, 132, 4, 16), 1);
  // At most 16 splits (the last CTA reads every partial).
  EXPECT_EQ(chooseNumSplits(1, 1 << 20, 132, 1, 16), 16);
  // No split that takes fewer than 384 keys off a CTA (16-key tiles):
  // L = 512 in 2 splits saves 256 keys.
  EXPECT_EQ(chooseNumSplits(64, 32, 132, 4, 16), 1);
  // Short caches down to 1 tile per warp group, up to 8 splits: B = 1,
  // L = 512 in 8 splits saves 448 keys a CTA; L = 1024: 8, not 4 or 16.
  EXPECT_EQ(chooseNumSplits(8, 32, 132, 4, 16), 8);
  EXPECT_EQ(chooseNumSplits(8, 64, 132, 4, 16), 8);
  EXPECT_EQ(chooseNumSplits(16, 32, 132, 4, 16), 8); // B = 2: 132 / 16 = 8
  EXPECT_EQ(chooseNumSplits(32, 32, 132, 4, 16), 4); // B = 4: 384 keys saved
  // ... in keys: 64-key tiles save 4x as many keys per tile.
  EXPECT_EQ(chooseNumSplits(8, 32, 132, 1, 64), 8);
  // Merged on chip in clusters (the one-row merge): 8 splits, not 16, while
  // a CTA streams at most 512 keys and the grid fills at most half the SMs.
  EXPECT_EQ(chooseNumSplits(8, 256, 132, 4, 16, ClusterMerge::OneRow), 8);   // L = 4096
  EXPECT_EQ(chooseNumSplits(8, 256, 132, 4, 16, ClusterMerge::None), 16);
  EXPECT_EQ(chooseNumSplits(8, 384, 132, 4, 16, ClusterMerge::OneRow), 16);  // L = 6144
  EXPECT_EQ(chooseNumSplits(16, 256, 132, 4, 16, ClusterMerge::OneRow), 8);  // B = 2: 8 anyway
  EXPECT_EQ(chooseNumSplits(8, 256, 100, 4, 16, ClusterMerge::OneRow), 12);  // 64 CTAs > 50 SMs
}

TEST(KernelInfo, SeveralWavesOfLongCachesSplitIntoClusters) {
  // B = 128, Hkv = 8: 1024 programs on 132 SMs (>= 4 per SM).
  auto oneRow = [](int64_t programs, int64_t L) {
    return chooseNumSplits(programs, L / 16, 132, 4, 16, ClusterMerge::OneRow);
  };
  auto rows = [](int64_t programs, int64_t L) {
    return chooseNumSplits(programs, L / 16, 132, 4, 16, ClusterMerge::Rows);
  };
  EXPECT_EQ(oneRow(1024, 512), 1);   // short: no split
  EXPECT_EQ(oneRow(1024, 2048), 1);
  EXPECT_EQ(oneRow(1024, 4096), 4);  // one split per 1024 keys...
  EXPECT_EQ(oneRow(1024, 6144), 6);
  EXPECT_EQ(oneRow(1024, 32768), 8); // ... at most a portable cluster
  EXPECT_EQ(rows(1024, 4096), 1);    // dearer merge: long caches only
  EXPECT_EQ(rows(1024, 16384), 2);
  EXPECT_EQ(rows(1024, 32768), 4);
  EXPECT_EQ(rows(1024, 65536), 4);
  EXPECT_EQ(chooseNumSplits(1024, 2048, 132, 4, 16, ClusterMerge::None), 1);
  // 512 programs (B = 64) are under 4 per SM: the one-wave rules (no split).
  EXPECT_EQ(oneRow(512, 32768), 1);
  EXPECT_EQ(rows(512, 32768), 1);
  EXPECT_EQ(oneRow(528, 32768), 8);
}

TEST(KernelInfo, ClusterLaunchOnlyForClusterMergeKernelsOf2To8Splits) {
  KernelInfo info;
  ASSERT_TRUE(parseKernelInfo(kMeta, info).ok);
  EXPECT_FALSE(info.clusterMerge); // absent in the metadata: off
  EXPECT_FALSE(info.programmaticLaunch);
  std::string split(kMeta);
  split.insert(split.rfind('}'), R"(, "workspace_bytes_per_cta": 8576, "cluster_merge": true,
    "programmatic_launch": true)");
  ASSERT_TRUE(parseKernelInfo(split, info).ok);
  EXPECT_TRUE(info.clusterMerge);
  EXPECT_TRUE(info.programmaticLaunch);
  EXPECT_EQ(info.workspaceBytesPerCta, 8576);
  // A small grid (B = 1: 8 programs) on 132 SMs, with and without the
  // one-row merge.
  auto small = [](int64_t splits, bool oneRow) {
    return SplitLaunch{splits, 8 * splits, 132, oneRow};
  };
  EXPECT_EQ(clusterSizeFor(info, small(1, true)), 0); // one split: nothing to merge
  EXPECT_EQ(clusterSizeFor(info, small(2, false)), 2); // pairs always
  EXPECT_EQ(clusterSizeFor(info, small(3, false)), 0); // 3-8 only one-row...
  EXPECT_EQ(clusterSizeFor(info, small(8, true)), 8);  // ... on half the SMs
  EXPECT_EQ(clusterSizeFor(info, SplitLaunch{8, 128, 132, true}), 0); // B = 2
  EXPECT_EQ(clusterSizeFor(info, small(16, true)), 0); // beyond the portable size
  // Several waves of programs (chooseNumSplits's long-cache split): clusters.
  EXPECT_EQ(clusterSizeFor(info, SplitLaunch{4, 1024 * 4, 132, false}), 4);
  EXPECT_EQ(clusterSizeFor(info, SplitLaunch{8, 1024 * 8, 132, true}), 8);
  EXPECT_EQ(clusterSizeFor(info, SplitLaunch{4, 512 * 4, 132, false}), 0);
  // An explicit limit overrides the rule, up to the portable size.
  EXPECT_EQ(clusterSizeFor(info, small(7, false), 8), 7);
  EXPECT_EQ(clusterSizeFor(info, small(kMaxClusterSplits, false), 8), kMaxClusterSplits);
  EXPECT_EQ(clusterSizeFor(info, small(16, true), 16), 0);
  EXPECT_EQ(clusterSizeFor(info, small(2, true), 0), 0); // clusters off
  EXPECT_EQ(clusterSizeFor(info, small(8, true), 4), 0);
  info.workspaceBytesPerCta = 0; // not a split-KV kernel
  EXPECT_EQ(clusterSizeFor(info, small(2, false)), 0);
  info.workspaceBytesPerCta = 8576;
  info.clusterMerge = false; // sm_80 kernels
  EXPECT_EQ(clusterSizeFor(info, small(2, false)), 0);
}

TEST(KernelInfo, WideDecodeForOneWaveOfLongChunks) {
  EXPECT_TRUE(preferWideDecode(128, 16384, 132));  // B = 8, L = 32768, 2 splits
  EXPECT_TRUE(preferWideDecode(128, 8192, 132));   // B = 16, L = 8192
  EXPECT_FALSE(preferWideDecode(128, 2048, 132));  // B = 1, L = 32768, 16 splits
  EXPECT_FALSE(preferWideDecode(256, 16384, 132)); // two waves (B = 32)
  EXPECT_FALSE(preferWideDecode(1024, 512, 132));  // B = 128, L = 512
  EXPECT_FALSE(preferWideDecode(0, 16384, 132));
}

TEST(KernelInfo, OneRowMergeWhenItsDimensionIsOne) {
  KernelInfo info;
  ASSERT_TRUE(parseKernelInfo(kMeta, info).ok);
  EXPECT_FALSE(oneRowMerge(info, {{"q.dim2", 1}})); // no one_row_merge_dim
  std::string meta(kMeta);
  meta.insert(meta.rfind('}'), R"(, "one_row_merge_dim": "q.dim2")");
  ASSERT_TRUE(parseKernelInfo(meta, info).ok);
  EXPECT_EQ(info.oneRowMergeDim, "q.dim2");
  EXPECT_TRUE(oneRowMerge(info, {{"q.dim0", 4}, {"q.dim2", 1}}));
  EXPECT_FALSE(oneRowMerge(info, {{"q.dim2", 2}}));
  EXPECT_FALSE(oneRowMerge(info, {{"q.dim0", 1}})); // dimension not given
  meta = kMeta;
  meta.insert(meta.rfind('}'), R"(, "one_row_merge_dim": "")");
  ASSERT_TRUE(parseKernelInfo(meta, info).ok);
  EXPECT_FALSE(oneRowMerge(info, {{"q.dim2", 1}}));
}

TEST(KernelInfo, ClusterMergeNeedsTheKernelsMergeAndPortableClusters) {
  std::string meta(kMeta);
  meta.insert(meta.rfind('}'), R"(, "workspace_bytes_per_cta": 8576, "cluster_merge": true,
      "one_row_merge_dim": "q.dim2")");
  KernelInfo info;
  ASSERT_TRUE(parseKernelInfo(meta, info).ok);
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 1}}), ClusterMerge::OneRow);
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 4}}), ClusterMerge::Rows);
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 1}}, kMaxClusterSplits), ClusterMerge::OneRow);
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 1}}, 4), ClusterMerge::None);
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 1}}, 0), ClusterMerge::None);
  info.clusterMerge = false; // sm_80 kernels
  EXPECT_EQ(clusterMergeFor(info, {{"q.dim2", 1}}), ClusterMerge::None);
}

TEST(KernelInfo, CacheKeyChangesWithEverythingItCovers) {
  KernelInfo info;
  ASSERT_TRUE(parseKernelInfo(kMeta, info).ok);
  std::string base = cacheKey(info, "ptx", 90, 13000);
  EXPECT_EQ(base, cacheKey(info, "ptx", 90, 13000)); // deterministic
  EXPECT_NE(base, cacheKey(info, "ptx2", 90, 13000)); // the PTX
  EXPECT_NE(base, cacheKey(info, "ptx", 80, 13000));  // the GPU
  EXPECT_NE(base, cacheKey(info, "ptx", 90, 12080));  // the driver
  KernelInfo other = info;
  other.compiler = "parallax 0.1.1";
  EXPECT_NE(base, cacheKey(other, "ptx", 90, 13000)); // the compiler
  other = info;
  other.inputIrHash = "def456";
  EXPECT_NE(base, cacheKey(other, "ptx", 90, 13000)); // the input IR
  other = info;
  other.raw += " "; // any option (the whole metadata is hashed)
  EXPECT_NE(base, cacheKey(other, "ptx", 90, 13000));
  EXPECT_EQ(base.size(), 32u);
}

} // namespace

TEST(KernelInfo, ProgrammaticLaunchOfOneWaveTakesAnSmPerCta) {
  // H200: 132 SMs, 227 KB opt-in per CTA; a 64 KB kernel.
  const int64_t kb = 1024, need = 64 * kb, optin = 227 * kb;
  // One wave, programmatic: the opt-in limit, so no SM holds two.
  EXPECT_EQ(launchSharedBytes(need, 128, true, 132, optin), optin);
  EXPECT_EQ(launchSharedBytes(need, 132, true, 132, optin), optin);
  // More CTAs than SMs: they must share SMs; plain launches never pad.
  EXPECT_EQ(launchSharedBytes(need, 133, true, 132, optin), need);
  EXPECT_EQ(launchSharedBytes(need, 128, false, 132, optin), need);
  // Clusters: pairs are padded, larger clusters are not (their CTAs would
  // each need a free SM of one GPC).
  EXPECT_EQ(launchSharedBytes(need, 128, true, 132, optin, 2), optin);
  EXPECT_EQ(launchSharedBytes(need, 128, true, 132, optin, 4), need);
  // Never less than the kernel needs.
  EXPECT_EQ(launchSharedBytes(optin + kb, 8, true, 132, optin), optin + kb);
}

TEST(KernelInfo, ProgrammaticLaunchModes) {
  KernelInfo sm90, sm80;
  sm90.programmaticLaunch = true;
  LaunchOptions o;
  EXPECT_TRUE(launchesProgrammatically(sm90, o)); // Auto is the default
  EXPECT_FALSE(launchesProgrammatically(sm80, o));
  o.programmaticLaunch = ProgrammaticLaunch::Off;
  EXPECT_FALSE(launchesProgrammatically(sm90, o));
  o.programmaticLaunch = ProgrammaticLaunch::On; // launch() refuses sm80
  EXPECT_TRUE(launchesProgrammatically(sm80, o));
}
