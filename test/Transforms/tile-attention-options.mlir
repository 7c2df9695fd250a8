// RUN: parallax-opt %s -parallax-tile-attention="block-n=0" -verify-diagnostics

func.func @zero_block(%q: tensor<1x1x16x64xf32>) -> tensor<1x1x16x64xf32> {
  // expected-error @+1 {{tile sizes must be positive: block-m 64, block-n 0, num-warps 4}}
  %o = parallax.attention %q, %q, %q : tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32> -> tensor<1x1x16x64xf32>
  return %o : tensor<1x1x16x64xf32>
}
