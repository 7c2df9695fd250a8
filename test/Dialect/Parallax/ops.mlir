// RUN: parallax-opt %s | parallax-opt | FileCheck %s
// RUN: parallax-opt %s --mlir-print-op-generic | parallax-opt | FileCheck %s

// CHECK-LABEL: func.func @softmax
func.func @softmax(%q: tensor<2x8x128x64xbf16>, %k: tensor<2x8x128x64xbf16>,
                   %v: tensor<2x8x128x64xbf16>) -> tensor<2x8x128x64xbf16> {
  // CHECK: parallax.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16> -> tensor<2x8x128x64xbf16>
  %o = parallax.attention %q, %k, %v : tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16> -> tensor<2x8x128x64xbf16>
  return %o : tensor<2x8x128x64xbf16>
}

// CHECK-LABEL: func.func @parallax_gqa_causal_window
func.func @parallax_gqa_causal_window(%q: tensor<1x12x64x96xf16>, %k: tensor<1x3x256x96xf16>,
                                      %v: tensor<1x3x256x96xf16>, %r: tensor<1x12x64x96xf16>) -> tensor<1x12x64x96xf16> {
  // CHECK: parallax.attention %{{.*}}, %{{.*}}, %{{.*}} probe %{{.*}} {causal, scale = 1.250000e-01 : f32, window = 32 : i64}
  %o = parallax.attention %q, %k, %v probe %r {causal, window = 32 : i64, scale = 0.125 : f32}
      : tensor<1x12x64x96xf16>, tensor<1x3x256x96xf16>, tensor<1x3x256x96xf16>, tensor<1x12x64x96xf16> -> tensor<1x12x64x96xf16>
  return %o : tensor<1x12x64x96xf16>
}

// CHECK-LABEL: func.func @dynamic_lengths
func.func @dynamic_lengths(%q: tensor<?x4x?x128xf32>, %k: tensor<?x1x?x128xf32>,
                           %v: tensor<?x1x?x128xf32>) -> tensor<?x4x?x128xf32> {
  // CHECK: parallax.attention {{.*}} : tensor<?x4x?x128xf32>, tensor<?x1x?x128xf32>, tensor<?x1x?x128xf32> -> tensor<?x4x?x128xf32>
  %o = parallax.attention %q, %k, %v : tensor<?x4x?x128xf32>, tensor<?x1x?x128xf32>, tensor<?x1x?x128xf32> -> tensor<?x4x?x128xf32>
  return %o : tensor<?x4x?x128xf32>
}

// CHECK-LABEL: func.func @decode
func.func @decode(%q: tensor<8x32x1x128xbf16>, %kc: tensor<8x8x4096x128xbf16>,
                  %vc: tensor<8x8x4096x128xbf16>, %lens: tensor<8xi32>,
                  %r: tensor<8x32x1x128xbf16>) -> tensor<8x32x1x128xbf16> {
  // CHECK: parallax.decode_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} probe %{{.*}} {causal}
  %o = parallax.decode_attention %q, %kc, %vc, %lens probe %r {causal}
      : tensor<8x32x1x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8xi32>, tensor<8x32x1x128xbf16> -> tensor<8x32x1x128xbf16>
  return %o : tensor<8x32x1x128xbf16>
}

// CHECK-LABEL: func.func @paged_decode
func.func @paged_decode(%q: tensor<8x32x1x128xbf16>, %kc: tensor<4096x8x16x128xbf16>,
                        %vc: tensor<4096x8x16x128xbf16>, %lens: tensor<8xi32>,
                        %bt: tensor<8x512xi32>, %r: tensor<8x32x1x128xbf16>) -> tensor<8x32x1x128xbf16> {
  // CHECK: parallax.decode_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} block_table %{{.*}} probe %{{.*}} : {{.*}} block_table tensor<8x512xi32>, tensor<8x32x1x128xbf16>
  %o = parallax.decode_attention %q, %kc, %vc, %lens block_table %bt probe %r
      : tensor<8x32x1x128xbf16>, tensor<4096x8x16x128xbf16>, tensor<4096x8x16x128xbf16>, tensor<8xi32> block_table tensor<8x512xi32>, tensor<8x32x1x128xbf16> -> tensor<8x32x1x128xbf16>
  return %o : tensor<8x32x1x128xbf16>
}

// CHECK-LABEL: func.func @varlen
func.func @varlen(%q: tensor<1000x8x64xf16>, %k: tensor<1000x8x64xf16>, %v: tensor<1000x8x64xf16>,
                  %cuq: tensor<5xi32>, %cuk: tensor<5xi32>) -> tensor<1000x8x64xf16> {
  // CHECK: parallax.varlen_attention {{.*}} {causal, max_seqlen_k = 512 : i64, max_seqlen_q = 512 : i64}
  %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk {causal, max_seqlen_q = 512 : i64, max_seqlen_k = 512 : i64}
      : tensor<1000x8x64xf16>, tensor<1000x8x64xf16>, tensor<1000x8x64xf16>, tensor<5xi32>, tensor<5xi32> -> tensor<1000x8x64xf16>
  return %o : tensor<1000x8x64xf16>
}

// CHECK-LABEL: func.func @tile_ops
func.func @tile_ops(%q: tensor<1x4x100x64xbf16>, %k: tensor<1x1x100x64xbf16>, %b: index, %h: index,
                    %row: index, %col: index, %lq: index, %lk: index) -> tensor<32x64xbf16> {
  // CHECK: parallax.tile_load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] {heads = 2 : i64, rows = 16 : i64}
  %qt = parallax.tile_load %q[%b, %h, %row] {heads = 2 : i64, rows = 16 : i64} : tensor<1x4x100x64xbf16> -> tensor<32x64xbf16>
  // CHECK: parallax.tile_load {{.*}} limit %{{.*}} {heads = 1 : i64, rows = 16 : i64}
  %kt = parallax.tile_load %k[%b, %h, %col] limit %lk {heads = 1 : i64, rows = 16 : i64} : tensor<1x1x100x64xbf16> -> tensor<16x64xbf16>
  // CHECK: parallax.tile_dot {{.*}} {transpose_b}
  %s = parallax.tile_dot %qt, %kt {transpose_b} : tensor<32x64xbf16>, tensor<16x64xbf16> -> tensor<32x16xf32>
  // CHECK: parallax.tile_mask {{.*}} {causal, rows_per_head = 16 : i64, scale = 1.000000e+00 : f32, window = 8 : i64}
  %sm = parallax.tile_mask %s, %row, %col, %lq, %lk {causal, window = 8 : i64, scale = 1.0 : f32, rows_per_head = 16 : i64} : tensor<32x16xf32>
  %m0 = arith.constant dense<0xFF800000> : tensor<32xf32>
  %d0 = arith.constant dense<0.0> : tensor<32xf32>
  %o0 = arith.constant dense<0.0> : tensor<32x64xf32>
  // CHECK: parallax.softmax_step
  %m, %alpha, %p = parallax.softmax_step %sm, %m0 : tensor<32x16xf32>, tensor<32xf32>
  // CHECK: parallax.tile_rescale
  %ds = parallax.tile_rescale %d0, %alpha : tensor<32xf32>, tensor<32xf32>
  // CHECK: parallax.tile_rowsum
  %d = parallax.tile_rowsum %p, %ds : tensor<32x16xf32>, tensor<32xf32>
  // CHECK: parallax.tile_stack
  %pp = parallax.tile_stack %p, %p : tensor<32x16xf32>, tensor<32x16xf32> -> tensor<64x16xf32>
  // CHECK: parallax.tile_unstack
  %top, %bottom = parallax.tile_unstack %pp : tensor<64x16xf32> -> tensor<32x16xf32>, tensor<32x16xf32>
  %pb = arith.truncf %top : tensor<32x16xf32> to tensor<32x16xbf16>
  // CHECK: parallax.tile_dot {{.*}} acc
  %o = parallax.tile_dot %pb, %kt acc %o0 : tensor<32x16xbf16>, tensor<16x64xbf16>, tensor<32x64xf32> -> tensor<32x64xf32>
  // CHECK: parallax.finalize {{.*}} probe
  %f = parallax.finalize %o, %d probe %o, %d : tensor<32x64xf32>, tensor<32xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<32x64xbf16>
  return %f : tensor<32x64xbf16>
}

// CHECK-LABEL: func.func @layouts
// CHECK-SAME: blocked = #parallax.blocked<sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]>
// CHECK-SAME: mma = #parallax.mma<version = 2, warpsPerCTA = [4, 1], instrShape = [16, 8, 16]>
// CHECK-SAME: shared = #parallax.shared<vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0], stages = 2>
// CHECK-SAME: wgmma = #parallax.mma<version = 3, warpsPerCTA = [4, 1], instrShape = [64, 128, 16]>
func.func @layouts() attributes {
    blocked = #parallax.blocked<sizePerThread = [1, 8], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]>,
    mma = #parallax.mma<version = 2, warpsPerCTA = [4, 1], instrShape = [16, 8, 16]>,
    wgmma = #parallax.mma<version = 3, warpsPerCTA = [4, 1], instrShape = [64, 128, 16]>,
    shared = #parallax.shared<vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0], stages = 2>} {
  return
}
