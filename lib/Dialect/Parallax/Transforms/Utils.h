//===- Utils.h - helpers shared by the parallax passes ----------*- C++ -*-===//
#ifndef PARALLAX_LIB_TRANSFORMS_UTILS_H
#define PARALLAX_LIB_TRANSFORMS_UTILS_H

#include "parallax/Dialect/Parallax/IR/ParallaxOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::parallax {

/// ln(2)^-1: folded into the logit scale so the softmax can use exp2.
constexpr double kLog2e = 1.4426950408889634;

Value indexConst(ImplicitLocOpBuilder &b, int64_t v);
RankedTensorType tileType(ArrayRef<int64_t> shape, Type elementType);

/// True if `a` and `b` load the same tile: the same value, or two
/// `parallax.tile_load`s with identical operands and attributes.
bool loadsSameTile(Value a, Value b);

/// True if `v` is defined outside `loop` (so it can be used before it).
bool isLoopInvariant(Value v, scf::ForOp loop);

/// Replaces `loop` by a copy whose iter_args are `newInits`; `remap` builds
/// the new yield operands from the old ones inside the new body. Returns the
/// new loop; the old loop's results must be replaced by the caller.
scf::ForOp rebuildLoopWithInits(
    RewriterBase &rewriter, scf::ForOp loop, ValueRange newInits,
    function_ref<void(OpBuilder &, Location, ValueRange newIterArgs,
                      IRMapping &)>
        mapIterArgs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange oldYield,
                                    IRMapping &)>
        mapYield);

} // namespace mlir::parallax

#endif
