// RUN: parallax-opt %s -convert-parallax-to-linalg -verify-diagnostics

func.func @untiled(%q: tensor<1x1x16x64xf32>) -> tensor<1x1x16x64xf32> {
  // expected-error @+1 {{must be tiled (parallax-tile-attention) before convert-parallax-to-linalg}}
  %o = parallax.attention %q, %q, %q : tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32> -> tensor<1x1x16x64xf32>
  return %o : tensor<1x1x16x64xf32>
}
