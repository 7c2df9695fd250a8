//===- ParallaxAttrs.h - layout encodings -----------------------*- C++ -*-===//
#ifndef PARALLAX_DIALECT_PARALLAX_IR_PARALLAXATTRS_H
#define PARALLAX_DIALECT_PARALLAX_IR_PARALLAXATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#define GET_ATTRDEF_CLASSES
#include "parallax/Dialect/Parallax/IR/ParallaxAttrs.h.inc"

#endif
