//===- FuseProjector.cpp - one [Q;R] K^T product --------------------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::parallax {
#define GEN_PASS_DEF_PARALLAXFUSEPROJECTOR
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

/// A product that reads a K tile with a loop-invariant left operand.
bool isCandidate(TileDotOp dot, scf::ForOp loop) {
  return dot.getTransposeB() && !dot.getAcc() &&
         isLoopInvariant(dot.getA(), loop) && !isLoopInvariant(dot.getB(), loop);
}

/// Fuses one pair in `loop`; returns true if it changed the IR.
bool fuseOnePair(scf::ForOp loop) {
  SmallVector<TileDotOp> dots;
  for (Operation &op : *loop.getBody())
    if (auto dot = dyn_cast<TileDotOp>(op); dot && isCandidate(dot, loop))
      dots.push_back(dot);
  for (size_t i = 0; i < dots.size(); ++i) {
    for (size_t j = i + 1; j < dots.size(); ++j) {
      TileDotOp first = dots[i], second = dots[j];
      if (!loadsSameTile(first.getB(), second.getB()) ||
          first.getA().getType() != second.getA().getType())
        continue;
      IRRewriter rw(loop.getContext());
      // Stack the invariant operands once, before the loop.
      rw.setInsertionPoint(loop);
      auto aType = cast<RankedTensorType>(first.getA().getType());
      auto stackedType = RankedTensorType::get(
          {2 * aType.getDimSize(0), aType.getDimSize(1)}, aType.getElementType());
      Value stacked = TileStackOp::create(rw, first.getLoc(), stackedType,
                                          first.getA(), second.getA());
      // One product in place of the first; the second's K load goes dead.
      rw.setInsertionPoint(first);
      auto sType = first.getType();
      auto fusedType = RankedTensorType::get(
          {2 * sType.getDimSize(0), sType.getDimSize(1)}, sType.getElementType());
      Value fused = TileDotOp::create(rw, first.getLoc(), fusedType, stacked,
                                      first.getB(), Value(), true);
      auto halves = TileUnstackOp::create(rw, first.getLoc(), sType, sType, fused);
      Operation *secondLoad = second.getB().getDefiningOp();
      rw.replaceOp(first, halves.getTop());
      rw.replaceOp(second, halves.getBottom());
      if (secondLoad && secondLoad->use_empty())
        rw.eraseOp(secondLoad);
      return true;
    }
  }
  return false;
}

struct FuseProjectorPass
    : public parallax::impl::ParallaxFuseProjectorBase<FuseProjectorPass> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      while (fuseOnePair(loop)) {
      }
  }
};

} // namespace
