// RUN: parallax-opt %s -split-input-file -verify-diagnostics

// Every diagnostic of the parallax ops, one case each.

func.func @f(%q: tensor<8x64x128xf32>, %k: tensor<1x8x64x128xf32>, %v: tensor<1x8x64x128xf32>) -> tensor<8x64x128xf32> {
  // expected-error @+1 {{'parallax.attention' op q must have rank 4 [B, H, L, D], got rank 3 (tensor<8x64x128xf32>)}}
  %o = parallax.attention %q, %k, %v  : tensor<8x64x128xf32>, tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32> -> tensor<8x64x128xf32>
  return %o : tensor<8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x128xf32>, %k: tensor<1x8x64xf32>, %v: tensor<1x8x64x128xf32>) -> tensor<1x8x64x128xf32> {
  // expected-error @+1 {{k must have rank 4 [B, H, L, D], got rank 3}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x128xf32>, tensor<1x8x64xf32>, tensor<1x8x64x128xf32> -> tensor<1x8x64x128xf32>
  return %o : tensor<1x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x128xf32>, %k: tensor<1x8x64x128xf32>, %v: tensor<8x64x128xf32>) -> tensor<1x8x64x128xf32> {
  // expected-error @+1 {{v must have rank 4 [B, H, L, D], got rank 3}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32>, tensor<8x64x128xf32> -> tensor<1x8x64x128xf32>
  return %o : tensor<1x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<2x8x64x128xf32>, %k: tensor<3x8x64x128xf32>, %v: tensor<3x8x64x128xf32>) -> tensor<2x8x64x128xf32> {
  // expected-error @+1 {{batch 2 of q does not match batch 3 of k}}
  %o = parallax.attention %q, %k, %v  : tensor<2x8x64x128xf32>, tensor<3x8x64x128xf32>, tensor<3x8x64x128xf32> -> tensor<2x8x64x128xf32>
  return %o : tensor<2x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x128xf32>, %k: tensor<1x8x64x128xbf16>, %v: tensor<1x8x64x128xbf16>) -> tensor<1x8x64x128xf32> {
  // expected-error @+1 {{element type bf16 of k does not match element type f32 of q}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x128xf32>, tensor<1x8x64x128xbf16>, tensor<1x8x64x128xbf16> -> tensor<1x8x64x128xf32>
  return %o : tensor<1x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x128xf32>, %k: tensor<1x8x64x128xf32>, %v: tensor<1x8x64x128xf16>) -> tensor<1x8x64x128xf32> {
  // expected-error @+1 {{element type f16 of v does not match element type f32 of q}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32>, tensor<1x8x64x128xf16> -> tensor<1x8x64x128xf32>
  return %o : tensor<1x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x100xf32>, %k: tensor<1x8x64x128xf32>, %v: tensor<1x8x64x128xf32>) -> tensor<1x8x64x100xf32> {
  // expected-error @+1 {{head dim 100 of q does not match head dim 128 of k}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x100xf32>, tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32> -> tensor<1x8x64x100xf32>
  return %o : tensor<1x8x64x100xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x128xf32>, %k: tensor<1x8x64x128xf32>, %v: tensor<1x8x64x64xf32>) -> tensor<1x8x64x128xf32> {
  // expected-error @+1 {{head dim 128 of q does not match head dim 64 of v}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x128xf32>, tensor<1x8x64x128xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x64x128xf32>
  return %o : tensor<1x8x64x128xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x0xf32>, %k: tensor<1x8x64x0xf32>, %v: tensor<1x8x64x0xf32>) -> tensor<1x8x64x0xf32> {
  // expected-error @+1 {{head dim must be positive, got 0}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x0xf32>, tensor<1x8x64x0xf32>, tensor<1x8x64x0xf32> -> tensor<1x8x64x0xf32>
  return %o : tensor<1x8x64x0xf32>
}

// -----

func.func @f(%q: tensor<1x0x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x64x64xf32>) -> tensor<1x0x64x64xf32> {
  // expected-error @+1 {{Hq must be positive, got 0}}
  %o = parallax.attention %q, %k, %v  : tensor<1x0x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x0x64x64xf32>
  return %o : tensor<1x0x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x0x64x64xf32>, %v: tensor<1x0x64x64xf32>) -> tensor<1x8x64x64xf32> {
  // expected-error @+1 {{Hkv must be positive, got 0}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x64xf32>, tensor<1x0x64x64xf32>, tensor<1x0x64x64xf32> -> tensor<1x8x64x64xf32>
  return %o : tensor<1x8x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x32x64xf32>) -> tensor<1x8x64x64xf32> {
  // expected-error @+1 {{v shape [1, 8, 32, 64] must match k shape [1, 8, 64, 64]}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x32x64xf32> -> tensor<1x8x64x64xf32>
  return %o : tensor<1x8x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x12x64x64xf32>, %k: tensor<1x5x64x64xf32>, %v: tensor<1x5x64x64xf32>) -> tensor<1x12x64x64xf32> {
  // expected-error @+1 {{Hq (12) must be a multiple of Hkv (5)}}
  %o = parallax.attention %q, %k, %v  : tensor<1x12x64x64xf32>, tensor<1x5x64x64xf32>, tensor<1x5x64x64xf32> -> tensor<1x12x64x64xf32>
  return %o : tensor<1x12x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x64x64xf32>, %r: tensor<1x8x32x64xf32>) -> tensor<1x8x64x64xf32> {
  // expected-error @+1 {{probe r must have the shape and element type of q: r is tensor<1x8x32x64xf32>, q is tensor<1x8x64x64xf32>}}
  %o = parallax.attention %q, %k, %v probe %r  : tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x32x64xf32> -> tensor<1x8x64x64xf32>
  return %o : tensor<1x8x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x64x64xf32>) -> tensor<1x8x64x64xf16> {
  // expected-error @+1 {{result type tensor<1x8x64x64xf16> must match q type tensor<1x8x64x64xf32>}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x64x64xf16>
  return %o : tensor<1x8x64x64xf16>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x64x64xf32>) -> tensor<1x8x64x64xf32> {
  // expected-error @+1 {{window must be positive (keys counting the diagonal), got 0}}
  %o = parallax.attention %q, %k, %v {window = 0 : i64} : tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x64x64xf32>
  return %o : tensor<1x8x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xf32>, %k: tensor<1x8x64x64xf32>, %v: tensor<1x8x64x64xf32>) -> tensor<1x8x64x64xf32> {
  // expected-error @+1 {{scale must be finite and positive, got -1}}
  %o = parallax.attention %q, %k, %v {scale = -1.0 : f32} : tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x64x64xf32>
  return %o : tensor<1x8x64x64xf32>
}

// -----

func.func @f(%q: tensor<1x8x64x64xi32>, %k: tensor<1x8x64x64xi32>, %v: tensor<1x8x64x64xi32>) -> tensor<1x8x64x64xi32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x8x64x64xi32>'}}
  %o = parallax.attention %q, %k, %v  : tensor<1x8x64x64xi32>, tensor<1x8x64x64xi32>, tensor<1x8x64x64xi32> -> tensor<1x8x64x64xi32>
  return %o : tensor<1x8x64x64xi32>
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %k: tensor<2x2x256x64xf32>, %v: tensor<2x2x256x64xf32>, %l: tensor<2x1xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{seq_lens must have rank 1 [B], got rank 2}}
  %o = parallax.decode_attention %q, %k, %v, %l : tensor<2x4x1x64xf32>, tensor<2x2x256x64xf32>, tensor<2x2x256x64xf32>, tensor<2x1xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %k: tensor<2x2x256x64xf32>, %v: tensor<2x2x256x64xf32>, %l: tensor<3xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{seq_lens must have one entry per sequence: B is 2, seq_lens has 3}}
  %o = parallax.decode_attention %q, %k, %v, %l : tensor<2x4x1x64xf32>, tensor<2x2x256x64xf32>, tensor<2x2x256x64xf32>, tensor<3xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %k: tensor<2x256x64xf32>, %v: tensor<2x256x64xf32>, %l: tensor<2xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{k_cache must have rank 4 [B, H, L, D], got rank 3}}
  %o = parallax.decode_attention %q, %k, %v, %l : tensor<2x4x1x64xf32>, tensor<2x256x64xf32>, tensor<2x256x64xf32>, tensor<2xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>, %l: tensor<2xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{batch 2 of q does not match batch 1 of k_cache}}
  %o = parallax.decode_attention %q, %k, %v, %l : tensor<2x4x1x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<2xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}

// -----

func.func @f(%q: tensor<1x100x8x64xf32>, %k: tensor<90x2x64xf32>, %v: tensor<90x2x64xf32>, %cq: tensor<5xi32>, %ck: tensor<5xi32>) -> tensor<1x100x8x64xf32> {
  // expected-error @+1 {{q must have rank 3 [total tokens, H, D], got rank 4}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64} : tensor<1x100x8x64xf32>, tensor<90x2x64xf32>, tensor<90x2x64xf32>, tensor<5xi32>, tensor<5xi32> -> tensor<1x100x8x64xf32>
  return %o : tensor<1x100x8x64xf32>
}

// -----

func.func @f(%q: tensor<100x8x64xf32>, %k: tensor<90x2x64xf32>, %v: tensor<90x2x64xf32>, %cq: tensor<5x1xi32>, %ck: tensor<5xi32>) -> tensor<100x8x64xf32> {
  // expected-error @+1 {{cu_seqlens_q and cu_seqlens_k must have rank 1}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64} : tensor<100x8x64xf32>, tensor<90x2x64xf32>, tensor<90x2x64xf32>, tensor<5x1xi32>, tensor<5xi32> -> tensor<100x8x64xf32>
  return %o : tensor<100x8x64xf32>
}

// -----

func.func @f(%q: tensor<100x8x64xf32>, %k: tensor<90x2x64xf32>, %v: tensor<90x2x64xf32>, %cq: tensor<5xi32>, %ck: tensor<4xi32>) -> tensor<100x8x64xf32> {
  // expected-error @+1 {{cu_seqlens_q (5 entries) and cu_seqlens_k (4 entries) must both have B + 1 entries}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64} : tensor<100x8x64xf32>, tensor<90x2x64xf32>, tensor<90x2x64xf32>, tensor<5xi32>, tensor<4xi32> -> tensor<100x8x64xf32>
  return %o : tensor<100x8x64xf32>
}

// -----

func.func @f(%q: tensor<100x8x64xf32>, %k: tensor<90x2x64xf32>, %v: tensor<90x2x64xf32>, %cq: tensor<1xi32>, %ck: tensor<1xi32>) -> tensor<100x8x64xf32> {
  // expected-error @+1 {{cu_seqlens_q must have B + 1 >= 2 entries, got 1}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64} : tensor<100x8x64xf32>, tensor<90x2x64xf32>, tensor<90x2x64xf32>, tensor<1xi32>, tensor<1xi32> -> tensor<100x8x64xf32>
  return %o : tensor<100x8x64xf32>
}

// -----

func.func @f(%q: tensor<100x8x64xf32>, %k: tensor<90x2x64xf32>, %v: tensor<90x2x64xf32>, %cq: tensor<5xi32>, %ck: tensor<5xi32>) -> tensor<100x8x64xf32> {
  // expected-error @+1 {{max_seqlen_q and max_seqlen_k must be positive, got 0 and 64}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 0 : i64, max_seqlen_k = 64 : i64} : tensor<100x8x64xf32>, tensor<90x2x64xf32>, tensor<90x2x64xf32>, tensor<5xi32>, tensor<5xi32> -> tensor<100x8x64xf32>
  return %o : tensor<100x8x64xf32>
}

// -----

func.func @f(%q: tensor<100x8x64xf32>, %k: tensor<90x3x64xf32>, %v: tensor<90x3x64xf32>, %cq: tensor<5xi32>, %ck: tensor<5xi32>) -> tensor<100x8x64xf32> {
  // expected-error @+1 {{Hq (8) must be a multiple of Hkv (3)}}
  %o = parallax.varlen_attention %q, %k, %v, %cq, %ck {max_seqlen_q = 64 : i64, max_seqlen_k = 64 : i64} : tensor<100x8x64xf32>, tensor<90x3x64xf32>, tensor<90x3x64xf32>, tensor<5xi32>, tensor<5xi32> -> tensor<100x8x64xf32>
  return %o : tensor<100x8x64xf32>
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{result must be a statically shaped rank-2 tile, got tensor<16x?xf32>}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 1 : i64, rows = 16 : i64} : tensor<1x4x100x64xf32> -> tensor<16x?xf32>
  return
}

// -----

func.func @f(%s: tensor<100x64xf32>, %i: index) {
  // expected-error @+1 {{source must have rank 4 [B, H, L, D] or rank 3 [T, H, D] (packed), got rank 2 (tensor<100x64xf32>)}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 1 : i64, rows = 16 : i64} : tensor<100x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{result element type bf16 must match source element type f32}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 1 : i64, rows = 16 : i64} : tensor<1x4x100x64xf32> -> tensor<16x64xbf16>
  return
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{result has 16 rows but heads x rows is 2 x 16 = 32}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 2 : i64, rows = 16 : i64} : tensor<1x4x100x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{result head dim 32 does not match source head dim 64}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 1 : i64, rows = 16 : i64} : tensor<1x4x100x64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{heads (8) exceeds the source's 4 heads}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 8 : i64, rows = 2 : i64} : tensor<1x4x100x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%s: tensor<1x4x100x64xf32>, %i: index) {
  // expected-error @+1 {{attribute 'rows' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %t = parallax.tile_load %s[%i, %i, %i] {heads = 1 : i64, rows = 0 : i64} : tensor<1x4x100x64xf32> -> tensor<0x64xf32>
  return
}

// -----

func.func @f(%a: tensor<16xf32>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{a must be a statically shaped rank-2 tile, got tensor<16xf32>}}
  %c = parallax.tile_dot %a, %b : tensor<16xf32>, tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%a: tensor<16x8xf32>, %b: tensor<?x8xf32>) {
  // expected-error @+1 {{b must be a statically shaped rank-2 tile, got tensor<?x8xf32>}}
  %c = parallax.tile_dot %a, %b : tensor<16x8xf32>, tensor<?x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%a: tensor<16x8xf32>, %b: tensor<8x8xf32>) {
  // expected-error @+1 {{result must be a statically shaped rank-2 tile, got tensor<16x?xf32>}}
  %c = parallax.tile_dot %a, %b : tensor<16x8xf32>, tensor<8x8xf32> -> tensor<16x?xf32>
  return
}

// -----

func.func @f(%a: tensor<16x8xf32>, %b: tensor<16x4xf32>) {
  // expected-error @+1 {{contraction size 8 of a does not match 4 of b (transposed)}}
  %c = parallax.tile_dot %a, %b {transpose_b} : tensor<16x8xf32>, tensor<16x4xf32> -> tensor<16x16xf32>
  return
}

// -----

func.func @f(%a: tensor<16x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{result shape [16, 8] must be [16, 4]}}
  %c = parallax.tile_dot %a, %b : tensor<16x8xf32>, tensor<8x4xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%a: tensor<16x8xf32>, %b: tensor<8x4xf32>, %c0: tensor<16x8xf32>) {
  // expected-error @+1 {{accumulator type tensor<16x8xf32> must match result type tensor<16x4xf32>}}
  %c = parallax.tile_dot %a, %b acc %c0 : tensor<16x8xf32>, tensor<8x4xf32>, tensor<16x8xf32> -> tensor<16x4xf32>
  return
}

// -----

func.func @f(%s: tensor<16xf32>, %i: index) {
  // expected-error @+1 {{logits must be a statically shaped rank-2 tile, got tensor<16xf32>}}
  %m = parallax.tile_mask %s, %i, %i, %i, %i {scale = 1.0 : f32, rows_per_head = 16 : i64} : tensor<16xf32>
  return
}

// -----

func.func @f(%s: tensor<16x8xf32>, %i: index) {
  // expected-error @+1 {{rows_per_head (5) must divide the tile's 16 rows}}
  %m = parallax.tile_mask %s, %i, %i, %i, %i {scale = 1.0 : f32, rows_per_head = 5 : i64} : tensor<16x8xf32>
  return
}

// -----

func.func @f(%s: tensor<16x8xf32>, %i: index) {
  // expected-error @+1 {{window must be positive, got -2}}
  %m = parallax.tile_mask %s, %i, %i, %i, %i {scale = 1.0 : f32, rows_per_head = 16 : i64, window = -2 : i64} : tensor<16x8xf32>
  return
}

// -----

func.func @f(%s: tensor<16xf32>, %m: tensor<16xf32>) {
  // expected-error @+1 {{logits must be a statically shaped rank-2 tile, got tensor<16xf32>}}
  %a, %b, %c = parallax.softmax_step %s, %m : tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @f(%s: tensor<16x8xf32>, %m: tensor<16x1xf32>) {
  // expected-error @+1 {{max must be a statically shaped rank-1 tile, got tensor<16x1xf32>}}
  %a, %b, %c = parallax.softmax_step %s, %m : tensor<16x8xf32>, tensor<16x1xf32>
  return
}

// -----

func.func @f(%s: tensor<16x8xf32>, %m: tensor<8xf32>) {
  // expected-error @+1 {{max has 8 rows but logits have 16}}
  %a, %b, %c = parallax.softmax_step %s, %m : tensor<16x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x16x8xf32>, %a: tensor<2xf32>) {
  // expected-error @+1 {{input must be a static rank-1 or rank-2 tile, got tensor<2x16x8xf32>}}
  %y = parallax.tile_rescale %x, %a : tensor<2x16x8xf32>, tensor<2xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %a: tensor<16x1xf32>) {
  // expected-error @+1 {{alpha must be a statically shaped rank-1 tile, got tensor<16x1xf32>}}
  %y = parallax.tile_rescale %x, %a : tensor<16x8xf32>, tensor<16x1xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %a: tensor<8xf32>) {
  // expected-error @+1 {{alpha has 8 rows but input has 16}}
  %y = parallax.tile_rescale %x, %a : tensor<16x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @f(%x: tensor<16xf32>, %a: tensor<16xf32>) {
  // expected-error @+1 {{input must be a statically shaped rank-2 tile, got tensor<16xf32>}}
  %y = parallax.tile_rowsum %x, %a : tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %a: tensor<16x1xf32>) {
  // expected-error @+1 {{acc must be a statically shaped rank-1 tile, got tensor<16x1xf32>}}
  %y = parallax.tile_rowsum %x, %a : tensor<16x8xf32>, tensor<16x1xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %a: tensor<8xf32>) {
  // expected-error @+1 {{acc has 8 rows but input has 16}}
  %y = parallax.tile_rowsum %x, %a : tensor<16x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{tiles must have static shapes}}
  %y = parallax.tile_stack %x, %x : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<32x8xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %z: tensor<16x4xf32>) {
  // expected-error @+1 {{top tensor<16x8xf32> and bottom tensor<16x4xf32> must share element type and trailing dims with the result tensor<32x8xf32>}}
  %y = parallax.tile_stack %x, %z : tensor<16x8xf32>, tensor<16x4xf32> -> tensor<32x8xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{result has 24 rows, expected 16 + 16}}
  %y = parallax.tile_stack %x, %x : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<24x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{input must be a static tile, got tensor<?x8xf32>}}
  %a, %b = parallax.tile_unstack %x : tensor<?x8xf32> -> tensor<8x8xf32>, tensor<8x8xf32>
  return
}

// -----

func.func @f(%x: tensor<15x8xf32>) {
  // expected-error @+1 {{input has an odd number of rows (15): it cannot split in halves}}
  %a, %b = parallax.tile_unstack %x : tensor<15x8xf32> -> tensor<8x8xf32>, tensor<8x8xf32>
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{results must both be tensor<8x8xf32>}}
  %a, %b = parallax.tile_unstack %x : tensor<16x8xf32> -> tensor<8x8xf32>, tensor<8x4xf32>
  return
}

// -----

func.func @f(%o: tensor<16xf32>, %d: tensor<16xf32>) {
  // expected-error @+1 {{o1 must be a statically shaped rank-2 tile, got tensor<16xf32>}}
  %f = parallax.finalize %o, %d : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  return
}

// -----

func.func @f(%o: tensor<16x8xf32>, %d: tensor<16x1xf32>) {
  // expected-error @+1 {{d1 must be a statically shaped rank-1 tile, got tensor<16x1xf32>}}
  %f = parallax.finalize %o, %d : tensor<16x8xf32>, tensor<16x1xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%o: tensor<16x8xf32>, %d: tensor<8xf32>) {
  // expected-error @+1 {{d1 has 8 rows but o1 has 16}}
  %f = parallax.finalize %o, %d : tensor<16x8xf32>, tensor<8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%o: tensor<16x8xf32>, %d: tensor<16xf32>, %o2: tensor<16x4xf32>) {
  // expected-error @+1 {{o2 and d2 must have the types of o1 and d1}}
  %f = parallax.finalize %o, %d probe %o2, %d : tensor<16x8xf32>, tensor<16xf32>, tensor<16x4xf32>, tensor<16xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%o: tensor<16x8xf32>, %d: tensor<16xf32>) {
  // expected-error @+1 {{result shape [8, 8] must match o1 shape [16, 8]}}
  %f = parallax.finalize %o, %d : tensor<16x8xf32>, tensor<16xf32> -> tensor<8x8xbf16>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x64xf32>) -> tensor<1x1x8x64xf32> {
  // A misspelled "causal" must not silently mean non-causal.
  // expected-error @+1 {{unknown attribute 'casual'; parallax.attention accepts: causal, scale, window}}
  %o = parallax.attention %q, %q, %q {casual} : tensor<1x1x8x64xf32>, tensor<1x1x8x64xf32>, tensor<1x1x8x64xf32> -> tensor<1x1x8x64xf32>
  return %o : tensor<1x1x8x64xf32>
}

// -----

func.func @f(%s: tensor<16x8xf32>, %i: index) {
  // expected-error @+1 {{unknown attribute 'transposeB'; parallax.tile_mask accepts: causal, rows_per_head, scale, window}}
  %m = parallax.tile_mask %s, %i, %i, %i, %i {transposeB, scale = 1.0 : f32, rows_per_head = 16 : i64} : tensor<16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %kc: tensor<9x2x16x64xf32>, %l: tensor<2xi32>, %bt: tensor<2xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{block_table must have rank 2 [B, max_pages], got rank 1}}
  %o = parallax.decode_attention %q, %kc, %kc, %l block_table %bt : tensor<2x4x1x64xf32>, tensor<9x2x16x64xf32>, tensor<9x2x16x64xf32>, tensor<2xi32> block_table tensor<2xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x64xf32>, %kc: tensor<9x2x16x64xf32>, %l: tensor<2xi32>, %bt: tensor<3x4xi32>) -> tensor<2x4x1x64xf32> {
  // expected-error @+1 {{block_table must have one row per sequence: B is 2, block_table has 3}}
  %o = parallax.decode_attention %q, %kc, %kc, %l block_table %bt : tensor<2x4x1x64xf32>, tensor<9x2x16x64xf32>, tensor<9x2x16x64xf32>, tensor<2xi32> block_table tensor<3x4xi32> -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}
