// RUN: parallax-opt %s -split-input-file -parallax-tile-attention -verify-diagnostics

func.func @dynamic_heads(%q: tensor<1x?x16x64xf32>, %k: tensor<1x?x16x64xf32>) -> tensor<1x?x16x64xf32> {
  // expected-error @+1 {{parallax-tile-attention needs static head counts and head dim (Hq, Hkv, D), got q 'tensor<1x?x16x64xf32>' and k 'tensor<1x?x16x64xf32>'}}
  %o = parallax.attention %q, %k, %k : tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32> -> tensor<1x?x16x64xf32>
  return %o : tensor<1x?x16x64xf32>
}

// -----

func.func @varlen(%q: tensor<100x8x64xf16>, %k: tensor<100x8x64xf16>, %cu: tensor<3xi32>) -> tensor<100x8x64xf16> {
  // expected-error @+1 {{is not tiled yet: parallax-tile-attention supports parallax.attention and parallax.decode_attention}}
  %o = parallax.varlen_attention %q, %k, %k, %cu, %cu {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64}
      : tensor<100x8x64xf16>, tensor<100x8x64xf16>, tensor<100x8x64xf16>, tensor<3xi32>, tensor<3xi32> -> tensor<100x8x64xf16>
  return %o : tensor<100x8x64xf16>
}
