// A small bf16 Parallax attention for reading the GPU stages: 1 head,
// head dim 32, causal; the kernel takes dynamic batch and lengths.
func.func @small_gpu(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>,
                     %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16>
    attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r {causal}
      : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
