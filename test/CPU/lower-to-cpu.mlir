// RUN: parallax-opt %s --parallax-lower-to-cpu="block-m=16 block-n=32" | FileCheck %s

// The whole host pipeline ends in the LLVM dialect with no parallax, tensor
// or linalg op left, and exp2 as an LLVM intrinsic (no libm call).

// CHECK: llvm.func @prefill
// CHECK: llvm.intr.exp2
// CHECK-NOT: parallax.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
func.func @prefill(%q: tensor<1x4x40x64xf32>, %k: tensor<1x2x40x64xf32>,
                   %v: tensor<1x2x40x64xf32>, %r: tensor<1x4x40x64xf32>) -> tensor<1x4x40x64xf32> {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<1x4x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x4x40x64xf32> -> tensor<1x4x40x64xf32>
  return %o : tensor<1x4x40x64xf32>
}
