//===- parallax-translate.cpp - LLVM-dialect module -> LLVM IR or PTX -----===//
//
//   parallax-translate --parallax-to-ptx --chip=sm_90 kernel.mlir -o kernel.ptx
//   parallax-translate --parallax-to-llvmir --chip=sm_80 kernel.mlir
//
//===----------------------------------------------------------------------===//
#include "parallax/Target/PTXEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include "mlir/IR/Diagnostics.h"

#include <cstdlib>

using namespace llvm;

// --help lists these only; LLVM's own flags still parse.
static cl::OptionCategory ToolCategory("parallax-translate options");

static cl::opt<std::string> Input(cl::Positional, cl::desc("<input .mlir>"), cl::init("-"), cl::cat(ToolCategory));
static cl::opt<std::string> Output("o", cl::desc("output file"), cl::init("-"), cl::cat(ToolCategory));
static cl::opt<std::string> Chip("chip", cl::desc("sm_80, sm_86, sm_89, sm_90 or sm_90a (default: the chip the kernels were lowered for, else sm_80)"), cl::init(""), cl::cat(ToolCategory));
static cl::opt<unsigned> OptLevel("O", cl::desc("LLVM codegen optimization level"), cl::init(2), cl::cat(ToolCategory));
enum class Mode { PTX, LLVMIR };
static cl::opt<Mode> Action(cl::desc("what to emit"),
                            cl::values(clEnumValN(Mode::PTX, "parallax-to-ptx", "PTX text (default)"),
                                       clEnumValN(Mode::LLVMIR, "parallax-to-llvmir", "LLVM IR for NVPTX")),
                            cl::init(Mode::PTX), cl::cat(ToolCategory));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(ToolCategory);
  cl::ParseCommandLineOptions(argc, argv, "LLVM-dialect module -> PTX through LLVM's NVPTX target\n");
  // What NVPTX cannot compile (an instruction the chip lacks, a symbol PTX
  // cannot spell) is a fatal error in LLVM: report it as an error, not a crash.
  llvm::install_fatal_error_handler([](void *, const char *reason, bool) {
    errs() << "error: LLVM's NVPTX backend cannot compile this module: " << reason
           << " (was it lowered for this --chip?)\n";
    std::exit(1);
  });
  mlir::DialectRegistry registry;
  registry.insert<mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect>();
  mlir::parallax::registerPTXTranslations(registry);
  mlir::MLIRContext ctx(registry);
  std::string error;
  auto file = mlir::openInputFile(Input, &error);
  if (!file) {
    errs() << "error: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(file), SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sm, &ctx);
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sm, &ctx);
  if (!module)
    return 1;
  mlir::parallax::PTXOptions options;
  options.chip = Chip;
  if (Chip.empty()) {
    // The chip the GPU lowering recorded on the kernels (parallax.chip).
    options.chip = "sm_80";
    module->walk([&](mlir::LLVM::LLVMFuncOp f) {
      if (auto chip = f->getAttrOfType<mlir::StringAttr>("parallax.chip"))
        options.chip = chip.getValue().str();
    });
  }
  options.optLevel = OptLevel;
  std::string text;
  if (Action == Mode::LLVMIR) {
    llvm::LLVMContext llctx;
    auto m = mlir::parallax::translateToNVPTXModule(*module, llctx, options);
    if (!m) {
      errs() << "error: " << toString(m.takeError()) << "\n";
      return 1;
    }
    raw_string_ostream os(text);
    (*m)->print(os, nullptr);
  } else {
    auto ptx = mlir::parallax::emitPTX(*module, options);
    if (!ptx) {
      errs() << "error: " << toString(ptx.takeError()) << "\n";
      return 1;
    }
    text = std::move(*ptx);
  }
  auto out = mlir::openOutputFile(Output, &error);
  if (!out) {
    errs() << "error: " << error << "\n";
    return 1;
  }
  out->os() << text;
  out->keep();
  return 0;
}
