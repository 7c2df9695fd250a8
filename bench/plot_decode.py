#!/usr/bin/env python3
"""TB/s (K/V bytes / time) against L for each method, one panel per (G, B).
  python3 bench/plot_decode.py results.json decode_tbps.png"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHODS = ["ours_parallax", "ours_softmax", "sdpa_cudnn", "sdpa_flash",
           "eager_parallax", "authors_triton"]


def main():
    data = json.load(open(sys.argv[1]))["results"]
    groups = sorted({r["G"] for r in data})
    batches = sorted({r["B"] for r in data})
    fig, axes = plt.subplots(len(groups), len(batches), figsize=(4 * len(batches), 3.2 * len(groups)),
                             squeeze=False, sharey=True)
    for gi, g in enumerate(groups):
        for bi, b in enumerate(batches):
            ax = axes[gi][bi]
            rows = sorted((r for r in data if r["G"] == g and r["B"] == b), key=lambda r: r["L"])
            for m in METHODS:
                pts = [(r["L"], r["kv_bytes"] / (r[m] * 1e-6) / 1e12) for r in rows if r.get(m)]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=m)
            # The read ceiling (kv_read.py, result files since 39078a6): the
            # same bytes read with no math, in the same rounds.
            pts = [(r["L"], r["kv_bytes"] / (r["kv_read_us"] * 1e-6) / 1e12) for r in rows if r.get("kv_read_us")]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", linestyle="--",
                        linewidth=1, label="read ceiling")
            ax.set_xscale("log", base=2)
            ax.axhline(4.8, color="gray", linestyle=":", linewidth=1)
            ax.set_title(f"G={g} B={b}")
            ax.set_xlabel("L (keys)")
            if bi == 0:
                ax.set_ylabel("TB/s (K/V bytes / time)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Decode on the H200, bf16, Hkv=8, D=128 (dotted: 4.8 TB/s spec; dashed: the same bytes read with no math)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
