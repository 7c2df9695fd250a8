#!/usr/bin/env python3
"""What DRAM bandwidth PyTorch's own streaming kernels reach on this GPU: a
reference beside the data sheet's peak (4.8 TB/s on the H200) for the
decode kernels' effective TB/s. Times them on tensors far larger than
the L2, with decode_bench's method (CUDA graph replay, median):

  read:  row sums (float32) of a bf16 tensor as 1024 rows  (bytes = size of x)
  copy:  y.copy_(x)                                       (bytes = 2 x size of x)

  python3 bench/bandwidth_probe.py [--sizes-mib 512,1024,4096] [--out F]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import time_graphs_interleaved  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="512,1024,4096")
    ap.add_argument("--out", default="bandwidth_probe.json")
    args = ap.parse_args()
    dev = torch.device("cuda")
    print(f"GPU: {torch.cuda.get_device_name(0)}, L2 {torch.cuda.get_device_properties(0).L2_cache_size >> 20} MiB")
    rows = []
    for mib in (int(s) for s in args.sizes_mib.split(",")):
        n = mib * (1 << 20) // 2
        # Random, not zeros: the probe reads real data, as the kernels do.
        x = torch.randn(n, device=dev, dtype=torch.bfloat16)
        y = torch.empty_like(x)
        rows_of_x = x.view(1024, -1)
        acc = torch.empty(1024, device=dev, dtype=torch.float32)
        fns = {
            "read": lambda i: torch.sum(rows_of_x, dim=1, dtype=torch.float32, out=acc),
            "copy": lambda i: y.copy_(x),
        }
        us = time_graphs_interleaved(fns, copies=1)
        # The sums ran on the data: finite, and not the zeros of an idle kernel.
        if not bool(torch.isfinite(acc).all()) or bool((acc == 0).all()):
            raise SystemExit("read probe: the row sums are not finite or all zero")
        for name, t in us.items():
            moved = x.numel() * 2 * (2 if name == "copy" else 1)
            tbs = moved / (t * 1e-6) / 1e12
            rows.append({"probe": name, "mib": mib, "us": t, "tbs": tbs})
            print(f"{name:5s} {mib:5d} MiB {t:9.1f} us {tbs:5.2f} TB/s", flush=True)
        del x, y
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
