//===- PTXEmitterTest.cpp - PTX emission options ---------------------------===//
#include "parallax/Target/PTXEmitter.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

using namespace mlir::parallax;

namespace {

// LLVM switches loop strength reduction only through TargetPassConfig's
// -disable-lsr option; PTXOptions::loopStrengthReduction sets it per call.
bool lsrDisabled() {
  auto &registered = llvm::cl::getRegisteredOptions();
  return static_cast<llvm::cl::opt<bool> *>(registered["disable-lsr"])->getValue();
}

std::string emitLoop(llvm::LLVMContext &ctx, bool lsr) {
  // A loop of strided stores: enough for LSR to have work.
  const char *ir = R"(
define void @k(ptr addrspace(1) %p, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %off = mul i64 %i, 3
  %q = getelementptr float, ptr addrspace(1) %p, i64 %off
  store float 1.0, ptr addrspace(1) %q
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
})";
  llvm::SMDiagnostic err;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(ir, err, ctx);
  EXPECT_TRUE(m) << err.getMessage().str();
  if (!m)
    return {};
  PTXOptions o;
  o.chip = "sm_90";
  o.loopStrengthReduction = lsr;
  auto ptx = emitPTX(*m, o);
  EXPECT_TRUE(static_cast<bool>(ptx)) << llvm::toString(ptx.takeError());
  return ptx ? *ptx : std::string();
}

TEST(PTXEmitter, LoopStrengthReductionFollowsTheOption) {
  ASSERT_TRUE(llvm::cl::getRegisteredOptions().count("disable-lsr"))
      << "this LLVM has no -disable-lsr: PTXOptions::loopStrengthReduction "
         "would have no effect";
  llvm::LLVMContext ctx;
  std::string off = emitLoop(ctx, false);
  EXPECT_TRUE(lsrDisabled());
  std::string on = emitLoop(ctx, true);
  EXPECT_FALSE(lsrDisabled());
  EXPECT_NE(off.find(".func k("), std::string::npos) << off;
  // The same loop, with and without LSR, compiles to different code.
  EXPECT_NE(off, on);
}

} // namespace
