#!/usr/bin/env python3
"""Tuning sweep for the decode kernels: times several variants of our kernel
(directories of parallax-gen output, one per configuration) over split counts,
with decode_bench's method (CUDA graph replay, inputs rotated past L2, median),
and checks each against float64. Prints one line per (variant, point, splits)
and writes JSON.

  python3 bench/decode_sweep.py --variants DIR1,DIR2,... [--g 1] [--splits auto,1,2,4]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import (HKV, D, OurKernel, decode_dims, decode_inputs,  # noqa: E402
                          decode_kernel_json, decode_runner, parallax_reference, rel_l2,
                          rotation_copies, runtime_launch, split_counts, time_graph)

POINTS = [(1, 4096), (1, 32768), (8, 4096), (8, 32768), (32, 512), (32, 16384),
          (128, 512), (128, 4096)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", required=True, help="comma-separated kernel directories")
    ap.add_argument("--g", type=int, default=1)
    ap.add_argument("--softmax", action="store_true")
    ap.add_argument("--splits", default="auto")
    ap.add_argument("--points", default="")
    ap.add_argument("--ctas-per-sm", default="", help="also run each variant limited to these CTAs per SM (comma-separated)")
    ap.add_argument("--plain", action="store_true",
                    help="also time each variant launched plainly (the default is the runtime's: "
                         "programmatic where the kernel supports it)")
    ap.add_argument("--out", default="decode_sweep.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    G = args.g
    Hq = HKV * G
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    points = POINTS
    if args.points:
        points = [tuple(int(x) for x in p.split("x")) for p in args.points.split(",")]
    variants = []
    for d in args.variants.split(","):
        path = decode_kernel_json(d, G, args.softmax)
        k = OurKernel(path)
        occ = k.ctas_per_sm
        o = k.meta["options"]
        print(f"variant {os.path.basename(d)}: block_n={o['block_n']} kv_groups={o['kv_groups']} "
              f"stages={o['num_stages']} bulk={o.get('bulk_copy')} smem={k.smem} "
              f"regs={k.fn.num_regs} ctas/SM={occ}", flush=True)
        variants.append((os.path.basename(d), k, occ))
        if args.plain and k.pdl:
            variants.append((f"{os.path.basename(d)}+plain", OurKernel(path, pdl=False), occ))
        for n in filter(None, args.ctas_per_sm.split(",")):
            kn = OurKernel(path)
            kn.limit_ctas_per_sm(int(n))
            variants.append((f"{os.path.basename(d)}@{kn.ctas_per_sm}cta", kn, kn.ctas_per_sm))
    rows = []
    scale = D ** -0.5
    for B, L in points:
        kv_bytes = 2 * B * HKV * L * D * 2
        copies = rotation_copies(kv_bytes)
        q, r, k, v, lens = decode_inputs(B, L, Hq, copies, dev)
        out = [torch.full_like(x, float("nan")) for x in q]
        nb = min(B, 4)
        ref = parallax_reference(q[0][:nb], k[0][:nb], v[0][:nb], None if args.softmax else r[0][:nb], scale)
        dims = decode_dims(B, L)
        for name, kern, occ in variants:
            for S in split_counts(args.splits, runtime_launch(kern, dims, L, sms)):
                dd = kern.prepare(dims, L, sms, splits=S)
                run = decode_runner(kern, dd, q, k, v, lens, out, None if args.softmax else r)
                for o in out:
                    o.fill_(float("nan"))
                us = time_graph(run, copies)
                for o in out:  # the replays wrote every copy: poison again
                    o.fill_(float("nan"))
                run(0)
                torch.cuda.synchronize()
                err = rel_l2(out[0][:nb], ref)
                tbs = kv_bytes / (us * 1e-6) / 1e12
                row = {"variant": name, "B": B, "L": L, "splits": S[0], "cluster": S[1], "us": us, "tbs": tbs,
                       "err": err, "ctas_per_sm": occ}
                rows.append(row)
                print(f"{name:24s} B={B:3d} L={L:5d} S={S[0]:2d}{'c' if S[1] else ' '} {us:9.1f} us {tbs:5.2f} TB/s err {err:.1e}"
                      f"{'' if err < 1e-2 else '  FAIL'}", flush=True)
        del q, r, k, v, out
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
