// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 tma-copy=true" -verify-diagnostics | FileCheck %s
// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 tma-copy=true" | FileCheck %s --check-prefix=SM80
// RUN: not parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 tma-copy=true bulk-copy=true" 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: error: bulk-copy and tma-copy (parallax-gen --bulk-copy and --tma) are two ways of copying the K/V tiles; choose one

// Tensor-map copies: one CUtensorMap per K/V source, by value in parameter
// space (128 bytes, 64-byte aligned, grid constant), after the other
// parameters; the staging memory aligned to the swizzle's 1024 bytes.
// A 16 x 128 bf16 tile is two 128-byte column blocks: two copies a tile,
// at columns 0 and 64, and 2 loads x 16 x 256 bytes = 8192 expected bytes
// a stage. Then 2 stages x 2 tiles x 4096 bytes + 2 mbarriers = 16400.
// CHECK: llvm.mlir.global external @parallax_dynamic_smem() {addr_space = 3 : i32, alignment = 1024 : i64}
// CHECK-LABEL: llvm.func @d128(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}, %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-SAME: parallax.param_names = ["q", "k", "v", "out", "q.dim0", "q.dim2", "k.dim0", "k.dim2", "v.dim0", "v.dim2", "k.tensor_map", "v.tensor_map"]
// CHECK-SAME: parallax.shared_bytes = 16400
// CHECK-SAME: parallax.tensor_maps = [{box = [64, 16, 1], param = "k.tensor_map", shape = [-1, 1, -1, 128], source = "k"}, {box = [64, 16, 1], param = "v.tensor_map", shape = [-1, 1, -1, 128], source = "v"}]
// CHECK: nvvm.mbarrier.init
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c8192_i32 : !llvm.ptr<3>, i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KMAP:arg10]], %{{.*}}, box[%c0_i32{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KMAP]], %{{.*}}, box[%c64_i32{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VMAP:arg11]], %{{.*}}, box[%c0_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VMAP]], %{{.*}}, box[%c64_i32
// The loop waits on the stage's mbarrier; the sequence's last tile zeroes
// its rows past the end (16-byte stores), then orders them before the
// async proxy's next copy into the stage.
// CHECK: nvvm.mbarrier.try_wait %
// CHECK: llvm.store %{{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.ldmatrix
// SM80-LABEL: llvm.func @d128(
// SM80-NOT: nvvm.cp.async.bulk.tensor
// SM80: nvvm.cp.async.shared.global
func.func @d128(%q: tensor<?x1x?x128xbf16>, %k: tensor<?x1x?x128xbf16>, %v: tensor<?x1x?x128xbf16>) -> tensor<?x1x?x128xbf16> attributes {parallax.arg_names = ["q", "k", "v"]} {
  %o = parallax.attention %q, %k, %v : tensor<?x1x?x128xbf16>, tensor<?x1x?x128xbf16>, tensor<?x1x?x128xbf16> -> tensor<?x1x?x128xbf16>
  return %o : tensor<?x1x?x128xbf16>
}

// -----

// 96 x 2 = 192-byte rows are not whole 128-byte blocks.
func.func @d96(%q: tensor<1x1x64x96xbf16>) -> tensor<1x1x64x96xbf16> {
  // expected-error @+1 {{tma-copy (--tma) stages rows in 128-byte column blocks: head dim 96 x 2 bytes = 192 is not a multiple of 128 (supported head dims: multiples of 64)}}
  %o = parallax.attention %q, %q, %q : tensor<1x1x64x96xbf16>, tensor<1x1x64x96xbf16>, tensor<1x1x64x96xbf16> -> tensor<1x1x64x96xbf16>
  return %o : tensor<1x1x64x96xbf16>
}

// -----

// Packed varlen K/V ([T, H, D]) rows are H x D apart: not a [B, H, L, D] cache.
func.func @varlen(%q: tensor<?x4x64xbf16>, %k: tensor<?x4x64xbf16>, %v: tensor<?x4x64xbf16>, %cuq: tensor<?xi32>, %cuk: tensor<?xi32>) -> tensor<?x4x64xbf16> {
  // expected-error @+1 {{tma-copy (--tma) needs K/V sources laid out [B, H, L, D] (or paged [pages, H, page, D]), not packed varlen [T, H, D] ones; drop it for this kernel}}
  %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk {max_seqlen_q = 100 : i64, max_seqlen_k = 100 : i64}
      : tensor<?x4x64xbf16>, tensor<?x4x64xbf16>, tensor<?x4x64xbf16>, tensor<?xi32>, tensor<?xi32> -> tensor<?x4x64xbf16>
  return %o : tensor<?x4x64xbf16>
}
