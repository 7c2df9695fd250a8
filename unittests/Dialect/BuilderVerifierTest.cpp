//===- BuilderVerifierTest.cpp - build ops in C++ and check verifiers -----===//
#include "parallax/Dialect/Parallax/IR/ParallaxOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::parallax;

namespace {

class DialectTest : public ::testing::Test {
protected:
  DialectTest() {
    ctx.loadDialect<ParallaxDialect, func::FuncDialect>();
    handler = std::make_unique<ScopedDiagnosticHandler>(
        &ctx, [this](Diagnostic &d) {
          messages += d.str() + "\n";
          return success();
        });
  }
  RankedTensorType t(ArrayRef<int64_t> shape, Type elt = {}) {
    return RankedTensorType::get(shape, elt ? elt : Float32Type::get(&ctx));
  }
  /// Builds `parallax.attention` on fresh block arguments of the given types.
  LogicalResult verifyAttention(RankedTensorType q, RankedTensorType k,
                                RankedTensorType v, RankedTensorType r = {},
                                std::optional<int64_t> window = {}) {
    OpBuilder b(&ctx);
    Location loc = b.getUnknownLoc();
    SmallVector<Type> inputs = {q, k, v};
    if (r)
      inputs.push_back(r);
    auto module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module.getBody());
    auto fn = func::FuncOp::create(b, loc, "f", b.getFunctionType(inputs, {}));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    auto op = AttentionOp::create(
        b, loc, q, entry->getArgument(0), entry->getArgument(1),
        entry->getArgument(2), r ? entry->getArgument(3) : Value(),
        /*causal=*/UnitAttr(),
        window ? b.getI64IntegerAttr(*window) : IntegerAttr(), FloatAttr());
    LogicalResult res = op.verify();
    module->erase();
    return res;
  }

  MLIRContext ctx;
  std::string messages;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
};

TEST_F(DialectTest, BuildsValidParallaxAttention) {
  EXPECT_TRUE(succeeded(verifyAttention(t({2, 8, 64, 128}), t({2, 2, 64, 128}),
                                        t({2, 2, 64, 128}),
                                        t({2, 8, 64, 128}))));
  EXPECT_EQ(messages, "");
}

TEST_F(DialectTest, RejectsHeadDimMismatchNamingBoth) {
  EXPECT_TRUE(failed(verifyAttention(t({1, 8, 64, 100}), t({1, 8, 64, 128}),
                                     t({1, 8, 64, 128}))));
  EXPECT_NE(messages.find("head dim 100 of q does not match head dim 128 of k"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, RejectsBadGqaGrouping) {
  EXPECT_TRUE(failed(verifyAttention(t({1, 12, 64, 64}), t({1, 5, 64, 64}),
                                     t({1, 5, 64, 64}))));
  EXPECT_NE(messages.find("Hq (12) must be a multiple of Hkv (5)"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, RejectsProbeOfWrongShape) {
  EXPECT_TRUE(failed(verifyAttention(t({1, 8, 64, 64}), t({1, 8, 64, 64}),
                                     t({1, 8, 64, 64}), t({1, 8, 32, 64}))));
  EXPECT_NE(messages.find("probe r must have the shape and element type of q"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, RejectsNonPositiveWindow) {
  EXPECT_TRUE(failed(verifyAttention(t({1, 1, 8, 64}), t({1, 1, 8, 64}),
                                     t({1, 1, 8, 64}), {}, -3)));
  EXPECT_NE(messages.find("window must be positive"), std::string::npos)
      << messages;
}

TEST_F(DialectTest, EffectiveScaleDefaultsToInverseSqrtHeadDim) {
  OwningOpRef<ModuleOp> m = parseSourceString<ModuleOp>(R"mlir(
    func.func @f(%q: tensor<1x1x4x64xf32>, %k: tensor<1x1x4x64xf32>) -> tensor<1x1x4x64xf32> {
      %o = parallax.attention %q, %k, %k : tensor<1x1x4x64xf32>, tensor<1x1x4x64xf32>, tensor<1x1x4x64xf32> -> tensor<1x1x4x64xf32>
      %p = parallax.attention %q, %k, %k {scale = 0.5 : f32} : tensor<1x1x4x64xf32>, tensor<1x1x4x64xf32>, tensor<1x1x4x64xf32> -> tensor<1x1x4x64xf32>
      return %p : tensor<1x1x4x64xf32>
    })mlir",
                                                        &ctx);
  ASSERT_TRUE(m) << messages;
  SmallVector<double> scales;
  m->walk([&](AttentionOp op) { scales.push_back(op.getEffectiveScale()); });
  ASSERT_EQ(scales.size(), 2u);
  EXPECT_DOUBLE_EQ(scales[0], 0.125);
  EXPECT_DOUBLE_EQ(scales[1], 0.5);
}

TEST_F(DialectTest, LayoutVerifierRejectsEmptyRank) {
  // The textual syntax cannot spell a rank-0 layout; the C++ API can.
  auto attr = BlockedLayoutAttr::getChecked(
      [&] { return emitError(UnknownLoc::get(&ctx)); }, &ctx, {}, {}, {}, {});
  EXPECT_FALSE(attr);
  EXPECT_NE(messages.find("blocked layout needs at least one dimension"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, LayoutRoundTripsThroughBuilder) {
  auto attr = BlockedLayoutAttr::get(&ctx, {1, 8}, {4, 8}, {4, 1}, {1, 0});
  std::string s;
  llvm::raw_string_ostream os(s);
  os << Attribute(attr);
  EXPECT_EQ(s, "#parallax.blocked<sizePerThread = [1, 8], threadsPerWarp = "
               "[4, 8], warpsPerCTA = [4, 1], order = [1, 0]>");
}

TEST_F(DialectTest, GarbageInputGivesADiagnosticNotACrash) {
  OwningOpRef<ModuleOp> m =
      parseSourceString<ModuleOp>("\x01\x02 parallax.attention {{{", &ctx);
  EXPECT_FALSE(m);
  EXPECT_FALSE(messages.empty());
}

} // namespace
