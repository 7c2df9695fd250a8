#!/usr/bin/env python3
"""One launch of our decode kernel(s) and of cuDNN's SDPA on the same inputs,
for Nsight Compute (ncu) to profile side by side:

  ncu --kernel-name regex:"parallax_decode|fprop" --launch-count 2 \\
      --section SpeedOfLight --section MemoryWorkloadAnalysis -o prof \\
      python3 bench/ncu_probe.py B L G KERNEL_DIR [KERNEL_DIR ...]

B, L, G: batch, cache length, query heads per KV head (Hkv = 8, D = 128,
bf16). Each KERNEL_DIR holds parallax_decode_d128_bf16_h{8G}x8.json/.ptx; the
split count is the runtime's heuristic, or KERNEL_DIR@S for S splits (@cS: in
clusters of S CTAs, as decode_sweep's --splits)."""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import (OurKernel, decode_dims, decode_kernel_json,  # noqa: E402
                          runtime_launch, split_counts)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    B, L, G = (int(x) for x in sys.argv[1:4])
    hkv, d = 8, 128
    hq = hkv * G
    q = torch.randn(B, hq, 1, d, device="cuda", dtype=torch.bfloat16)
    r = 0.5 * torch.randn_like(q)
    k = torch.randn(B, hkv, L, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    lens = torch.full((B,), L, device="cuda", dtype=torch.int32)
    out = torch.empty_like(q)
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    for arg in sys.argv[4:]:
        kdir, _, spec = arg.partition("@")
        kern = OurKernel(decode_kernel_json(kdir, G))
        splits = None
        if spec:
            splits = split_counts(spec, runtime_launch(kern, decode_dims(B, L), L, sms))[0]
        dims = kern.prepare(decode_dims(B, L), L, sms, splits=splits)
        kern({"q": q.data_ptr(), "k_cache": k.data_ptr(), "v_cache": v.data_ptr(),
              "seq_lens": lens.data_ptr(), "out": out.data_ptr(), "r": r.data_ptr()}, dims)
    torch.cuda.synchronize()
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
