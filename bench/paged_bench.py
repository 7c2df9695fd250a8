#!/usr/bin/env python3
"""Paged-KV decode benchmark: our Parallax decode reading a paged cache
([num_pages, Hkv, page, D] + a shuffled block table, as vLLM/SGLang lay it
out) against the same kernel family on a contiguous cache and torch SDPA's
cuDNN backend (softmax, contiguous: SDPA has no paged form), on the same
values, timed like decode_bench.py (CUDA graph replay, inputs rotated past
L2, median). Checks the paged output against float64.

  python3 bench/paged_bench.py --kernels DIR --out paged.json
    DIR holds parallax_decode_d128_bf16_h{Hq}x8[_page{P}].json (bench/generate_kernels.sh)
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import (HKV, D, OurKernel, decode_dims, decode_inputs,  # noqa: E402
                          decode_kernel_json, decode_runner, parallax_reference, rel_l2,
                          rotation_copies, time_graphs_interleaved)

POINTS = [(1, 32768), (8, 32768), (32, 16384), (128, 4096)]


def paginate(x, page, perm):
    """[B, H, L, D] -> [num_pages, H, page, D] with logical page j of batch b
    stored at perm[b * (L / page) + j]."""
    B, H, L, Dd = x.shape
    n = L // page
    blocks = x.view(B, H, n, page, Dd).permute(0, 2, 1, 3, 4).reshape(B * n, H, page, Dd)
    # Row-major, whatever strides reshape kept (at B = 1 it is a strided view).
    out = torch.empty(blocks.shape, dtype=x.dtype, device=x.device)
    out[perm] = blocks
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", required=True)
    ap.add_argument("--out", default="paged_bench.json")
    ap.add_argument("--pages", default="16,64,256")
    ap.add_argument("--groups", default="1,8")
    ap.add_argument("--points", default="", help="e.g. 1x32768,8x4096")
    ap.add_argument("--copies", type=int, default=0, help="input sets per graph (0: enough to defeat L2)")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    scale = D ** -0.5
    rows = []
    for G in [int(g) for g in args.groups.split(",")]:
        Hq = HKV * G
        contiguous = OurKernel(decode_kernel_json(args.kernels, G))
        paged = {P: OurKernel(decode_kernel_json(args.kernels, G)[:-5] + f"_page{P}.json")
                 for P in (int(p) for p in args.pages.split(","))}
        points = POINTS
        if args.points:
            points = [tuple(int(x) for x in p.split("x")) for p in args.points.split(",")]
        for B, L in points:
            kv_bytes = 2 * B * HKV * L * D * 2
            copies = args.copies or rotation_copies(kv_bytes, cap=16)
            q, r, k, v, lens = decode_inputs(B, L, Hq, copies, dev)
            out = [torch.full_like(x, float("nan")) for x in q]
            nb = min(B, 4)
            ref = parallax_reference(q[0][:nb], k[0][:nb], v[0][:nb], r[0][:nb], scale)
            row = {"G": G, "B": B, "L": L, "kv_bytes": kv_bytes}
            dims = decode_dims(B, L)

            def check(name):
                row["err_" + name] = rel_l2(out[0][:nb], ref)

            # Every method on its own inputs, timed in interleaved rounds
            # (decode_bench.time_graphs_interleaved), then checked one by one.
            dd = contiguous.prepare(dims, L, sms)
            runs = {"ours_contiguous": decode_runner(contiguous, dd, q, k, v, lens, out, r)}
            paged_inputs = []
            for P, kern in paged.items():
                n = L // P
                perm = torch.randperm(B * n, device=dev)
                table = perm.view(B, n).to(torch.int32).contiguous()
                kp = [paginate(x, P, perm) for x in k]
                vp = [paginate(x, P, perm) for x in v]
                # The runners see the block table only as a pointer: keep it alive.
                paged_inputs.append((table, kp, vp))
                pdims = {"q.dim0": B, "q.dim2": 1, "k_cache.dim0": B * n, "v_cache.dim0": B * n,
                         "seq_lens.dim0": B, "block_table.dim0": B, "block_table.dim1": n,
                         "r.dim0": B, "r.dim2": 1}
                pd = kern.prepare(pdims, L, sms)
                runs[f"ours_paged{P}"] = decode_runner(kern, pd, q, kp, vp, lens, out, r,
                                                       extra={"block_table": table.data_ptr()})
                row[f"splits_paged{P}"] = pd.get("num_splits", 1)

            def cudnn_run(i):
                with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                    return F.scaled_dot_product_attention(q[i], k[i], v[i], enable_gqa=True)
            row.update(time_graphs_interleaved(dict(runs, sdpa_cudnn=cudnn_run), copies))
            for name, run in runs.items():
                for o in out:
                    o.fill_(float("nan"))
                run(0)
                torch.cuda.synchronize()
                check(name)
            del paged_inputs
            rows.append(row)
            tb = lambda us: kv_bytes / (us * 1e-6) / 1e12
            paged_txt = " ".join(f"p{P} {row[f'ours_paged{P}']:8.1f} ({tb(row[f'ours_paged{P}']):4.2f}) err {row[f'err_ours_paged{P}']:.1e}"
                                 for P in paged)
            print(f"G={G} B={B:3d} L={L:5d} | contiguous {row['ours_contiguous']:8.1f} ({tb(row['ours_contiguous']):4.2f} TB/s) "
                  f"| cudnn {row['sdpa_cudnn']:8.1f} ({tb(row['sdpa_cudnn']):4.2f}) | {paged_txt}", flush=True)
            del q, r, k, v, out
            torch.cuda.empty_cache()
    meta = {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
