//===- parallax-opt.cpp - the parallax optimizer driver -------------------===//
//
// MlirOptMain with the parallax dialect, its passes and pipelines, and the
// upstream dialects and passes the pipeline goes through. Everything else is
// in libraries: a compiler that embeds the dialect calls the same
// registration functions.
//
//===----------------------------------------------------------------------===//
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::parallax::ParallaxDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllPasses();
  mlir::parallax::registerParallaxPasses();
  mlir::parallax::registerParallaxPipelines();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Parallax optimizer driver\n", registry));
}
