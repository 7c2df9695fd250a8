//===- ParallaxOps.h - parallax operations ----------------------*- C++ -*-===//
#ifndef PARALLAX_DIALECT_PARALLAX_IR_PARALLAXOPS_H
#define PARALLAX_DIALECT_PARALLAX_IR_PARALLAXOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "parallax/Dialect/Parallax/IR/ParallaxAttrs.h"
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"

#define GET_OP_CLASSES
#include "parallax/Dialect/Parallax/IR/ParallaxOps.h.inc"

#endif
