//===- parallax-opt.cpp - the parallax optimizer driver -------------------===//
//
// MlirOptMain with the parallax dialect, its passes and pipelines, and the
// upstream dialects and passes the pipeline goes through. Everything else is
// in libraries: a compiler that embeds the dialect calls the same
// registration functions.
//
//===----------------------------------------------------------------------===//
#include "parallax/Conversion/Passes.h"
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

static llvm::cl::opt<std::string> dumpDir(
    "parallax-dump-dir",
    llvm::cl::desc("Write the IR after every pass to DIR as numbered files "
                   "(00-input.mlir, 01-<pass>.mlir, ...) to diff stages"),
    llvm::cl::init(""));

namespace {
/// Writes the top-level IR after each top-level pass into numbered files.
class DumpStages : public mlir::PassInstrumentation {
public:
  explicit DumpStages(std::string dir) : dir(std::move(dir)) {}
  void runBeforePipeline(std::optional<mlir::OperationName>,
                         const PipelineParentInfo &) override {}
  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override {
    if (pass->getArgument().empty())
      return; // a nesting adaptor: its inner passes were written already
    // Nested passes (inside func.func) print their function; the module is
    // what a user diffs, so walk up to it.
    while (op->getParentOp())
      op = op->getParentOp();
    write(llvm::formatv("{0:2}-{1}.mlir", ++count, pass->getArgument()).str(), op,
          false);
  }
  void runBeforePass(mlir::Pass *, mlir::Operation *op) override {
    if (count == 0 && !wroteInput) {
      while (op->getParentOp())
        op = op->getParentOp();
      write("00-input.mlir", op, true);
      wroteInput = true;
    }
  }

private:
  void write(const std::string &name, mlir::Operation *op, bool) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec) {
      llvm::errs() << "parallax-opt: cannot write " << path << ": "
                   << ec.message() << "\n";
      return;
    }
    op->print(os);
  }
  std::string dir;
  unsigned count = 0;
  bool wroteInput = false;
};
} // namespace

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::parallax::ParallaxDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllPasses();
  mlir::parallax::registerParallaxPasses();
  mlir::parallax::registerParallaxConversionPasses();
  mlir::parallax::registerParallaxPipelines();
  mlir::parallax::registerParallaxGpuPipelines();

  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "Parallax optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (!dumpDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dumpDir.getValue())) {
      llvm::errs() << "error: cannot create " << dumpDir << ": " << ec.message()
                   << "\n";
      return 1;
    }
    // Stage dumps need the passes to run one after another on the module.
    mlir::MlirOptMainConfig base = config;
    config.setPassPipelineSetupFn([base](mlir::PassManager &pm) {
      if (mlir::failed(base.setupPassPipeline(pm)))
        return mlir::failure();
      pm.getContext()->disableMultithreading();
      pm.addInstrumentation(std::make_unique<DumpStages>(dumpDir.getValue()));
      return mlir::success();
    });
  }

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &error);
  if (!input) {
    llvm::errs() << "error: " << error << "\n";
    return 1;
  }
  // An empty input is almost always a wrong path or a failed generator step:
  // say so instead of printing an empty module.
  if (input->getBuffer().trim().empty()) {
    llvm::errs() << inputFilename
                 << ":1:1: error: the input is empty: expected an MLIR module "
                    "or operations\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << "error: " << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry,
                                     config)))
    return 1;
  output->keep();
  return 0;
}
