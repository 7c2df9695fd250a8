//===- FuseValueAggregation.cpp - one [P1;P2] V product -------------------===//
#include "Utils.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::parallax {
#define GEN_PASS_DEF_PARALLAXFUSEVALUEAGGREGATION
#include "parallax/Dialect/Parallax/Transforms/Passes.h.inc"
} // namespace mlir::parallax

using namespace mlir;
using namespace mlir::parallax;

namespace {

/// An accumulating P V product whose accumulator is iter_arg `index`,
/// rescaled by `alpha`, and whose result is yielded back into it.
struct Aggregation {
  TileDotOp dot;
  TileRescaleOp rescale;
  unsigned index;
};

std::optional<Aggregation> match(TileDotOp dot, scf::ForOp loop) {
  if (dot.getTransposeB() || !dot.getAcc() || !dot->hasOneUse())
    return std::nullopt;
  auto rescale = dot.getAcc().getDefiningOp<TileRescaleOp>();
  if (!rescale || !rescale->hasOneUse())
    return std::nullopt;
  auto arg = dyn_cast<BlockArgument>(rescale.getInput());
  if (!arg || arg.getOwner() != loop.getBody() || arg.getArgNumber() == 0)
    return std::nullopt;
  unsigned index = arg.getArgNumber() - 1;
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  if (yield.getOperand(index) != dot.getResult())
    return std::nullopt;
  return Aggregation{dot, rescale, index};
}

RankedTensorType doubledRows(Type t) {
  auto rt = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(rt.getShape());
  shape[0] *= 2;
  return RankedTensorType::get(shape, rt.getElementType());
}

void eraseIfDead(RewriterBase &rw, Value v) {
  if (Operation *op = v ? v.getDefiningOp() : nullptr)
    if (op->use_empty())
      rw.eraseOp(op);
}

bool fuseOnePair(scf::ForOp loop) {
  SmallVector<Aggregation> aggs;
  for (Operation &op : *loop.getBody())
    if (auto dot = dyn_cast<TileDotOp>(op))
      if (auto a = match(dot, loop))
        aggs.push_back(*a);
  for (size_t x = 0; x < aggs.size(); ++x) {
    for (size_t y = x + 1; y < aggs.size(); ++y) {
      Aggregation first = aggs[x], second = aggs[y];
      if (!loadsSameTile(first.dot.getB(), second.dot.getB()) ||
          first.rescale.getAlpha() != second.rescale.getAlpha() ||
          first.dot.getA().getType() != second.dot.getA().getType() ||
          first.dot.getType() != second.dot.getType())
        continue;
      IRRewriter rw(loop.getContext());
      Location loc = first.dot.getLoc();
      unsigned i = first.index, j = second.index;
      auto accType = first.dot.getType();
      auto stackedAcc = doubledRows(accType);

      rw.setInsertionPoint(loop);
      Value stackedInit =
          TileStackOp::create(rw, loc, stackedAcc, loop.getInitArgs()[i],
                              loop.getInitArgs()[j]);
      SmallVector<Value> inits;
      for (auto [k, v] : llvm::enumerate(loop.getInitArgs()))
        if (k != i && k != j)
          inits.push_back(v);
      inits.push_back(stackedInit);

      Value stackedArg;
      scf::ForOp newLoop = rebuildLoopWithInits(
          rw, loop, inits,
          [&](OpBuilder &b, Location l, ValueRange newArgs, IRMapping &map) {
            unsigned n = 0;
            for (auto [k, old] : llvm::enumerate(loop.getRegionIterArgs()))
              if (k != i && k != j)
                map.map(old, newArgs[n++]);
            stackedArg = newArgs.back();
            // Keeps the cloned body valid; dead once the products are fused.
            auto halves =
                TileUnstackOp::create(b, l, accType, accType, stackedArg);
            map.map(loop.getRegionIterArgs()[i], halves.getTop());
            map.map(loop.getRegionIterArgs()[j], halves.getBottom());
          },
          [&](OpBuilder &b, Location l, ValueRange oldYield, IRMapping &map) {
            auto dotA = map.lookup(first.dot.getResult()).getDefiningOp<TileDotOp>();
            auto dotB = map.lookup(second.dot.getResult()).getDefiningOp<TileDotOp>();
            Value alpha = map.lookup(first.rescale.getAlpha());
            Value alpha2 = TileStackOp::create(
                b, l, doubledRows(alpha.getType()), alpha, alpha);
            Value acc = TileRescaleOp::create(b, l, stackedArg, alpha2);
            Value probs = TileStackOp::create(
                b, l, doubledRows(dotA.getA().getType()), dotA.getA(),
                dotB.getA());
            Value fused = TileDotOp::create(b, l, stackedAcc, probs,
                                            dotA.getB(), acc, false);
            SmallVector<Value> ys;
            for (auto [k, v] : llvm::enumerate(oldYield))
              if (k != i && k != j)
                ys.push_back(v);
            ys.push_back(fused);
            return ys;
          });

      // Clean the dead unfused products out of the new body.
      scf::YieldOp newYield =
          cast<scf::YieldOp>(newLoop.getBody()->getTerminator());
      SmallVector<TileDotOp> dead;
      for (Operation &op : *newLoop.getBody())
        if (auto d = dyn_cast<TileDotOp>(op); d && d->use_empty())
          dead.push_back(d);
      for (TileDotOp d : dead) {
        Value acc = d.getAcc(), bOperand = d.getB();
        rw.eraseOp(d);
        eraseIfDead(rw, acc);
        eraseIfDead(rw, bOperand);
      }
      (void)newYield;
      for (Operation &op : llvm::make_early_inc_range(*newLoop.getBody()))
        if (isa<TileUnstackOp>(op) && op.use_empty())
          rw.eraseOp(&op);

      rw.setInsertionPointAfter(newLoop);
      auto out = TileUnstackOp::create(rw, loc, accType, accType,
                                       newLoop.getResults().back());
      unsigned n = 0;
      for (unsigned k = 0; k < loop.getNumResults(); ++k) {
        if (k == i)
          loop.getResult(k).replaceAllUsesWith(out.getTop());
        else if (k == j)
          loop.getResult(k).replaceAllUsesWith(out.getBottom());
        else
          loop.getResult(k).replaceAllUsesWith(newLoop.getResult(n++));
      }
      rw.eraseOp(loop);
      return true;
    }
  }
  return false;
}

struct FuseValueAggregationPass
    : public parallax::impl::ParallaxFuseValueAggregationBase<FuseValueAggregationPass> {
  void runOnOperation() override {
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<scf::ForOp> loops;
      getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
      for (scf::ForOp loop : loops)
        if (fuseOnePair(loop)) {
          changed = true;
          break;
        }
    }
  }
};

} // namespace
