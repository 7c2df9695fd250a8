#!/usr/bin/env python3
"""The fastest this GPU reads a buffer of a decode point's K/V size, one
kernel per call, timed the way decode_bench times the decode kernels (CUDA
graph replay rotating input copies, interleaved rounds, median): a ceiling
for the effective TB/s of any decode kernel at that size on that GPU, which
the data sheet's 4.8 TB/s is not.

The reader is kv_read.py's Triton kernel. The sweep covers grids of 128
programs (as many as the one-wave decode grids), 1, 2, 4 and 8 programs per
SM, and 32 per SM (many short programs); the best configuration per size is
the ceiling. The sums are checked against torch's, so every byte was read.

  python3 bench/read_ceiling.py [--sizes-mib 1024,2048,4096] [--out F]
"""
import argparse
import itertools
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import gpu_state, time_graphs_interleaved  # noqa: E402
from kv_read import programs_for, reader, sums_agree  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="1024,2048,4096",
                    help="1024 = B=8, L=32768 (K and V); 2048 = B=32, L=16384; 4096 = B=32, L=32768")
    ap.add_argument("--top", type=int, default=4, help="configurations of the first size re-timed at the others")
    ap.add_argument("--out", default="read_ceiling.json")
    args = ap.parse_args()
    dev = torch.device("cuda")
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    state = gpu_state()
    print(f"GPU: {torch.cuda.get_device_name(0)}, {sms} SMs; state {json.dumps(state)}", flush=True)
    sizes = [int(s) for s in args.sizes_mib.split(",")]
    # Programs per SM (None: 128 programs, as many as the one-wave decode grids).
    configs = list(itertools.product([None, 1, 2, 4, 8, 32], [2048, 8192], [4, 8], [1, 3]))
    rows = []
    for si, mib in enumerate(sizes):
        n = mib * (1 << 20) // 2
        copies = 2  # each call reads the other copy: nothing left in L2 from the last
        xs = [torch.randn(n, device=dev, dtype=torch.bfloat16) for _ in range(copies)]
        want = [x.float().sum().item() for x in xs]
        todo = configs if si == 0 else top
        fns, outs = {}, {}
        for cfg in todo:
            runs = [reader(x, programs_for(cfg[0], sms), *cfg[1:]) for x in xs]
            fns[cfg] = (lambda runs: lambda i: runs[i][0]())(runs)
            outs[cfg] = [o for _, o in runs]
        t0 = time.time()
        us = time_graphs_interleaved(fns, copies, rounds=3, min_total_s=0.15)
        for cfg, t in us.items():
            for i in range(copies):  # the sums of the last replay: every element read
                for o in outs[cfg]:
                    o.fill_(float("nan"))
                fns[cfg](i)
                got = outs[cfg][i].sum().item()
                if not sums_agree(got, want[i], n):
                    raise SystemExit(f"read_ceiling: config {cfg} summed {got}, want {want[i]}")
            rows.append({"mib": mib, "bytes": n * 2, "programs_per_sm": cfg[0],
                         "programs": programs_for(cfg[0], sms), "block": cfg[1],
                         "warps": cfg[2], "stages": cfg[3], "us": t, "tbs": n * 2 / (t * 1e-6) / 1e12})
        here = sorted((r for r in rows if r["mib"] == mib), key=lambda r: r["us"])
        if si == 0:
            top = [(r["programs_per_sm"], r["block"], r["warps"], r["stages"]) for r in here[:args.top]]
        print(f"{mib} MiB ({len(us)} configurations, {time.time() - t0:.0f} s): best", flush=True)
        for r in here[:args.top]:
            print(f"  P={r['programs']:5d} BLOCK={r['block']:5d} warps={r['warps']} stages={r['stages']}: "
                  f"{r['us']:8.1f} us {r['tbs']:5.2f} TB/s", flush=True)
        del xs
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"meta": {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
                            "gpu_state_before": state, "gpu_state_after": gpu_state()},
                   "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
