// RUN: parallax-opt %s -split-input-file -parallax-tile-attention -verify-diagnostics

func.func @dynamic_heads(%q: tensor<1x?x16x64xf32>, %k: tensor<1x?x16x64xf32>) -> tensor<1x?x16x64xf32> {
  // expected-error @+1 {{parallax-tile-attention needs static head counts and head dim (Hq, Hkv, D), got q 'tensor<1x?x16x64xf32>' and k 'tensor<1x?x16x64xf32>'}}
  %o = parallax.attention %q, %k, %k : tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32> -> tensor<1x?x16x64xf32>
  return %o : tensor<1x?x16x64xf32>
}

// -----

func.func @dynamic_page(%q: tensor<2x8x1x64xbf16>, %kc: tensor<10x2x?x64xbf16>, %lens: tensor<2xi32>, %bt: tensor<2x4xi32>) -> tensor<2x8x1x64xbf16> {
  // expected-error @+1 {{a paged cache needs a static page size (k_cache dim 2), got 'tensor<10x2x?x64xbf16>'}}
  %o = parallax.decode_attention %q, %kc, %kc, %lens block_table %bt
      : tensor<2x8x1x64xbf16>, tensor<10x2x?x64xbf16>, tensor<10x2x?x64xbf16>, tensor<2xi32> block_table tensor<2x4xi32> -> tensor<2x8x1x64xbf16>
  return %o : tensor<2x8x1x64xbf16>
}
