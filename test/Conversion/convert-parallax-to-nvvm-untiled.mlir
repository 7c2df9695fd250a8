// RUN: parallax-opt %s -convert-parallax-to-nvvm -verify-diagnostics

func.func @untiled(%q: tensor<1x1x64x32xbf16>) -> tensor<1x1x64x32xbf16> {
  // expected-error @+1 {{must be tiled and fused (parallax-tile-attention, parallax-fuse) before convert-parallax-to-nvvm}}
  %o = parallax.attention %q, %q, %q : tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16> -> tensor<1x1x64x32xbf16>
  return %o : tensor<1x1x64x32xbf16>
}
