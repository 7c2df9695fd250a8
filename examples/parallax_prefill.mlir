// Parallax attention, causal prefill with grouped-query attention:
// 8 query heads share 2 KV heads; the probe r has the shape of q.
func.func @parallax_prefill(%q: tensor<1x8x100x64xf32>, %k: tensor<1x2x100x64xf32>,
                            %v: tensor<1x2x100x64xf32>, %r: tensor<1x8x100x64xf32>)
    -> tensor<1x8x100x64xf32> {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<1x8x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>,
        tensor<1x8x100x64xf32> -> tensor<1x8x100x64xf32>
  return %o : tensor<1x8x100x64xf32>
}
