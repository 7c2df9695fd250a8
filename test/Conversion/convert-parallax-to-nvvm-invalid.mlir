// RUN: parallax-opt %s -split-input-file -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80" -verify-diagnostics

// Softmax puts 16 query rows in a warp: 8 rows and 1 warp do not match.
func.func @rows(%q: tensor<1x1x64x32xbf16>) -> tensor<1x1x64x32xbf16> {
  // expected-error @+1 {{query tile of 8 rows does not match 1 warps x 16 rows per warp (softmax: 16 query rows); choose block-m x packed heads = 16}}
  %o = parallax.attention %q, %q, %q : tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16> -> tensor<1x1x64x32xbf16>
  return %o : tensor<1x1x64x32xbf16>
}

// -----

func.func @head_dim(%q: tensor<1x1x64x40xbf16>) -> tensor<1x1x64x40xbf16> {
  // expected-error @+1 {{head dim 40 is not supported on the GPU: it must be a multiple of 16 up to 256}}
  %o = parallax.attention %q, %q, %q probe %q : tensor<1x1x64x40xbf16>, tensor<1x1x64x40xbf16>, tensor<1x1x64x40xbf16>, tensor<1x1x64x40xbf16> -> tensor<1x1x64x40xbf16>
  return %o : tensor<1x1x64x40xbf16>
}

// -----

func.func @f32(%q: tensor<1x1x64x32xf32>) -> tensor<1x1x64x32xf32> {
  // expected-error @+1 {{the GPU lowering supports bf16 and f16 operands, got 'f32'}}
  %o = parallax.attention %q, %q, %q probe %q : tensor<1x1x64x32xf32>, tensor<1x1x64x32xf32>, tensor<1x1x64x32xf32>, tensor<1x1x64x32xf32> -> tensor<1x1x64x32xf32>
  return %o : tensor<1x1x64x32xf32>
}
