#!/usr/bin/env python3
"""Where a decode kernel's time goes, from inside: runs kernels generated with
`parallax-gen --trace-phases` (thread 0 of every CTA records %globaltimer,
%smid and %clock64 at phase boundaries, include/parallax/Conversion/Trace.h)
under decode_bench's timing (CUDA graph replay, inputs rotated past L2), then
reads the records of the graph's last call and prints, per point and split
count:
  - the call's time (graph median) and the span the CTAs saw (first entry to
    last exit, %globaltimer) with the spread of CTA entries;
  - the median ns of every phase over all CTAs and over each program's last
    CTA (the one that merges the splits), %clock64 scaled by the SM clock.

  python3 bench/trace_phases.py --kernels DIR [--g 1] [--points 1x4096,...]
      [--splits auto,1,16] [--softmax] [--out trace.json]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import (HKV, D, OurKernel, capture_graph, decode_dims,  # noqa: E402
                          decode_inputs, decode_kernel_json, decode_runner,
                          parallax_reference, rel_l2, rotation_copies, runtime_launch,
                          split_counts, time_graph)


def read_records(kern, ctas):
    t = kern.meta["trace"]
    ptr = kern.module.get_global(t["symbol"])
    n = min(ctas, t["capacity"]) * t["slots"]
    host = kern.cupy.asnumpy(kern.cupy.ndarray((n,), dtype=kern.cupy.uint64, memptr=ptr))
    return host.reshape(-1, t["slots"]).astype(np.int64)


def clear_records(kern):
    t = kern.meta["trace"]
    ptr = kern.module.get_global(t["symbol"])
    ptr.memset(0, t["capacity"] * t["slots"] * 8)


def summarize(kern, rec, grid, splits, cluster=False):
    t = kern.meta["trace"]
    names, c0 = t["points"], t["clock0"]
    start, end = rec[:, 0], rec[:, 1]
    clocks = rec[:, c0:c0 + len(names)]
    ok = (start > 0) & (end > 0)
    # SM clock (cycles per ns) from entry->exit of every CTA.
    span_clk = clocks[ok, names.index("exit")] - clocks[ok, names.index("entry")]
    span_ns = end[ok] - start[ok]
    ghz = float(np.median(span_clk[span_ns > 0] / span_ns[span_ns > 0]))
    t0 = start[ok].min()
    out = {"ghz": ghz, "ctas": int(ok.sum()),
           "span_ns": int(end[ok].max() - t0),
           "entry_ns": [int(np.percentile(start[ok] - t0, q)) for q in (0, 50, 100)],
           "exit_ns": [int(np.percentile(end[ok] - t0, q)) for q in (0, 50, 100)],
           "cta_ns": [int(np.percentile(span_ns, q)) for q in (0, 50, 100)]}
    # Programs: CTAs sharing (blockIdx.x / splits, y, z); the last to exit
    # merges. In a cluster launch every CTA merges its rows: "last" is then
    # split 0 (cluster rank 0), one such CTA, printed as "rank0".
    gx, gy, _ = grid
    idx = np.arange(len(rec))
    prog = (idx % gx) // splits + (gx // splits) * (idx // gx)
    last = np.zeros(len(rec), dtype=bool)
    if cluster:
        last = (idx % gx) % splits == 0
    else:
        for pid in np.unique(prog[ok]):
            members = idx[(prog == pid) & ok]
            last[members[np.argmax(end[members])]] = True
    loop = (clocks[ok, names.index("loop_end")] - clocks[ok, names.index("loop_begin")]) / ghz
    out["loop_ns"] = [int(np.percentile(loop, q)) for q in (0, 50, 100)]

    def phases(mask):
        res = {}
        prev = None
        for k, name in enumerate(names):
            col = clocks[mask, k]
            if prev is not None and (col > 0).all():
                res[f"{names[prev]}->{name}"] = float(np.median(col - clocks[mask, prev]) / ghz)
            if (col > 0).all():
                prev = k
        return res
    out["phases_all"] = phases(ok)
    out["phases_last"] = phases(ok & last)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", required=True, help="directory of parallax-gen --trace-phases output")
    ap.add_argument("--g", type=int, default=1)
    ap.add_argument("--softmax", action="store_true")
    ap.add_argument("--points", default="1x16,1x512,1x4096")
    ap.add_argument("--splits", default="auto")
    ap.add_argument("--out", default="trace_phases.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    G = args.g
    Hq = HKV * G
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    kern = OurKernel(decode_kernel_json(args.kernels, G, args.softmax))
    if "trace" not in kern.meta:
        sys.exit(f"{args.kernels}: not generated with --trace-phases")
    rows = []
    scale = D ** -0.5
    for pt in args.points.split(","):
        B, L = (int(x) for x in pt.split("x"))
        kv_bytes = 2 * B * HKV * L * D * 2
        copies = rotation_copies(kv_bytes)
        q, r, k, v, lens = decode_inputs(B, L, Hq, copies, dev)
        out = [torch.full_like(x, float("nan")) for x in q]
        # The graph's last call writes copy `last`: that output is checked.
        nb, last = min(B, 4), copies - 1
        ref = parallax_reference(q[last][:nb], k[last][:nb], v[last][:nb],
                                 None if args.softmax else r[last][:nb], scale)
        dims = decode_dims(B, L)
        for S in split_counts(args.splits, runtime_launch(kern, dims, L, sms)):
            dd = kern.prepare(dims, L, sms, splits=S)
            run = decode_runner(kern, dd, q, k, v, lens, out, None if args.softmax else r)
            for o in out:
                o.fill_(float("nan"))
            us = time_graph(run, copies)
            err = rel_l2(out[last][:nb], ref)
            # One more replay with the records zeroed: they then hold its last call.
            clear_records(kern)
            capture_graph(run, copies).replay()
            torch.cuda.synchronize()
            grid = kern.grid(dd)
            ctas = grid[0] * grid[1] * grid[2]
            s = summarize(kern, read_records(kern, ctas), grid, S[0], S[1])
            row = {"B": B, "L": L, "G": G, "splits": S[0], "cluster": S[1], "us": us, "err": err, **s}
            rows.append(row)
            print(f"B={B} L={L} G={G} S={S[0]}{' cluster' if S[1] else ''}: {us:.2f} us/call (graph), CTAs saw {s['span_ns'] / 1e3:.2f} us; "
                  f"{s['ctas']} CTAs, entries at {s['entry_ns']} ns, exits at {s['exit_ns']} ns, "
                  f"CTA {s['cta_ns']} ns, loops {s['loop_ns']} ns, SM {s['ghz']:.2f} GHz, err {err:.1e}", flush=True)
            for which in ("phases_all", "phases_last"):
                label = "rank0" if which == "phases_last" and S[1] else which[7:]
                print(f"  {label:5s}: " + ", ".join(f"{k} {v:.0f}" for k, v in s[which].items()), flush=True)
        del q, r, k, v, out
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
