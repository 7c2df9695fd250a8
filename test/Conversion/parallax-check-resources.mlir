// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=32 block-n=256 num-warps=4" -parallax-fuse -parallax-check-resources="chip=sm_86" -verify-diagnostics
// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=32 block-n=64 num-warps=4" -parallax-fuse -parallax-check-resources="chip=sm_90" | FileCheck %s --check-prefix=FITS

// 2 stages x (K + V) x 256 keys x 128 x 2 bytes (swizzled rows, no padding) = 262144 > 101376.
func.func @too_much_smem(%q: tensor<1x1x512x128xbf16>, %k: tensor<1x1x512x128xbf16>, %v: tensor<1x1x512x128xbf16>) -> tensor<1x1x512x128xbf16> {
  // expected-error @+1 {{needs 262144 bytes of shared memory (2 stages x 2 tiles of 256 x 128 x 2 bytes, swizzled) but sm_86 allows 101376 per block; lower block-n or num-stages}}
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x512x128xbf16>, tensor<1x1x512x128xbf16>, tensor<1x1x512x128xbf16>, tensor<1x1x512x128xbf16> -> tensor<1x1x512x128xbf16>
  return %o : tensor<1x1x512x128xbf16>
}

// FITS-LABEL: func.func @too_much_smem
// FITS: scf.forall
