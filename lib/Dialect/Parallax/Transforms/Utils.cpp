//===- Utils.cpp - helpers shared by the parallax passes ------------------===//
#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::parallax;

Value mlir::parallax::indexConst(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

RankedTensorType mlir::parallax::tileType(ArrayRef<int64_t> shape,
                                          Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

bool mlir::parallax::loadsSameTile(Value a, Value b) {
  if (a == b)
    return true;
  auto la = a.getDefiningOp<TileLoadOp>(), lb = b.getDefiningOp<TileLoadOp>();
  if (!la || !lb)
    return false;
  return la->getOperands() == lb->getOperands() &&
         la->getAttrDictionary() == lb->getAttrDictionary() &&
         la.getType() == lb.getType();
}

bool mlir::parallax::isLoopInvariant(Value v, scf::ForOp loop) {
  return !loop.getRegion().isAncestor(v.getParentRegion());
}

scf::ForOp mlir::parallax::rebuildLoopWithInits(
    RewriterBase &rewriter, scf::ForOp loop, ValueRange newInits,
    function_ref<void(OpBuilder &, Location, ValueRange, IRMapping &)>
        mapIterArgs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange,
                                    IRMapping &)>
        mapYield) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(loop);
  auto newLoop = scf::ForOp::create(rewriter, loop.getLoc(),
                                    loop.getLowerBound(), loop.getUpperBound(),
                                    loop.getStep(), newInits);
  Block *newBody = newLoop.getBody();
  Block *oldBody = loop.getBody();
  IRMapping map;
  map.map(loop.getInductionVar(), newLoop.getInductionVar());
  rewriter.setInsertionPointToStart(newBody);
  // scf.for with init args gets an empty yield we replace below.
  if (!newBody->empty())
    rewriter.eraseOp(newBody->getTerminator());
  rewriter.setInsertionPointToEnd(newBody);
  mapIterArgs(rewriter, loop.getLoc(), newLoop.getRegionIterArgs(), map);
  for (Operation &op : oldBody->without_terminator())
    rewriter.clone(op, map);
  auto oldYield = cast<scf::YieldOp>(oldBody->getTerminator());
  SmallVector<Value> oldYieldMapped;
  for (Value v : oldYield.getOperands())
    oldYieldMapped.push_back(map.lookupOrDefault(v));
  SmallVector<Value> newYield =
      mapYield(rewriter, loop.getLoc(), oldYieldMapped, map);
  scf::YieldOp::create(rewriter, loop.getLoc(), newYield);
  return newLoop;
}
