// RUN: parallax-opt %s -parallax-tile-attention="block-m=16 block-n=32 num-warps=2" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90" | FileCheck %s

// A grid of one program (B = H = 1, one query tile, static shapes): the
// fusion pipeline's canonicalization keeps the scf.forall (it used to fold
// it away, and the GPU lowering then left the function unlowered), and the
// store of a whole tile needs no extract_slice (folded away too) to know
// its valid rows (it crashed the lowering).

// CHECK: llvm.func @one_program
// CHECK-SAME: parallax.grid = ["1", "1", "1"]
// CHECK: nvvm.mma.sync
// CHECK: llvm.store {{.*}} : i32, !llvm.ptr<1>
// CHECK-NOT: parallax.tile_
func.func @one_program(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x256x64xbf16>, %v: tensor<1x1x256x64xbf16>, %r: tensor<1x1x16x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %r : tensor<1x1x16x64xbf16>, tensor<1x1x256x64xbf16>, tensor<1x1x256x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// A cache of one key tile (Lk = block-n): the canonicalization keeps the
// single-iteration key loop too (it folded it, and the lowering then found
// no K/V loop).
// CHECK: llvm.func @one_key_tile
// CHECK-SAME: parallax.grid = ["1", "1", "2"]
// CHECK: nvvm.mma.sync
func.func @one_key_tile(%q: tensor<2x1x16x64xbf16>, %k: tensor<2x1x32x64xbf16>, %v: tensor<2x1x32x64xbf16>) -> tensor<2x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<2x1x16x64xbf16>, tensor<2x1x32x64xbf16>, tensor<2x1x32x64xbf16>, tensor<2x1x16x64xbf16> -> tensor<2x1x16x64xbf16>
  return %o : tensor<2x1x16x64xbf16>
}
