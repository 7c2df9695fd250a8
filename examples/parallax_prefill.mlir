// Parallax attention, causal prefill with grouped-query attention:
// 8 query heads share 2 KV heads; the probe r has the shape of q.
func.func @parallax_prefill(%q: tensor<1x8x100x64xbf16>, %k: tensor<1x2x100x64xbf16>,
                            %v: tensor<1x2x100x64xbf16>, %r: tensor<1x8x100x64xbf16>)
    -> tensor<1x8x100x64xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<1x8x100x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>,
        tensor<1x8x100x64xbf16> -> tensor<1x8x100x64xbf16>
  return %o : tensor<1x8x100x64xbf16>
}
