// RUN: parallax-opt %s -split-input-file -convert-parallax-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @dot_transposed
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<16x32xbf16>, tensor<8x32xbf16>) outs(%[[Z]] : tensor<16x8xf32>)
// CHECK: arith.extf
// CHECK-NOT: parallax.
func.func @dot_transposed(%a: tensor<16x32xbf16>, %b: tensor<8x32xbf16>) -> tensor<16x8xf32> {
  %c = parallax.tile_dot %a, %b {transpose_b} : tensor<16x32xbf16>, tensor<8x32xbf16> -> tensor<16x8xf32>
  return %c : tensor<16x8xf32>
}

// -----

// CHECK-LABEL: func.func @load_with_limit
// CHECK: tensor.generate
// CHECK: arith.cmpi ult, %{{.*}}, %arg4 : index
// CHECK: scf.if
// CHECK: tensor.extract %arg0
// CHECK-NOT: parallax.
func.func @load_with_limit(%src: tensor<1x2x40x16xf32>, %b: index, %h: index, %row: index, %lim: index) -> tensor<16x16xf32> {
  %t = parallax.tile_load %src[%b, %h, %row] limit %lim {heads = 2 : i64, rows = 8 : i64} : tensor<1x2x40x16xf32> -> tensor<16x16xf32>
  return %t : tensor<16x16xf32>
}

// -----

// The running max guards fully masked rows: exp2 never sees -inf - -inf.
// CHECK-LABEL: func.func @softmax_step
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: arith.cmpf oeq
// CHECK: arith.select
// CHECK: math.exp2
// CHECK: math.exp2
func.func @softmax_step(%s: tensor<16x8xf32>, %m: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16x8xf32>) {
  %mn, %a, %p = parallax.softmax_step %s, %m : tensor<16x8xf32>, tensor<16xf32>
  return %mn, %a, %p : tensor<16xf32>, tensor<16xf32>, tensor<16x8xf32>
}

// -----

// CHECK-LABEL: func.func @finalize
// CHECK: linalg.generic
// CHECK: arith.divf
// CHECK: arith.subf
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @finalize(%o1: tensor<16x8xf32>, %d1: tensor<16xf32>, %o2: tensor<16x8xf32>, %d2: tensor<16xf32>) -> tensor<16x8xbf16> {
  %o = parallax.finalize %o1, %d1 probe %o2, %d2 : tensor<16x8xf32>, tensor<16xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<16x8xbf16>
  return %o : tensor<16x8xbf16>
}

// -----

// CHECK-LABEL: func.func @stack
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0] [16, 8] [1, 1]
// CHECK: tensor.insert_slice %arg1 into %{{.*}}[16, 0] [16, 8] [1, 1]
func.func @stack(%a: tensor<16x8xf32>, %b: tensor<16x8xf32>) -> tensor<32x8xf32> {
  %s = parallax.tile_stack %a, %b : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<32x8xf32>
  return %s : tensor<32x8xf32>
}

// -----

// CHECK-LABEL: func.func @unstack
// CHECK: tensor.extract_slice %arg0[0, 0] [16, 8] [1, 1]
// CHECK: tensor.extract_slice %arg0[16, 0] [16, 8] [1, 1]
func.func @unstack(%s: tensor<32x8xf32>) -> (tensor<16x8xf32>, tensor<16x8xf32>) {
  %t, %u = parallax.tile_unstack %s : tensor<32x8xf32> -> tensor<16x8xf32>, tensor<16x8xf32>
  return %t, %u : tensor<16x8xf32>, tensor<16x8xf32>
}
