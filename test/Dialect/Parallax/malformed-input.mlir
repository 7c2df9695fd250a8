// Malformed input gives a located diagnostic and a non-zero exit, never a
// crash (`not` fails on a crash).
// RUN: printf '' > %t.empty
// RUN: not parallax-opt %t.empty 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: printf '\001\002\377\376 parallax.attention {{{' > %t.bin
// RUN: not parallax-opt %t.bin 2>&1 | FileCheck %s --check-prefix=BINARY
// RUN: printf 'func.func @f( {\n' > %t.syntax
// RUN: not parallax-opt %t.syntax 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not parallax-opt %s 2>&1 | FileCheck %s --check-prefix=SHAPE

// EMPTY: {{.*}}.empty:1:1: error: the input is empty: expected an MLIR module or operations
// BINARY: {{.*}}.bin:1:1: error:
// SYNTAX: {{.*}}.syntax:1:14: error: expected non-function type
// SHAPE: malformed-input.mlir:[[@LINE+3]]:8: error: 'parallax.attention' op head dim 100 of q does not match head dim 128 of k
func.func @f(%q: tensor<1x8x64x100xf32>, %k: tensor<1x8x64x128xf32>)
    -> tensor<1x8x64x100xf32> {
  %o = parallax.attention %q, %k, %k : tensor<1x8x64x100xf32>, tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32> -> tensor<1x8x64x100xf32>
  return %o : tensor<1x8x64x100xf32>
}
