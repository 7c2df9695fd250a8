//===- ParallaxOps.td - parallax operations ------------------*- tablegen -*-===//
#ifndef PARALLAX_OPS_TD
#define PARALLAX_OPS_TD

include "parallax/Dialect/Parallax/IR/ParallaxDialect.td"
include "parallax/Dialect/Parallax/IR/ParallaxAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

// Element types a kernel reads and writes; accumulation is always f32.
def Parallax_Float : AnyTypeOf<[F32, F16, BF16]>;
def Parallax_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Parallax_I32Tensor : RankedTensorOf<[I32]>;
def Parallax_F32Tile : RankedTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// High-level attention ops
//===----------------------------------------------------------------------===//

// Attributes shared by the three attention forms.
defvar AttentionAttrs = (ins UnitAttr:$causal,
                             OptionalAttr<I64Attr>:$window,
                             OptionalAttr<F32Attr>:$scale);

def Parallax_AttentionOp : Parallax_Op<"attention", [Pure]> {
  let summary = "Softmax or Parallax attention on dense [B, H, L, D] tensors";
  let description = [{
    Computes, per batch `b`, query head `h` and query row `i`:

    ```
    S1_ij = scale * q_i . k_j   (masked: -inf)     S2_ij = r_i . k_j
    a_ij  = softmax_j(S1_ij)                       t_ij  = S2_ij
    o_i   = sum_j a_ij v_j - Cov_a(v, k)_i r_i
          = sum_j a_ij (1 + tbar_i - t_ij) v_j
    ```

    Without `probe %r` the op is softmax attention. Shapes: `q`, `r` and the
    result are `[B, Hq, Lq, D]`; `k` and `v` are `[B, Hkv, Lk, D]`, with
    `Hq % Hkv == 0` (grouped-query attention: query head `h` reads KV head
    `h / (Hq / Hkv)`). `scale` defaults to `1/sqrt(D)`. `causal` masks keys
    after the query, aligned to the END of the key sequence when `Lq < Lk`:
    key `j` is visible to query `i` iff `j <= Lk - Lq + i`. `window = w` also
    hides keys more than `w - 1` before that diagonal. A row with no visible
    key returns 0.

    ```mlir
    %o = parallax.attention %q, %k, %v probe %r {causal, window = 256 : i64}
        : tensor<2x8x512x128xbf16>, tensor<2x2x512x128xbf16>,
          tensor<2x2x512x128xbf16>, tensor<2x8x512x128xbf16>
        -> tensor<2x8x512x128xbf16>
    ```
  }];
  let arguments = !con((ins Parallax_FloatTensor:$q, Parallax_FloatTensor:$k,
                            Parallax_FloatTensor:$v,
                            Optional<Parallax_FloatTensor>:$r), AttentionAttrs);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`probe` $r^)? attr-dict `:` type($q) `,` type($k) `,`
    type($v) (`,` type($r)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale applied to q.k: the attribute, or 1/sqrt(D).
    double getEffectiveScale();
  }];
}

def Parallax_DecodeAttentionOp : Parallax_Op<"decode_attention",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Attention of a few new tokens against a KV cache with per-sequence lengths";
  let description = [{
    `q` (and `r`) are `[B, Hq, Lq, D]`: the last `Lq` tokens of each
    sequence (Lq = 1 for plain decode). `k_cache` and `v_cache` are
    `[B, Hkv, Lmax, D]`; `seq_lens` (`[B]`, i32) gives how many cached keys
    sequence `b` has; keys at or past `seq_lens[b]` are never read. Causal
    masking is aligned to the end of each sequence: key `j` is visible to
    query `i` of sequence `b` iff `j <= seq_lens[b] - Lq + i`. A sequence of
    length 0 returns 0.

    Paged cache (vLLM-style): with `block_table %bt` (`[B, max_pages]`, i32),
    the caches are `[num_pages, Hkv, page_size, D]` and key `j` of sequence
    `b` lives in page `bt[b, j / page_size]` at row `j % page_size`.

    ```mlir
    %o = parallax.decode_attention %q, %kc, %vc, %lens probe %r
        : tensor<8x32x1x128xbf16>, tensor<8x8x4096x128xbf16>,
          tensor<8x8x4096x128xbf16>, tensor<8xi32>, tensor<8x32x1x128xbf16>
        -> tensor<8x32x1x128xbf16>
    ```
  }];
  let arguments = !con((ins Parallax_FloatTensor:$q,
                            Parallax_FloatTensor:$k_cache,
                            Parallax_FloatTensor:$v_cache,
                            Parallax_I32Tensor:$seq_lens,
                            Optional<Parallax_I32Tensor>:$block_table,
                            Optional<Parallax_FloatTensor>:$r), AttentionAttrs);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache `,` $seq_lens (`block_table` $block_table^)?
    (`probe` $r^)? attr-dict `:`
    type($q) `,` type($k_cache) `,` type($v_cache) `,` type($seq_lens)
    (`block_table` type($block_table)^)? (`,` type($r)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    double getEffectiveScale();
  }];
}

def Parallax_VarlenAttentionOp : Parallax_Op<"varlen_attention", [Pure]> {
  let summary = "Attention over a packed batch of variable-length sequences";
  let description = [{
    FlashAttention's variable-length form: `q` (and `r`, and the result) are
    `[totalQ, Hq, D]`, `k` and `v` are `[totalK, Hkv, D]`; `cu_seqlens_q` and
    `cu_seqlens_k` (i32, `B + 1` entries each) hold the cumulative offsets of
    the sequences. `max_seqlen_q`/`max_seqlen_k` bound any sequence's length
    (used to size the grid). Causal masking is end-aligned per sequence.

    ```mlir
    %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk {causal,
            max_seqlen_q = 512 : i64, max_seqlen_k = 512 : i64}
        : tensor<1000x8x64xf16>, tensor<1000x8x64xf16>, tensor<1000x8x64xf16>,
          tensor<5xi32>, tensor<5xi32> -> tensor<1000x8x64xf16>
    ```
  }];
  let arguments = !con((ins Parallax_FloatTensor:$q, Parallax_FloatTensor:$k,
                            Parallax_FloatTensor:$v,
                            Parallax_I32Tensor:$cu_seqlens_q,
                            Parallax_I32Tensor:$cu_seqlens_k,
                            Optional<Parallax_FloatTensor>:$r,
                            I64Attr:$max_seqlen_q, I64Attr:$max_seqlen_k),
                       AttentionAttrs);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $cu_seqlens_q `,` $cu_seqlens_k (`probe` $r^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($cu_seqlens_q)
    `,` type($cu_seqlens_k) (`,` type($r)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    double getEffectiveScale();
  }];
}

//===----------------------------------------------------------------------===//
// Tiled ops: one program of the flash loop, on statically shaped tiles
//===----------------------------------------------------------------------===//

def Parallax_TileLoadOp : Parallax_Op<"tile_load", [Pure]> {
  let summary = "Load a tile of rows of one or more heads";
  let description = [{
    Reads rows `[row, row + rows)` of heads `[head, head + heads)` of batch
    `batch` from a `[B, H, L, D]` tensor into a `[heads * rows, D]` tile
    (head-major: tile row `g * rows + i` is head `head + g`, row `row + i`).
    Rows at or past `limit` (default: L) read as zero, so a tile may hang
    over the end of the sequence and nothing past `limit` is ever read.
    Packing the G query heads of one KV head (`heads = G`) is how GQA shares
    each K/V tile among them.

    A packed variable-length source `[T, H, D]` (token-major) is read the
    same way with `row` an absolute token index and `limit` the end of the
    sequence's tokens; `batch` then only names the sequence.

    ```mlir
    %t = parallax.tile_load %k[%b, %h, %row] limit %len {rows = 64 : i64, heads = 1 : i64}
        : tensor<2x8x4096x128xbf16> -> tensor<64x128xbf16>
    %u = parallax.tile_load %kp[%b, %h, %tok] limit %end {rows = 64 : i64, heads = 1 : i64}
        : tensor<?x8x128xbf16> -> tensor<64x128xbf16>
    ```
  }];
  let arguments = (ins Parallax_FloatTensor:$source, Index:$batch, Index:$head,
                       Index:$row, Optional<Index>:$limit,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rows,
                       ConfinedAttr<I64Attr, [IntPositive]>:$heads);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $source `[` $batch `,` $head `,` $row `]` (`limit` $limit^)? attr-dict `:`
    type($source) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Parallax_TileDotOp : Parallax_Op<"tile_dot", [Pure]> {
  let summary = "Tile product with f32 accumulation: acc + A B (or A B^T)";
  let description = [{
    `a` is `[M, K]`; `b` is `[K, N]`, or `[N, K]` with `transpose_b` (how
    Q K^T reads K rows directly). The result is `[M, N]` f32; with `acc` it
    is `acc + a b`. Operands may be f32, f16 or bf16 (products are exact in
    f32, sums in f32).

    ```mlir
    %s = parallax.tile_dot %q, %k {transpose_b}
        : tensor<64x128xbf16>, tensor<64x128xbf16> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Parallax_FloatTensor:$a, Parallax_FloatTensor:$b,
                       Optional<Parallax_F32Tile>:$acc, UnitAttr:$transpose_b);
  let results = (outs Parallax_F32Tile:$result);
  let assemblyFormat = [{
    $a `,` $b (`acc` $acc^)? attr-dict `:` type($a) `,` type($b)
    (`,` type($acc)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Parallax_TileMaskOp : Parallax_Op<"tile_mask", [Pure, AllTypesMatch<["logits", "result"]>]> {
  let summary = "Scale a logit tile and set invisible keys to -inf";
  let description = [{
    Tile element `(i, j)` is query `row + i % rows_per_head` and key
    `col + j` of a sequence with `lq` queries and `lk` keys. The result is
    `scale * s` where the key is visible and `-inf` where it is not: keys at
    or past `lk` always, plus the end-aligned `causal` mask and the sliding
    `window` (see `parallax.attention`). `rows_per_head` lets one tile hold
    several GQA heads. The scale usually folds log2(e) in, so that the
    softmax step can use exp2.

    ```mlir
    %m = parallax.tile_mask %s, %row, %col, %lq, %lk
        {causal, scale = 0.1275 : f32, rows_per_head = 64 : i64}
        : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Parallax_F32Tile:$logits, Index:$row, Index:$col,
                       Index:$lq, Index:$lk, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$window, F32Attr:$scale,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rows_per_head);
  let results = (outs Parallax_F32Tile:$result);
  let assemblyFormat = [{
    $logits `,` $row `,` $col `,` $lq `,` $lk attr-dict `:` type($logits)
  }];
  let hasVerifier = 1;
}

def Parallax_SoftmaxStepOp : Parallax_Op<"softmax_step", [Pure,
    AllTypesMatch<["max", "new_max", "alpha"]>, AllTypesMatch<["logits", "probs"]>]> {
  let summary = "One online-softmax step: new running max, rescale factor, exp2 weights";
  let description = [{
    For logits `s` (`[M, N]`, base-2 domain, `-inf` where masked) and the
    running max `m` (`[M]`): `m_new = max(m, rowmax(s))`,
    `alpha = exp2(m - m_new)`, `p = exp2(s - m_new)`. A row whose max is
    still `-inf` uses 0 in place of `m_new`, so that it yields `p = 0` and
    `alpha = 0`, never NaN. Every accumulator of the stream (d and O) is
    rescaled by the one `alpha`.

    ```mlir
    %m_new, %alpha, %p = parallax.softmax_step %s, %m
        : tensor<64x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Parallax_F32Tile:$logits, Parallax_F32Tile:$max);
  let results = (outs Parallax_F32Tile:$new_max, Parallax_F32Tile:$alpha,
                      Parallax_F32Tile:$probs);
  let assemblyFormat = [{
    $logits `,` $max attr-dict `:` type($logits) `,` type($max)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "Value":$logits, "Value":$max)>];
}

def Parallax_TileRescaleOp : Parallax_Op<"tile_rescale", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Multiply each row of a tile (or each entry of a row vector) by alpha";
  let description = [{
    `x` is `[M]` or `[M, N]`, `alpha` is `[M]`: `x[i, ...] * alpha[i]`.

    ```mlir
    %o = parallax.tile_rescale %acc, %alpha : tensor<64x128xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Parallax_F32Tile:$input, Parallax_F32Tile:$alpha);
  let results = (outs Parallax_F32Tile:$result);
  let assemblyFormat = [{
    $input `,` $alpha attr-dict `:` type($input) `,` type($alpha)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "Value":$input, "Value":$alpha)>];
}

def Parallax_TileRowSumOp : Parallax_Op<"tile_rowsum", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "Row sums of a tile, added to an accumulator";
  let description = [{
    `acc[i] + sum_j p[i, j]`.

    ```mlir
    %d = parallax.tile_rowsum %p, %d0 : tensor<64x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Parallax_F32Tile:$input, Parallax_F32Tile:$acc);
  let results = (outs Parallax_F32Tile:$result);
  let assemblyFormat = [{
    $input `,` $acc attr-dict `:` type($input) `,` type($acc)
  }];
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "Value":$input, "Value":$acc)>];
}

def Parallax_TileStackOp : Parallax_Op<"tile_stack", [Pure]> {
  let summary = "Stack two tiles along rows ([top; bottom])";
  let description = [{
    The fusion passes stack the probe rows under the query rows ([Q; R]),
    and P2 under P1 ([P1; P2]), so that one product reads each K and V tile
    once for both.

    ```mlir
    %qr = parallax.tile_stack %q, %r : tensor<64x128xbf16>, tensor<64x128xbf16> -> tensor<128x128xbf16>
    ```
  }];
  let arguments = (ins Parallax_FloatTensor:$top, Parallax_FloatTensor:$bottom);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $top `,` $bottom attr-dict `:` type($top) `,` type($bottom) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Parallax_TileUnstackOp : Parallax_Op<"tile_unstack", [Pure]> {
  let summary = "Split a tile into its top and bottom halves";
  let description = [{
    The inverse of `parallax.tile_stack` for two equal halves.

    ```mlir
    %s1, %s2 = parallax.tile_unstack %s : tensor<128x64xf32> -> tensor<64x64xf32>, tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Parallax_FloatTensor:$input);
  let results = (outs Parallax_FloatTensor:$top, Parallax_FloatTensor:$bottom);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($top) `,` type($bottom)
  }];
  let hasVerifier = 1;
}

def Parallax_FinalizeOp : Parallax_Op<"finalize", [Pure, AttrSizedOperandSegments]> {
  let summary = "Apply the output formula to the accumulators";
  let description = [{
    Softmax: `o = O1 / d1`. Parallax (`probe %o2, %d2`):
    `o = (O1/d1)(1 + d2/d1) - O2/d1`. Rows with `d1 == 0` (no visible key)
    give 0. The result is converted to its element type.

    ```mlir
    %o = parallax.finalize %o1, %d1 probe %o2, %d2
        : tensor<64x128xf32>, tensor<64xf32>, tensor<64x128xf32>, tensor<64xf32>
        -> tensor<64x128xbf16>
    ```
  }];
  let arguments = (ins Parallax_F32Tile:$o1, Parallax_F32Tile:$d1,
                       Optional<Parallax_F32Tile>:$o2,
                       Optional<Parallax_F32Tile>:$d2);
  let results = (outs Parallax_FloatTensor:$result);
  let assemblyFormat = [{
    $o1 `,` $d1 (`probe` $o2^ `,` $d2)? attr-dict `:` type($o1) `,` type($d1)
    (`,` type($o2)^ `,` type($d2))? `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // PARALLAX_OPS_TD
