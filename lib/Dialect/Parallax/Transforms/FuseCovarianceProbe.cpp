//===- FuseCovarianceProbe.cpp - one max, one exp, one rescale ------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::parallax {
#define GEN_PASS_DEF_PARALLAXFUSECOVARIANCEPROBE
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

/// Index of `v` among `loop`'s iter_args, if it is one.
std::optional<unsigned> iterArgIndex(scf::ForOp loop, Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != loop.getBody() || arg.getArgNumber() == 0)
    return std::nullopt;
  return arg.getArgNumber() - 1;
}

/// Two running maxima are provably equal when they start from the same value
/// and each step folds the same logits into them.
bool sameInit(Value a, Value b) {
  if (a == b)
    return true;
  Attribute ca, cb;
  return matchPattern(a, m_Constant(&ca)) && matchPattern(b, m_Constant(&cb)) &&
         ca == cb;
}

bool fuseOnePair(scf::ForOp loop) {
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  SmallVector<SoftmaxStepOp> steps;
  for (Operation &op : *loop.getBody())
    if (auto s = dyn_cast<SoftmaxStepOp>(op))
      steps.push_back(s);
  for (size_t a = 0; a < steps.size(); ++a) {
    for (size_t b = a + 1; b < steps.size(); ++b) {
      SoftmaxStepOp keep = steps[a], drop = steps[b];
      if (keep.getLogits() != drop.getLogits())
        continue;
      auto ia = iterArgIndex(loop, keep.getMax());
      auto ib = iterArgIndex(loop, drop.getMax());
      if (!ia || !ib || *ia == *ib)
        continue;
      if (yield.getOperand(*ia) != keep.getNewMax() ||
          yield.getOperand(*ib) != drop.getNewMax() ||
          !sameInit(loop.getInitArgs()[*ia], loop.getInitArgs()[*ib]))
        continue;
      // The covariance stream now uses the softmax stream's max, alpha and p.
      drop.getAlpha().replaceAllUsesWith(keep.getAlpha());
      drop.getProbs().replaceAllUsesWith(keep.getProbs());
      drop.getNewMax().replaceAllUsesWith(keep.getNewMax());
      drop->erase();

      // Drop the now redundant iter_arg `ib`.
      IRRewriter rw(loop.getContext());
      SmallVector<Value> inits;
      for (auto [k, v] : llvm::enumerate(loop.getInitArgs()))
        if (k != *ib)
          inits.push_back(v);
      unsigned dropped = *ib, kept = *ia;
      scf::ForOp newLoop = rebuildLoopWithInits(
          rw, loop, inits,
          [&](OpBuilder &, Location, ValueRange newArgs, IRMapping &map) {
            unsigned n = 0;
            for (auto [k, old] : llvm::enumerate(loop.getRegionIterArgs())) {
              if (k == dropped)
                continue;
              map.map(old, newArgs[n++]);
            }
            map.map(loop.getRegionIterArgs()[dropped],
                    map.lookup(loop.getRegionIterArgs()[kept]));
          },
          [&](OpBuilder &, Location, ValueRange oldYield, IRMapping &) {
            SmallVector<Value> ys;
            for (auto [k, v] : llvm::enumerate(oldYield))
              if (k != dropped)
                ys.push_back(v);
            return ys;
          });
      unsigned n = 0;
      for (unsigned k = 0; k < loop.getNumResults(); ++k) {
        if (k == dropped)
          continue;
        loop.getResult(k).replaceAllUsesWith(newLoop.getResult(n++));
      }
      unsigned keptNew = kept < dropped ? kept : kept - 1;
      loop.getResult(dropped).replaceAllUsesWith(newLoop.getResult(keptNew));
      rw.eraseOp(loop);
      return true;
    }
  }
  return false;
}

struct FuseCovarianceProbePass
    : public parallax::impl::ParallaxFuseCovarianceProbeBase<FuseCovarianceProbePass> {
  void runOnOperation() override {
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<scf::ForOp> loops;
      getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
      for (scf::ForOp loop : loops)
        if (fuseOnePair(loop)) {
          changed = true;
          break; // the loop was replaced: walk again
        }
    }
  }
};

} // namespace
