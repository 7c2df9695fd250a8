// RUN: parallax-opt %s -split-input-file --parallax-lower-to-nvvm=chip=sm_90 | FileCheck %s
// RUN: parallax-opt %s -split-input-file --parallax-tile-attention="block-m=0 num-warps=4 fit-warps=true pack-gqa=false" | FileCheck %s --check-prefix=TILE

// Without block-m the GPU pipeline fills its warps' MMA rows per op: 4 warps
// x 16 rows for softmax, 4 x 8 query rows (and their 8 probes) for Parallax.
// (A 32-row default failed every softmax op.)

// CHECK: llvm.func @softmax
// CHECK-SAME: parallax.grid = ["ceil(100/64)", "4", "1"]
// TILE-LABEL: func.func @softmax
// TILE: block_m = 64
func.func @softmax(%q: tensor<1x4x100x64xbf16>, %k: tensor<1x2x300x64xbf16>, %v: tensor<1x2x300x64xbf16>) -> tensor<1x4x100x64xbf16> {
  %o = parallax.attention %q, %k, %v : tensor<1x4x100x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16> -> tensor<1x4x100x64xbf16>
  return %o : tensor<1x4x100x64xbf16>
}

// -----

// CHECK: llvm.func @parallax
// CHECK-SAME: parallax.grid = ["ceil(100/32)", "4", "1"]
// TILE-LABEL: func.func @parallax
// TILE: block_m = 32
func.func @parallax(%q: tensor<1x4x100x64xbf16>, %k: tensor<1x2x300x64xbf16>, %v: tensor<1x2x300x64xbf16>) -> tensor<1x4x100x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x4x100x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x4x100x64xbf16> -> tensor<1x4x100x64xbf16>
  return %o : tensor<1x4x100x64xbf16>
}
