#!/usr/bin/env python3
"""Markdown table of a decode_bench.py result file.
  python3 bench/report.py results.json"""
import json
import sys

d = json.load(open(sys.argv[1]))
cols = ["ours_parallax", "ours_softmax", "sdpa_cudnn", "sdpa_flash", "eager_parallax", "authors_triton"]
for extra in ("ours_parallax_plain", "ours_parallax_pdl"):  # the latter: older files
    if any(r.get(extra) for r in d["results"]):
        cols.insert(1, extra)
# The read ceiling (kv_read.py: the same K/V read by a streaming kernel, in
# the same rounds), where the file has it.
ceiling = any(r.get("kv_read_us") for r in d["results"])
print("| G | B | L | S | " + " | ".join(c + " µs" for c in cols) +
      (" | read µs | read / ours P" if ceiling else "") +
      " | ours P TB/s | best peer TB/s | ours P / best softmax peer | rel-L2 ours P / S |")
print("|" + "---|" * (len(cols) + 8 + (2 if ceiling else 0)))
for r in d["results"]:
    def us(c):
        v = r.get(c)
        err = r.get(c + "_error", "")
        return f"{v:.1f}" if v else ("fault" if "fault" in err and not err.startswith("skipped") else "n/a")
    tb = lambda c: r["kv_bytes"] / (r[c] * 1e-6) / 1e12 if r.get(c) else float("nan")
    best = r.get("best_softmax_peer_us")
    ratio = r["ours_parallax"] / best if best and r.get("ours_parallax") else float("nan")
    # Files since the round ratios: the ratio and, in brackets, the range of
    # the rounds' ratios (the comparison's resolution; 5 unless --rounds).
    rr = r.get("ratio_rounds")
    ratio_text = f"{ratio:.3f} [{min(rr):.3f}-{max(rr):.3f}]" if rr else f"{ratio:.2f}"
    read = ""
    if ceiling:
        of = r["kv_read_us"] / r["ours_parallax"] if r.get("kv_read_us") and r.get("ours_parallax") else None
        read = f" | {us('kv_read_us')} | " + (f"{of:.3f}" if of else "n/a")
    print(f"| {r['G']} | {r['B']} | {r['L']} | {r.get('splits', '-')}{'c' if r.get('cluster') else ''}{'w' if r.get('wide') else ''} | " + " | ".join(us(c) for c in cols) +
          read + f" | {tb('ours_parallax'):.2f} | {r['kv_bytes'] / (best * 1e-6) / 1e12 if best else float('nan'):.2f}"
          f" | {ratio_text} | {r.get('err_ours_parallax', float('nan')):.1e} / {r.get('err_ours_softmax', float('nan')):.1e} |")
print()
print("meta:", json.dumps(d.get("meta", {})))
