//===- CpuNumericsTest.cpp - tiled and fused kernels vs float64 -----------===//
//
// Runs the whole CPU pipeline (tile, optionally fuse, lower, JIT) on random
// inputs over many shapes and compares every element with the float64
// reference. Tolerances: rel-L2 <= 1e-5 for f32 execution, <= 1e-2 for bf16.
//
//===----------------------------------------------------------------------===//
#include "parallax/CPURunner/CpuRunner.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace parallax;
using namespace parallax::cpu;

namespace {

struct Case {
  ref::Shape shape; // B, Hq, Hkv, Lq, Lk, D
  bool causal = false;
  int64_t window = 0;
  bool probe = true;
  bool decode = false;
  std::vector<int32_t> seqLens = {};
  ElementType elt = ElementType::F32;
  int64_t blockM = 16, blockN = 32;
  std::vector<int32_t> varlenQ = {}, varlenK = {};
  int64_t pageSize = 0;
};

std::string name(const Case &c, bool fuse) {
  std::ostringstream os;
  os << (c.decode ? "decode_" : "") << (c.pageSize ? "paged" + std::to_string(c.pageSize) + "_" : "")
     << (c.varlenQ.empty() ? "" : "varlen_")
     << (c.probe ? "parallax_" : "softmax_")
     << "B" << c.shape.B << "_Hq" << c.shape.Hq << "_Hkv" << c.shape.Hkv
     << "_Lq" << c.shape.Lq << "_Lk" << c.shape.Lk << "_D" << c.shape.D
     << (c.causal ? "_causal" : "") << (c.window ? "_w" + std::to_string(c.window) : "")
     << (c.elt == ElementType::BF16 ? "_bf16" : "_f32") << "_bm" << c.blockM
     << "_bn" << c.blockN << (fuse ? "_fused" : "_unfused");
  return os.str();
}

// Readable parameter names in ctest output instead of a byte dump.
void PrintTo(const Case &c, std::ostream *os) { *os << name(c, true); }

std::vector<Case> cases() {
  std::vector<Case> cs;
  // Lq and Lk not multiples of the tiles, all three head dims, GQA 1/4/8.
  for (int64_t d : {64, 96, 128})
    for (int64_t g : {1, 4, 8}) {
      Case c;
      c.shape = {1, 8, 8 / g, 37, 75, d};
      c.causal = (g != 4);
      cs.push_back(c);
    }
  // Lq < Lk: causal aligned to the end of the keys; and Lq > Lk.
  cs.push_back({{2, 2, 1, 20, 90, 64}, true});
  cs.push_back({{1, 2, 2, 70, 30, 64}, true});
  // Sliding windows, with and without causal.
  cs.push_back({{1, 4, 2, 60, 60, 64}, true, 17});
  cs.push_back({{1, 2, 1, 33, 81, 96}, false, 40});
  // Softmax (no probe) through the same kernels.
  cs.push_back({{1, 4, 1, 50, 66, 64}, true, 0, false});
  cs.push_back({{2, 8, 2, 1, 200, 128}, false, 0, false});
  // Decode: Lq = 1 and a few tokens against caches of per-sequence lengths.
  cs.push_back({{3, 8, 1, 1, 300, 128}, false, 0, true, true, {300, 1, 137}});
  cs.push_back({{2, 8, 2, 1, 257, 64}, false, 0, true, true, {0, 200}});
  cs.push_back({{2, 4, 1, 4, 150, 96}, true, 0, true, true, {150, 9}});
  cs.push_back({{1, 8, 8, 1, 100, 64}, true, 32, true, true, {100}});
  // Block sizes: square, tall, tiny, and auto block-m for decode.
  Case big{{1, 4, 2, 129, 129, 64}, true};
  big.blockM = 64;
  big.blockN = 64;
  cs.push_back(big);
  Case tiny{{1, 2, 1, 19, 23, 64}, false};
  tiny.blockM = 8;
  tiny.blockN = 8;
  cs.push_back(tiny);
  Case autoM{{4, 8, 1, 1, 64, 64}, false, 0, true, true, {64, 33, 2, 64}};
  autoM.blockM = 0;
  cs.push_back(autoM);
  // bf16 inputs and outputs, P rounded to bf16 before the PV product.
  Case bf{{1, 8, 2, 48, 96, 128}, true};
  bf.elt = ElementType::BF16;
  cs.push_back(bf);
  // Variable-length batches (packed [T, H, D] with cu_seqlens), including
  // an empty key sequence and Lq > Lk.
  Case vl{{1, 4, 2, 1, 1, 64}, true};
  vl.varlenQ = {37, 1, 64, 5};
  vl.varlenK = {37, 90, 0, 3};
  cs.push_back(vl);
  Case vl2{{1, 8, 8, 1, 1, 96}, false, 20};
  vl2.varlenQ = {100, 17};
  vl2.varlenK = {130, 17};
  vl2.probe = false;
  cs.push_back(vl2);
  // Paged KV caches: shuffled pages through a block table.
  Case pg{{3, 8, 2, 1, 256, 64}, false, 0, true, true, {256, 17, 100}};
  pg.pageSize = 32;
  pg.blockM = 0;
  cs.push_back(pg);
  Case pg2{{2, 4, 4, 3, 128, 64}, true, 0, false, true, {128, 50}};
  pg2.pageSize = 16;
  pg2.blockN = 16;
  cs.push_back(pg2);
  Case bfd{{2, 8, 1, 1, 500, 64}, false, 0, true, true, {500, 123}};
  bfd.elt = ElementType::BF16;
  cs.push_back(bfd);
  return cs;
}

class CpuNumerics
    : public ::testing::TestWithParam<std::tuple<Case, bool>> {};

TEST_P(CpuNumerics, MatchesFloat64Reference) {
  auto [c, fuse] = GetParam();
  KernelSpec spec;
  spec.shape = c.shape;
  spec.options.causal = c.causal;
  spec.options.window = c.window;
  spec.probe = c.probe;
  spec.decode = c.decode;
  spec.elementType = c.elt;
  spec.blockM = c.blockM;
  spec.blockN = c.blockN;
  spec.fuse = fuse;
  spec.varlenQ = c.varlenQ;
  spec.varlenK = c.varlenK;
  spec.pageSize = c.pageSize;
  auto res = check(spec, /*seed=*/17, c.seqLens);
  ASSERT_TRUE(static_cast<bool>(res)) << llvm::toString(res.takeError());
  if (c.varlenQ.empty()) {
    EXPECT_EQ(res->elements, ref::numQ(c.shape));
  }
  EXPECT_LE(res->relL2, tolerance(c.elt)) << buildAttentionModule(spec);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuNumerics,
    ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Bool()),
    [](const auto &info) {
      return name(std::get<0>(info.param), std::get<1>(info.param));
    });

TEST(CpuRunner, RejectsBadShapeWithAClearError) {
  KernelSpec spec;
  spec.shape = {1, 12, 5, 8, 8, 64};
  auto res = check(spec, 1);
  ASSERT_FALSE(static_cast<bool>(res));
  std::string msg = llvm::toString(res.takeError());
  EXPECT_NE(msg.find("Hq (12) must be a multiple of Hkv (5)"), std::string::npos)
      << msg;
}

TEST(CpuRunner, RejectsWrongNumberOfSequenceLengths) {
  KernelSpec spec;
  spec.shape = {2, 1, 1, 1, 8, 64};
  spec.decode = true;
  auto res = check(spec, 1, {8});
  ASSERT_FALSE(static_cast<bool>(res));
  EXPECT_NE(llvm::toString(res.takeError()).find("B is 2, got 1"),
            std::string::npos);
}

} // namespace
