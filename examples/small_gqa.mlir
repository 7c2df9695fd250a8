// A small Parallax attention for reading IR: 2 query heads share 1 KV head,
// head dim 16, causal, 20 queries against 40 keys (end-aligned).
func.func @small_gqa(%q: tensor<1x2x20x16xf32>, %k: tensor<1x1x40x16xf32>,
                     %v: tensor<1x1x40x16xf32>, %r: tensor<1x2x20x16xf32>) -> tensor<1x2x20x16xf32> {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<1x2x20x16xf32>, tensor<1x1x40x16xf32>, tensor<1x1x40x16xf32>, tensor<1x2x20x16xf32>
      -> tensor<1x2x20x16xf32>
  return %o : tensor<1x2x20x16xf32>
}
