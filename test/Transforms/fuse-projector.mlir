// RUN: parallax-opt %s -parallax-fuse-projector | FileCheck %s

// Two products read the same K tile (once through a duplicated load) with the
// loop-invariant Q and R tiles: they become one [Q;R] K^T product.

// CHECK-LABEL: func.func @unfused
// CHECK-SAME: %[[K:[^:]+]]: tensor<1x1x40x16xf32>, %{{[^:]+}}: tensor<1x1x40x16xf32>, %[[Q:[^:]+]]: tensor<16x16xf32>, %[[R:[^:]+]]: tensor<16x16xf32>
// CHECK: %[[QR:.*]] = parallax.tile_stack %[[Q]], %[[R]] : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<32x16xf32>
// CHECK: scf.for
// CHECK: %[[KT:.*]] = parallax.tile_load %[[K]]
// CHECK: %[[S:.*]] = parallax.tile_dot %[[QR]], %[[KT]] {transpose_b} : tensor<32x16xf32>, tensor<8x16xf32> -> tensor<32x8xf32>
// CHECK: %[[S1:.*]], %[[S2:.*]] = parallax.tile_unstack %[[S]]
// CHECK: parallax.tile_mask %[[S1]]
// CHECK: arith.mulf %{{.*}}, %[[S2]]
// The K tile is loaded once and no product of Q or R alone is left.
// CHECK-NOT: parallax.tile_load %[[K]]
// CHECK-NOT: parallax.tile_dot %[[Q]]
// CHECK-NOT: parallax.tile_dot %[[R]]
// CHECK: scf.yield
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
