// --parallax-dump-dir writes the module after every pass as numbered files.
// RUN: rm -rf %t && parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" --parallax-dump-dir=%t -o /dev/null
// RUN: ls %t | FileCheck %s
// RUN: FileCheck %s --check-prefix=TILED < %t/01-parallax-tile-attention.mlir
// RUN: cat %t/*-convert-parallax-to-nvvm.mlir | FileCheck %s --check-prefix=NVVM

// CHECK: 00-input.mlir
// CHECK-NEXT: 01-parallax-tile-attention.mlir
// CHECK-NEXT: 02-parallax-fuse-projector.mlir
// CHECK-NEXT: 03-parallax-fuse-covariance-probe.mlir
// CHECK-NEXT: 04-parallax-fuse-value-aggregation.mlir
// CHECK-NEXT: 05-cse.mlir
// CHECK-NEXT: 06-parallax-check-resources.mlir
// CHECK-NEXT: 07-convert-parallax-to-nvvm.mlir
// CHECK: 14-cse.mlir

// TILED: parallax.tile_load
// TILED-NOT: parallax.attention
// NVVM: nvvm.mma.sync

func.func @f(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
