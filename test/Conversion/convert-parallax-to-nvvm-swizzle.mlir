// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90" | FileCheck %s
// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=16 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 bulk-copy=true" | FileCheck %s --check-prefix=BULK

// K/V rows of a multiple of 128 bytes are staged unpadded and swizzled:
// 16-byte chunk c of row r at chunk c ^ (r % 8), for the copies and the
// ldmatrix reads alike. 2 stages x (K + V) x 16 rows x 128 bytes = 8192.
// CHECK-LABEL: llvm.func @d64_swizzled
// CHECK-SAME: parallax.shared_bytes = 8192
// CHECK: %[[ROW7:.*]] = arith.andi %{{.*}}, %{{.*}} : i64
// CHECK: arith.xori %{{.*}}, %[[ROW7]] : i64
// CHECK: nvvm.cp.async.shared.global
// CHECK: arith.xori
// CHECK: nvvm.ldmatrix
func.func @d64_swizzled(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>, %v: tensor<?x1x?x64xbf16>) -> tensor<?x1x?x64xbf16> attributes {parallax.arg_names = ["q", "k", "v"]} {
  %o = parallax.attention %q, %k, %v : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// 96 x 2 = 192-byte rows are not a multiple of 128: padded to 208 bytes, no
// swizzle. 2 x 2 x 16 x 208 = 13312.
// CHECK-LABEL: llvm.func @d96_padded
// CHECK-SAME: parallax.shared_bytes = 13312
// CHECK-NOT: arith.xori
// CHECK: llvm.return
func.func @d96_padded(%q: tensor<?x1x?x96xbf16>, %k: tensor<?x1x?x96xbf16>, %v: tensor<?x1x?x96xbf16>) -> tensor<?x1x?x96xbf16> attributes {parallax.arg_names = ["q", "k", "v"]} {
  %o = parallax.attention %q, %k, %v : tensor<?x1x?x96xbf16>, tensor<?x1x?x96xbf16>, tensor<?x1x?x96xbf16> -> tensor<?x1x?x96xbf16>
  return %o : tensor<?x1x?x96xbf16>
}

// Bulk copies move whole rows, so their rows stay padded (2 x 2 x 16 x 144
// bytes + 2 mbarriers of 8 bytes = 9232).
// BULK-LABEL: llvm.func @d64_swizzled
// BULK-SAME: parallax.shared_bytes = 9232
