// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=32 num-warps=8" | FileCheck %s
// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=32 pack-gqa=false" | FileCheck %s --check-prefix=NOPACK
// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=0 block-n=32" | FileCheck %s --check-prefix=AUTO

// Parallax, causal, GQA group 4: one program per (batch, KV head, query tile)
// with the 4 query heads (and their probes) packed in one 64-row tile.

// CHECK-LABEL: func.func @parallax_gqa
// CHECK: scf.forall (%[[B:.*]], %[[H:.*]], %[[T:.*]]) in (%{{.*}}, 2, %{{.*}}) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK: %[[QT:.*]] = parallax.tile_load %arg0[%[[B]], %{{.*}}, %{{.*}}] {heads = 4 : i64, rows = 16 : i64} : tensor<1x8x100x64xf32> -> tensor<64x64xf32>
// CHECK: %[[RT:.*]] = parallax.tile_load %arg3[%[[B]], %{{.*}}, %{{.*}}] {heads = 4 : i64, rows = 16 : i64}
// Unfused: the covariance stream has its own max (6 loop-carried values).
// CHECK: scf.for {{.*}} -> (tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>)
// CHECK: %[[K1:.*]] = parallax.tile_load %arg1[%[[B]], %[[H]], %{{.*}}] limit %{{.*}} {heads = 1 : i64, rows = 32 : i64}
// CHECK: %[[S1:.*]] = parallax.tile_dot %[[QT]], %[[K1]] {transpose_b} : tensor<64x64xf32>, tensor<32x64xf32> -> tensor<64x32xf32>
// CHECK: %[[S1M:.*]] = parallax.tile_mask %[[S1]], {{.*}} {causal, rows_per_head = 16 : i64, scale = 0.180336878 : f32}
// CHECK: parallax.softmax_step %[[S1M]]
// CHECK: %[[K2:.*]] = parallax.tile_load %arg1
// CHECK: parallax.tile_dot %[[RT]], %[[K2]] {transpose_b}
// CHECK: parallax.softmax_step %[[S1M]]
// CHECK: parallax.finalize {{.*}} probe
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[OUT]]
// CHECK: parallax.tiling = {block_m = 16 : i64, block_n = 32 : i64, gqa_heads_per_tile = 4 : i64, num_warps = 8 : i64}

// NOPACK-LABEL: func.func @parallax_gqa
// NOPACK: scf.forall ({{.*}}) in (%{{.*}}, 8, %{{.*}})
// NOPACK: parallax.tile_load %arg0{{.*}} {heads = 1 : i64, rows = 16 : i64} : tensor<1x8x100x64xf32> -> tensor<16x64xf32>
// NOPACK: arith.divui
func.func @parallax_gqa(%q: tensor<1x8x100x64xf32>, %k: tensor<1x2x100x64xf32>,
                        %v: tensor<1x2x100x64xf32>, %r: tensor<1x8x100x64xf32>) -> tensor<1x8x100x64xf32> {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<1x8x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x8x100x64xf32> -> tensor<1x8x100x64xf32>
  return %o : tensor<1x8x100x64xf32>
}

// -----

// Softmax attention: one stream, three loop-carried values, no probe.

// CHECK-LABEL: func.func @softmax_window
// CHECK: scf.for {{.*}} -> (tensor<16xf32>, tensor<16xf32>, tensor<16x128xf32>)
// CHECK: parallax.tile_mask {{.*}} {rows_per_head = 16 : i64, scale = 0.127517432 : f32, window = 8 : i64}
// CHECK-NOT: probe
// CHECK: parallax.finalize %{{.*}}, %{{.*}} : tensor<16x128xf32>, tensor<16xf32> -> tensor<16x128xbf16>
func.func @softmax_window(%q: tensor<2x4x50x128xbf16>, %k: tensor<2x4x50x128xbf16>,
                          %v: tensor<2x4x50x128xbf16>) -> tensor<2x4x50x128xbf16> {
  %o = parallax.attention %q, %k, %v {window = 8 : i64}
      : tensor<2x4x50x128xbf16>, tensor<2x4x50x128xbf16>, tensor<2x4x50x128xbf16> -> tensor<2x4x50x128xbf16>
  return %o : tensor<2x4x50x128xbf16>
}

// -----

// Decode: the key count is the sequence's length, read from seq_lens and
// clamped to the cache; K/V loads never read past it.

// CHECK-LABEL: func.func @decode
// CHECK: %[[LEN:.*]] = tensor.extract %arg3[%{{.*}}] : tensor<4xi32>
// CHECK: %[[LENI:.*]] = arith.index_cast %[[LEN]] : i32 to index
// CHECK: %[[LK:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: parallax.tile_load %arg1[{{.*}}] limit %[[LK]]
func.func @decode(%q: tensor<4x8x1x128xbf16>, %kc: tensor<4x8x4096x128xbf16>,
                  %vc: tensor<4x8x4096x128xbf16>, %lens: tensor<4xi32>) -> tensor<4x8x1x128xbf16> {
  %o = parallax.decode_attention %q, %kc, %vc, %lens
      : tensor<4x8x1x128xbf16>, tensor<4x8x4096x128xbf16>, tensor<4x8x4096x128xbf16>, tensor<4xi32> -> tensor<4x8x1x128xbf16>
  return %o : tensor<4x8x1x128xbf16>
}

// -----

// Varlen: one program per (sequence, head, query tile of the longest
// sequence); offsets and lengths come from cu_seqlens, rows are absolute
// tokens of the packed [T, H, D] tensors, and only a sequence's rows are stored.

// CHECK-LABEL: func.func @varlen
// CHECK: %[[B:.*]] = arith.subi %{{.*}}, %c1 : index
// CHECK: scf.forall (%[[S:[^,]*]], %[[H:[^,]*]], %[[T:[^)]*]]) in (%[[B]], 4, %c7)
// CHECK: %[[Q0:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[QEND:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[K0:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[KEND:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[QROW:.*]] = arith.addi %[[Q0]], %{{.*}} : index
// CHECK: parallax.tile_load %arg0[%[[S]], %[[H]], %[[QROW]]] limit %[[QEND]] {heads = 1 : i64, rows = 16 : i64} : tensor<?x4x64xf32> -> tensor<16x64xf32>
// CHECK: scf.for
// CHECK: %[[KROW:.*]] = arith.addi %[[K0]], %{{.*}} : index
// CHECK: parallax.tile_load %arg1[%[[S]], %{{.*}}, %[[KROW]]] limit %[[KEND]] {heads = 1 : i64, rows = 32 : i64} : tensor<?x2x64xf32> -> tensor<32x64xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [16, 1, 64]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[QROW]], %[[H]], 0] [%{{.*}}, 1, 64] [1, 1, 1] : tensor<?x1x64xf32> into tensor<?x4x64xf32>
func.func @varlen(%q: tensor<?x4x64xf32>, %k: tensor<?x2x64xf32>, %v: tensor<?x2x64xf32>, %cuq: tensor<?xi32>, %cuk: tensor<?xi32>) -> tensor<?x4x64xf32> {
  %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk {causal, max_seqlen_q = 100 : i64, max_seqlen_k = 100 : i64}
      : tensor<?x4x64xf32>, tensor<?x2x64xf32>, tensor<?x2x64xf32>, tensor<?xi32>, tensor<?xi32> -> tensor<?x4x64xf32>
  return %o : tensor<?x4x64xf32>
}

// -----

// Paged decode: each K/V tile lies in one page; the page id comes from the
// block table and the tile's rows start at col % page_size.

// CHECK-LABEL: func.func @paged
// CHECK: scf.for %
// CHECK: %[[PAGE:.*]] = arith.divui %[[COL:.*]], %[[PS:.*]] : index
// CHECK-NEXT: %[[OFF:.*]] = arith.remui %[[COL]], %[[PS]] : index
// CHECK: %[[ID:.*]] = tensor.extract %arg4[%{{.*}}, %[[PAGE]]] : tensor<2x4xi32>
// CHECK: %[[PID:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK: parallax.tile_load %arg1[%[[PID]], %{{.*}}, %[[OFF]]] limit %{{.*}} {heads = 1 : i64, rows = 32 : i64} : tensor<10x2x64x64xbf16> -> tensor<32x64xbf16>
func.func @paged(%q: tensor<2x8x1x64xbf16>, %kc: tensor<10x2x64x64xbf16>, %vc: tensor<10x2x64x64xbf16>, %lens: tensor<2xi32>, %bt: tensor<2x4xi32>) -> tensor<2x8x1x64xbf16> {
  %o = parallax.decode_attention %q, %kc, %vc, %lens block_table %bt
      : tensor<2x8x1x64xbf16>, tensor<10x2x64x64xbf16>, tensor<10x2x64x64xbf16>, tensor<2xi32> block_table tensor<2x4xi32> -> tensor<2x8x1x64xbf16>
  return %o : tensor<2x8x1x64xbf16>
}

// -----

// block-m=0 picks the tile rows from Lq; an empty Lq still gets a valid
// 1-row tile (and a grid of zero programs).

// AUTO-LABEL: func.func @empty_queries
// AUTO: parallax.tile_load %arg0{{.*}} {heads = 1 : i64, rows = 1 : i64}
func.func @empty_queries(%q: tensor<1x1x0x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x0x16xf32> {
  %o = parallax.attention %q, %k, %k : tensor<1x1x0x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x0x16xf32>
  return %o : tensor<1x1x0x16xf32>
}
