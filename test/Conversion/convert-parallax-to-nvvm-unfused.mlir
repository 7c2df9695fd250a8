// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -convert-parallax-to-nvvm -verify-diagnostics

func.func @unfused(%q: tensor<1x1x64x32xbf16>) -> tensor<1x1x64x32xbf16> {
  // expected-error @+1 {{the GPU lowering needs the fused form (one [Q;R]K^T product, one softmax step, one [P1;P2]V product): run parallax-fuse first (found 4 products, 2 softmax steps, 4 K/V loads per iteration)}}
  %o = parallax.attention %q, %q, %q probe %q : tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16> -> tensor<1x1x64x32xbf16>
  return %o : tensor<1x1x64x32xbf16>
}
