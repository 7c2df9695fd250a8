// RUN: parallax-opt %s -parallax-fuse-covariance-probe | FileCheck %s

// The covariance stream's running max is provably the softmax stream's (same
// init, same logits): one max, one exp2, one alpha for d1, d2, O1 and O2.

// CHECK-LABEL: func.func @unfused
// CHECK: scf.for {{.*}} iter_args(%[[M:[^ ]+]] = %{{[^,]+}}, %{{[^,]+}} = %{{[^,]+}}, %{{[^,]+}} = %{{[^,]+}}, %{{[^,]+}} = %{{[^,]+}}, %{{[^ ]+}} = %{{[^)]+}}) -> (tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>)
// CHECK: %[[MN:.*]], %[[ALPHA:.*]], %[[P1:.*]] = parallax.softmax_step %{{.*}}, %[[M]]
// CHECK-NOT: parallax.softmax_step
// CHECK: arith.mulf %[[P1]], %{{.*}} : tensor<16x8xf32>
// CHECK: parallax.tile_rescale %{{.*}}, %[[ALPHA]] : tensor<16xf32>
// CHECK: parallax.tile_rescale %{{.*}}, %[[ALPHA]] : tensor<16x16xf32>
// CHECK: scf.yield %[[MN]], {{.*}} : tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>
func.func @unfused(%k: tensor<1x1x40x16xf32>, %v: tensor<1x1x40x16xf32>, %qt: tensor<16x16xf32>, %rt: tensor<16x16xf32>,
                   %row: index, %n: index) -> tensor<16x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c20 = arith.constant 20 : index
  %c40 = arith.constant 40 : index
  %m0 = arith.constant dense<0xFF800000> : tensor<16xf32>
  %d0 = arith.constant dense<0.0> : tensor<16xf32>
  %o0 = arith.constant dense<0.0> : tensor<16x16xf32>
  %res:6 = scf.for %j = %c0 to %n step %c1 iter_args(%m1 = %m0, %d1 = %d0, %o1 = %o0, %m2 = %m0, %d2 = %d0, %o2 = %o0)
      -> (tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>) {
    %col = arith.muli %j, %c8 : index
    %k1 = parallax.tile_load %k[%c0, %c0, %col] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %s1 = parallax.tile_dot %qt, %k1 {transpose_b} : tensor<16x16xf32>, tensor<8x16xf32> -> tensor<16x8xf32>
    %s1m = parallax.tile_mask %s1, %row, %col, %c20, %c40 {causal, rows_per_head = 8 : i64, scale = 0.36 : f32} : tensor<16x8xf32>
    %m1n, %a1, %p1 = parallax.softmax_step %s1m, %m1 : tensor<16x8xf32>, tensor<16xf32>
    %d1s = parallax.tile_rescale %d1, %a1 : tensor<16xf32>, tensor<16xf32>
    %d1n = parallax.tile_rowsum %p1, %d1s : tensor<16x8xf32>, tensor<16xf32>
    %v1 = parallax.tile_load %v[%c0, %c0, %col] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %o1s = parallax.tile_rescale %o1, %a1 : tensor<16x16xf32>, tensor<16xf32>
    %o1n = parallax.tile_dot %p1, %v1 acc %o1s : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    %k2 = parallax.tile_load %k[%c0, %c0, %col] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %s2 = parallax.tile_dot %rt, %k2 {transpose_b} : tensor<16x16xf32>, tensor<8x16xf32> -> tensor<16x8xf32>
    %m2n, %a2, %e2 = parallax.softmax_step %s1m, %m2 : tensor<16x8xf32>, tensor<16xf32>
    %p2 = arith.mulf %e2, %s2 : tensor<16x8xf32>
    %d2s = parallax.tile_rescale %d2, %a2 : tensor<16xf32>, tensor<16xf32>
    %d2n = parallax.tile_rowsum %p2, %d2s : tensor<16x8xf32>, tensor<16xf32>
    %v2 = parallax.tile_load %v[%c0, %c0, %col] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %o2s = parallax.tile_rescale %o2, %a2 : tensor<16x16xf32>, tensor<16xf32>
    %o2n = parallax.tile_dot %p2, %v2 acc %o2s : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    scf.yield %m1n, %d1n, %o1n, %m2n, %d2n, %o2n : tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>
  }
  %o = parallax.finalize %res#2, %res#1 probe %res#5, %res#4 : tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<16x16xf32>
  return %o : tensor<16x16xf32>
}

// Different initial maxima: the streams are not provably equal, nothing fuses.
// CHECK-LABEL: func.func @different_init
// CHECK-COUNT-2: parallax.softmax_step
func.func @different_init(%s: tensor<16x8xf32>, %n: index) -> (tensor<16xf32>, tensor<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m0 = arith.constant dense<0xFF800000> : tensor<16xf32>
  %m1 = arith.constant dense<0.0> : tensor<16xf32>
  %r:2 = scf.for %j = %c0 to %n step %c1 iter_args(%a = %m0, %b = %m1) -> (tensor<16xf32>, tensor<16xf32>) {
    %an, %aa, %ap = parallax.softmax_step %s, %a : tensor<16x8xf32>, tensor<16xf32>
    %bn, %ba, %bp = parallax.softmax_step %s, %b : tensor<16x8xf32>, tensor<16xf32>
    scf.yield %an, %bn : tensor<16xf32>, tensor<16xf32>
  }
  return %r#0, %r#1 : tensor<16xf32>, tensor<16xf32>
}
