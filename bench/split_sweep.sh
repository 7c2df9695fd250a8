#!/usr/bin/env bash
# Times one decode kernel over split counts (parallax-run --bench, CUDA events,
# median) to tune chooseNumSplits. Usage: bench/split_sweep.sh DIR (bin/, bench-kernels/)
set -uo pipefail
dir="${1:-.gpu}"
k="$dir/bench-kernels/parallax_decode_d128_bf16_h8x8.json"
for b in 1 8; do
  for l in 512 4096 16384 32768; do
    for s in 1 2 4 8 16 32; do
      out=$("$dir/bin/parallax-run" "$k" --b=$b --lq=1 --lk=$l --num-splits=$s --bench=200 2>&1)
      echo "B=$b L=$l S=$s $(echo "$out" | grep -o 'median-us=[0-9.]*') $(echo "$out" | cut -c1-4)"
    done
  done
done
