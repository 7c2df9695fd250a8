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
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

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
