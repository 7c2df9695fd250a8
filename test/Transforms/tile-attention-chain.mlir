// RUN: parallax-opt %s --parallax-tile-attention="block-m=16 block-n=16" | FileCheck %s
// RUN: parallax-opt %s --parallax-lower-to-cpu="block-m=16 block-n=16" | FileCheck %s --check-prefix=CPU

// One attention's result is the next one's queries: each op is tiled with
// its operands as they are when its turn comes (the pass crashed here,
// holding the first op's erased result).

// CHECK-LABEL: func.func @chain
// CHECK: %[[FIRST:.*]] = scf.forall
// CHECK: scf.forall
// CHECK: parallax.tile_load %[[FIRST]][
// CHECK-NOT: parallax.attention
// CPU: llvm.func @chain
// CPU-NOT: parallax.
func.func @chain(%q: tensor<1x1x16x64xf32>, %k: tensor<1x1x32x64xf32>, %v: tensor<1x1x32x64xf32>) -> tensor<1x1x16x64xf32> {
  %o = parallax.attention %q, %k, %v : tensor<1x1x16x64xf32>, tensor<1x1x32x64xf32>, tensor<1x1x32x64xf32> -> tensor<1x1x16x64xf32>
  %p = parallax.attention %o, %k, %v probe %q : tensor<1x1x16x64xf32>, tensor<1x1x32x64xf32>, tensor<1x1x32x64xf32>, tensor<1x1x16x64xf32> -> tensor<1x1x16x64xf32>
  return %p : tensor<1x1x16x64xf32>
}
