//===- ParallaxDialect.h - the parallax dialect -----------------*- C++ -*-===//
#ifndef PARALLAX_DIALECT_PARALLAX_IR_PARALLAXDIALECT_H
#define PARALLAX_DIALECT_PARALLAX_IR_PARALLAXDIALECT_H

#include "mlir/IR/Dialect.h"

#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h.inc"

#endif
