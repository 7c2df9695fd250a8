// RUN: parallax-opt %s -parallax-tile-attention="block-m=4 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 kv-groups=2 split-kv=true" | FileCheck %s

// Two query heads per KV head share the tile (GQA packing): the tile holds
// two rows even for one query, so the split merge is the whole-partial one
// only (the one-row merge's shuffles are not built; see
// convert-parallax-to-nvvm-split-kv.mlir).

// CHECK-LABEL: llvm.func @split_gqa
// CHECK: nvvm.barrier #nvvm.reduction<or>
// CHECK-NOT: nvvm.shfl.sync  idx
// CHECK: llvm.return
func.func @split_gqa(%q: tensor<?x2x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x2x?x32xbf16>) -> tensor<?x2x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x2x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x2x?x32xbf16> -> tensor<?x2x?x32xbf16>
  return %o : tensor<?x2x?x32xbf16>
}
