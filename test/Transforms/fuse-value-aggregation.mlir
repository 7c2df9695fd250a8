// RUN: parallax-opt %s -parallax-fuse-value-aggregation | FileCheck %s

// Input: the loop after parallax-fuse-covariance-probe (one alpha). P1 V and
// P2 V read the same V tile and are rescaled by the same alpha: they become
// one [P1;P2] V product into one loop-carried [O1;O2] accumulator.

// CHECK-LABEL: func.func @unfused
// CHECK: %[[INIT:.*]] = parallax.tile_stack %{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<32x16xf32>
// CHECK: %[[LOOP:.*]]:4 = scf.for {{.*}} iter_args({{.*}}, %[[O12:[^ ]+]] = %[[INIT]]) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<32x16xf32>)
// CHECK: %[[VT:.*]] = parallax.tile_load %arg1
// CHECK: %[[A2:.*]] = parallax.tile_stack %[[ALPHA:.*]], %[[ALPHA]] : tensor<16xf32>, tensor<16xf32> -> tensor<32xf32>
// CHECK: %[[ACC:.*]] = parallax.tile_rescale %[[O12]], %[[A2]] : tensor<32x16xf32>, tensor<32xf32>
// CHECK: %[[P12:.*]] = parallax.tile_stack %{{.*}}, %{{.*}} : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<32x8xf32>
// CHECK: %[[O:.*]] = parallax.tile_dot %[[P12]], %[[VT]] acc %[[ACC]] : tensor<32x8xf32>, tensor<8x16xf32>, tensor<32x16xf32> -> tensor<32x16xf32>
// CHECK-NOT: parallax.tile_dot {{.*}} -> tensor<16x16xf32>
// CHECK: scf.yield {{.*}}, %[[O]] :
// CHECK: %[[O1:.*]], %[[O2:.*]] = parallax.tile_unstack %[[LOOP]]#3
// CHECK: parallax.finalize %[[O1]], %{{.*}} probe %[[O2]], %{{.*}}


func.func @unfused(%arg0: tensor<1x1x40x16xf32>, %arg1: tensor<1x1x40x16xf32>, %arg2: tensor<16x16xf32>, %arg3: tensor<16x16xf32>, %arg4: index, %arg5: index) -> tensor<16x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c20 = arith.constant 20 : index
  %c40 = arith.constant 40 : index
  %cst = arith.constant dense<0xFF800000> : tensor<16xf32>
  %cst_0 = arith.constant dense<0.000000e+00> : tensor<16xf32>
  %cst_1 = arith.constant dense<0.000000e+00> : tensor<16x16xf32>
  %0:5 = scf.for %arg6 = %c0 to %arg5 step %c1 iter_args(%arg7 = %cst, %arg8 = %cst_0, %arg9 = %cst_1, %arg10 = %cst_0, %arg11 = %cst_1) -> (tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>) {
    %2 = arith.muli %arg6, %c8 : index
    %3 = parallax.tile_load %arg0[%c0, %c0, %2] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %4 = parallax.tile_dot %arg2, %3 {transpose_b} : tensor<16x16xf32>, tensor<8x16xf32> -> tensor<16x8xf32>
    %5 = parallax.tile_mask %4, %arg4, %2, %c20, %c40 {causal, rows_per_head = 8 : i64, scale = 3.600000e-01 : f32} : tensor<16x8xf32>
    %new_max, %alpha, %probs = parallax.softmax_step %5, %arg7 : tensor<16x8xf32>, tensor<16xf32>
    %6 = parallax.tile_rescale %arg8, %alpha : tensor<16xf32>, tensor<16xf32>
    %7 = parallax.tile_rowsum %probs, %6 : tensor<16x8xf32>, tensor<16xf32>
    %8 = parallax.tile_load %arg1[%c0, %c0, %2] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %9 = parallax.tile_rescale %arg9, %alpha : tensor<16x16xf32>, tensor<16xf32>
    %10 = parallax.tile_dot %probs, %8 acc %9 : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    %11 = parallax.tile_load %arg0[%c0, %c0, %2] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %12 = parallax.tile_dot %arg3, %11 {transpose_b} : tensor<16x16xf32>, tensor<8x16xf32> -> tensor<16x8xf32>
    %13 = arith.mulf %probs, %12 : tensor<16x8xf32>
    %14 = parallax.tile_rescale %arg10, %alpha : tensor<16xf32>, tensor<16xf32>
    %15 = parallax.tile_rowsum %13, %14 : tensor<16x8xf32>, tensor<16xf32>
    %16 = parallax.tile_load %arg1[%c0, %c0, %2] limit %c40 {heads = 1 : i64, rows = 8 : i64} : tensor<1x1x40x16xf32> -> tensor<8x16xf32>
    %17 = parallax.tile_rescale %arg11, %alpha : tensor<16x16xf32>, tensor<16xf32>
    %18 = parallax.tile_dot %13, %16 acc %17 : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    scf.yield %new_max, %7, %10, %15, %18 : tensor<16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>
  }
  %1 = parallax.finalize %0#2, %0#1 probe %0#4, %0#3 : tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<16x16xf32>
  return %1 : tensor<16x16xf32>
}

// Two accumulators rescaled by different factors must stay apart.
// CHECK-LABEL: func.func @different_alpha
// CHECK-COUNT-2: parallax.tile_dot
func.func @different_alpha(%p: tensor<16x8xf32>, %v: tensor<8x16xf32>, %a: tensor<16xf32>, %b: tensor<16xf32>, %n: index) -> (tensor<16x16xf32>, tensor<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %o0 = arith.constant dense<0.0> : tensor<16x16xf32>
  %r:2 = scf.for %j = %c0 to %n step %c1 iter_args(%x = %o0, %y = %o0) -> (tensor<16x16xf32>, tensor<16x16xf32>) {
    %xs = parallax.tile_rescale %x, %a : tensor<16x16xf32>, tensor<16xf32>
    %xn = parallax.tile_dot %p, %v acc %xs : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    %ys = parallax.tile_rescale %y, %b : tensor<16x16xf32>, tensor<16xf32>
    %yn = parallax.tile_dot %p, %v acc %ys : tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    scf.yield %xn, %yn : tensor<16x16xf32>, tensor<16x16xf32>
  }
  return %r#0, %r#1 : tensor<16x16xf32>, tensor<16x16xf32>
}
