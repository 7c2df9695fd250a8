#!/usr/bin/env python3
"""The fastest this GPU reads a buffer of a decode point's K/V size, one
kernel per call, timed the way decode_bench times the decode kernels (CUDA
graph replay rotating input copies, interleaved rounds, median): a ceiling
for the effective TB/s of any decode kernel at that size on that GPU, which
the data sheet's 4.8 TB/s is not.

The reader is kv_read.py's Triton kernel. The sweep covers grids of 128
programs (as many as the one-wave decode grids), 1, 2, 4 and 8 programs per
SM, and 32 per SM (many short programs); the best configuration per size is
the ceiling. The best are then timed again on one buffer and on two of half
the size (a K and a V cache, as decode_bench reads them) side by side. The
sums are checked against torch's, so every byte was read.

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
from kv_read import pair_reader, programs_for, reader, sums_agree  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="1024,2048,4096",
                    help="1024 = B=8, L=32768 (K and V); 2048 = B=32, L=16384; 4096 = B=32, L=32768")
    ap.add_argument("--top", type=int, default=4,
                    help="the sweep's best configurations, compared on one and two buffers at every size")
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

    def timed(mib, n, fns, outs, wants, phase):
        """Times fns interleaved; checks every copy's sums; adds rows."""
        t0 = time.time()
        us = time_graphs_interleaved(fns, copies, rounds=3, min_total_s=0.15)
        for (kind, cfg), t in us.items():
            for i in range(copies):  # every element of every copy read
                for o in outs[(kind, cfg)]:
                    o.fill_(float("nan"))
                fns[(kind, cfg)](i)
                got = outs[(kind, cfg)][i].sum().item()
                if not sums_agree(got, wants[i], n):
                    raise SystemExit(f"read_ceiling: {kind} {cfg} summed {got}, want {wants[i]}")
            rows.append({"mib": mib, "bytes": n * 2, "phase": phase, "kind": kind,
                         "programs_per_sm": cfg[0], "programs": programs_for(cfg[0], sms),
                         "block": cfg[1], "warps": cfg[2], "stages": cfg[3], "us": t,
                         "tbs": n * 2 / (t * 1e-6) / 1e12})
        here = sorted((r for r in rows if r["mib"] == mib and r["phase"] == phase),
                      key=lambda r: r["us"])
        print(f"{mib} MiB {phase} ({len(us)} readers, {time.time() - t0:.0f} s): best", flush=True)
        for r in here[:2 * args.top]:
            print(f"  {r['kind']:6s} P={r['programs']:5d} BLOCK={r['block']:5d} warps={r['warps']} "
                  f"stages={r['stages']}: {r['us']:8.1f} us {r['tbs']:5.2f} TB/s", flush=True)
        return here

    copies = 2  # each call reads the other copy: nothing left in L2 from the last
    for si, mib in enumerate(sizes):
        n = mib * (1 << 20) // 2
        xs = [torch.randn(n, device=dev, dtype=torch.bfloat16) for _ in range(copies)]
        wants = [x.float().sum().item() for x in xs]
        fns, outs = {}, {}

        def add(kind, cfg, runs):
            fns[(kind, cfg)] = (lambda runs: lambda i: runs[i][0]())(runs)
            outs[(kind, cfg)] = [o for _, o in runs]
        if si == 0:  # the sweep: one buffer, every configuration
            for cfg in configs:
                add("single", cfg, [reader(x, programs_for(cfg[0], sms), *cfg[1:]) for x in xs])
            here = timed(mib, n, fns, outs, wants, "sweep")
            top = [(r["programs_per_sm"], r["block"], r["warps"], r["stages"]) for r in here[:args.top]]
            fns, outs = {}, {}
        # The best configurations on one buffer, and on two of half the size
        # (a K and a V cache, as decode_bench's ceiling reads them), side by side.
        halves = [(x[: n // 2], x[n // 2:]) for x in xs]
        for cfg in top:
            add("single", cfg, [reader(x, programs_for(cfg[0], sms), *cfg[1:]) for x in xs])
            add("pair", cfg, [pair_reader(k, v, programs_for(cfg[0], sms), *cfg[1:]) for k, v in halves])
        timed(mib, n, fns, outs, wants, "compare")
        del xs, halves, fns, outs
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"meta": {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
                            "gpu_state_before": state, "gpu_state_after": gpu_state()},
                   "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
