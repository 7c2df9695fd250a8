// RUN: parallax-opt %s -split-input-file -parallax-tile-attention -verify-diagnostics

func.func @dynamic_heads(%q: tensor<1x?x16x64xf32>, %k: tensor<1x?x16x64xf32>) -> tensor<1x?x16x64xf32> {
  // expected-error @+1 {{parallax-tile-attention needs static head counts and head dim (Hq, Hkv, D), got q 'tensor<1x?x16x64xf32>' and k 'tensor<1x?x16x64xf32>'}}
  %o = parallax.attention %q, %k, %k : tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32>, tensor<1x?x16x64xf32> -> tensor<1x?x16x64xf32>
  return %o : tensor<1x?x16x64xf32>
}
