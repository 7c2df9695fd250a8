//===- ParallaxDialect.h - the parallax dialect -----------------*- C++ -*-===//
#ifndef PARALLAX_DIALECT_PARALLAX_IR_PARALLAXDIALECT_H
#define PARALLAX_DIALECT_PARALLAX_IR_PARALLAXDIALECT_H

#include "mlir/IR/Dialect.h"

#include <cstdint>
#include <limits>

#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h.inc"

namespace mlir::parallax {

/// Query rows one warp's m16n8k16 tiles hold: 16, or for Parallax 8 query
/// rows stacked over their 8 probe rows. The tiler (fit-warps), the GPU
/// lowering's shape rule and parallax-gen's tile choice all use it.
inline int64_t queryRowsPerWarp(bool probe) { return probe ? 8 : 16; }

/// Whether a user's scale can become an op's f32 scale attribute: positive,
/// finite and a normal f32. Tools check their input with it before they
/// write IR (0, their "default", picks 1/sqrt(D) and is not passed on).
inline bool isValidScale(double s) {
  return s >= std::numeric_limits<float>::min() && s <= std::numeric_limits<float>::max();
}

} // namespace mlir::parallax

#endif
