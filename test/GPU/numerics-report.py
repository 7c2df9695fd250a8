#!/usr/bin/env python3
"""Markdown table and sanitizer list of a run-numerics.sh log (for
docs/gpu-numerics.md).
  python3 test/GPU/numerics-report.py numerics.log"""
import re
import sys

rows, sanitizers, summary = [], [], []
for line in open(sys.argv[1]):
    line = line.strip()
    m = re.match(r"(PASS|FAIL) (\S+)(?: splits=(\d+)( \(cluster\))?)? B=(\d+) Lq=(\d+) Lk=(\d+) "
                 r"rel-L2=(\S+) max-abs=(\S+) nan=(\d+) elements=(\d+) tol=(\S+)"
                 r".*?(?: launches=(\d+)( \(programmatic\))?)?$", line)
    if m:
        res, name, splits, cluster, *rest, launches, programmatic = m.groups()
        splits = (splits + (" (cluster)" if cluster else "")) if splits else "-"
        launch = (launches or "1") + (", programmatic" if programmatic else "")
        rows.append(f"| {res} | `{name}` | {splits} | {launch} | " + " | ".join(rest) + " |")
    elif line.startswith(("PASS", "FAIL")):
        sys.exit(f"numerics-report: unrecognized result line: {line}")
    elif line.startswith("sanitizer "):
        sanitizers.append(f"- {line}")
    elif line.startswith(("numerics:", "sanitizers:", "argument errors:")):
        summary.append(line)
print("Summary: " + "; ".join(summary) + ".\n")
print("| result | kernel | splits | launches | B | Lq | Lk | rel-L2 | max abs | NaN | elements | tol |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
print()
print("\n".join(sanitizers))
