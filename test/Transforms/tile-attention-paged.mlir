// RUN: parallax-opt %s -parallax-tile-attention="block-n=64" -verify-diagnostics

func.func @page_too_small(%q: tensor<2x8x1x64xbf16>, %kc: tensor<10x2x32x64xbf16>, %lens: tensor<2xi32>, %bt: tensor<2x4xi32>) -> tensor<2x8x1x64xbf16> {
  // expected-error @+1 {{block-n (64) must divide the page size (32) of a paged cache, so that a K/V tile lies in one page}}
  %o = parallax.decode_attention %q, %kc, %kc, %lens block_table %bt
      : tensor<2x8x1x64xbf16>, tensor<10x2x32x64xbf16>, tensor<10x2x32x64xbf16>, tensor<2xi32> block_table tensor<2x4xi32> -> tensor<2x8x1x64xbf16>
  return %o : tensor<2x8x1x64xbf16>
}
