// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=64 num-warps=1" -parallax-fuse -parallax-check-resources="chip=sm_90 kv-groups=8" -verify-diagnostics
// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=64 num-warps=1" -parallax-fuse -parallax-check-resources="chip=sm_90 kv-groups=1" | FileCheck %s --check-prefix=FITS

// Every warp group has its own stages: 8 groups x 2 stages x (K + V) x 64
// keys x 128 x 2 bytes = 524288 > 232448. The message counts the groups
// and names kv-groups among the knobs; one group (65536) fits.
func.func @groups(%q: tensor<1x1x8x128xbf16>, %k: tensor<1x1x4096x128xbf16>, %v: tensor<1x1x4096x128xbf16>) -> tensor<1x1x8x128xbf16> {
  // expected-error @+1 {{needs 524288 bytes of shared memory (8 warp groups x 2 stages x 2 tiles of 64 x 128 x 2 bytes, swizzled) but sm_90 allows 232448 per block; lower block-n, num-stages or kv-groups}}
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x8x128xbf16>, tensor<1x1x4096x128xbf16>, tensor<1x1x4096x128xbf16>, tensor<1x1x8x128xbf16> -> tensor<1x1x8x128xbf16>
  return %o : tensor<1x1x8x128xbf16>
}

// FITS-LABEL: func.func @groups
// FITS: scf.forall
