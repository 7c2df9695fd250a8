// RUN: parallax-opt %s --parallax-tile-attention="block-m=0 num-warps=4 fit-warps=true pack-gqa=true" -verify-diagnostics

// With fit-warps the packed heads must divide the warps' rows.
func.func @three_heads(%q: tensor<1x3x100x64xbf16>, %k: tensor<1x1x300x64xbf16>, %v: tensor<1x1x300x64xbf16>) -> tensor<1x3x100x64xbf16> {
  // expected-error @+1 {{cannot fill 4 warps x 8 query rows with whole rows of 3 packed heads: choose num-warps so that 3 divides 8 x num-warps, or block-m and pack-gqa}}
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x3x100x64xbf16>, tensor<1x1x300x64xbf16>, tensor<1x1x300x64xbf16>, tensor<1x3x100x64xbf16> -> tensor<1x3x100x64xbf16>
  return %o : tensor<1x3x100x64xbf16>
}
