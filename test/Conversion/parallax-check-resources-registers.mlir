// RUN: parallax-opt %s -parallax-tile-attention="block-m=32 block-n=64 num-warps=4" -parallax-fuse -parallax-check-resources="chip=sm_90" -verify-diagnostics

// D = 256 with 64-key tiles: 64 (Q;R operand) + 32 (S) + 128 (O) + 40 registers.
func.func @too_many_registers(%q: tensor<1x1x512x256xbf16>, %k: tensor<1x1x512x256xbf16>, %v: tensor<1x1x512x256xbf16>) -> tensor<1x1x512x256xbf16> {
  // expected-error @+1 {{needs about 264 registers per thread (head dim 256, block-n 64) but sm_90 has 255; lower block-n}}
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x512x256xbf16>, tensor<1x1x512x256xbf16>, tensor<1x1x512x256xbf16>, tensor<1x1x512x256xbf16> -> tensor<1x1x512x256xbf16>
  return %o : tensor<1x1x512x256xbf16>
}
