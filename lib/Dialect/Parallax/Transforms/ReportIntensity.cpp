//===- ReportIntensity.cpp - FLOPs, bytes and FLOPs per K/V byte ----------===//
//
// Counts from the tiled IR itself: a product of [M, K] x [K, N] is 2MNK
// FLOPs; a tile load moves rows x D elements. The numbers are per K/V loop
// iteration (and per program for Q/R/O), which is what fusion changes.
//
//===----------------------------------------------------------------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::parallax {
#define GEN_PASS_DEF_PARALLAXREPORTINTENSITY
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

int64_t bytesOf(Type t) {
  auto st = cast<ShapedType>(t);
  return st.getNumElements() * st.getElementTypeBitWidth() / 8;
}

int64_t flopsOf(TileDotOp dot) {
  auto a = dot.getA().getType();
  auto r = dot.getType();
  return 2 * r.getDimSize(0) * r.getDimSize(1) * a.getDimSize(1);
}

struct ReportIntensityPass
    : public parallax::impl::ParallaxReportIntensityBase<ReportIntensityPass> {
  void runOnOperation() override {
    getOperation().walk([&](scf::ForOp loop) {
      int64_t flops = 0, kvBytes = 0, dots = 0, loads = 0;
      loop.getBody()->walk([&](Operation *op) {
        if (auto dot = dyn_cast<TileDotOp>(op)) {
          flops += flopsOf(dot);
          ++dots;
        } else if (auto load = dyn_cast<TileLoadOp>(op)) {
          kvBytes += bytesOf(load.getType());
          ++loads;
        }
      });
      if (dots == 0)
        return;
      // Per program: the Q/R loads before the loop, the O tile after it.
      int64_t qBytes = 0, oBytes = 0;
      Block *program = loop->getBlock();
      for (Operation &op : *program) {
        if (auto load = dyn_cast<TileLoadOp>(op))
          qBytes += bytesOf(load.getType());
        else if (auto fin = dyn_cast<FinalizeOp>(op))
          oBytes += bytesOf(fin.getType());
      }
      double intensity = kvBytes ? double(flops) / double(kvBytes) : 0.0;
      loop.emitRemark() << llvm::formatv(
          "parallax intensity: kv-loop flops={0} kv-bytes={1} "
          "flops/kv-byte={2:F1} dots={3} kv-loads={4} q-bytes={5} o-bytes={6}",
          flops, kvBytes, intensity, dots, loads, qBytes, oBytes);
    });
  }
};

} // namespace
