#!/usr/bin/env bash
# Generates kernels for every supported chip and head dim and assembles each
# with ptxas. Usage: ptxas-all.sh PARALLAX_GEN PTXAS OUTDIR
set -euo pipefail
gen="$1"; ptxas="$2"; out="$3"
mkdir -p "$out"
n=0
for chip in sm_80 sm_86 sm_89 sm_90 sm_90a; do
  for d in 16 64 96 128 192 256; do
    for mode in "" "--softmax" "--decode --hq=32 --hkv=8"; do
      # shellcheck disable=SC2086
      name=$("$gen" --head-dim=$d --chip=$chip $mode --causal -o "$out/$chip" | sed 's/:.*//')
      "$ptxas" -arch="$chip" "$out/$chip/$name.ptx" -o "$out/$chip/$name.cubin"
      n=$((n + 1))
    done
  done
done
# Bulk copies (sm_90 and sm_90a): decode and prefill, every head dim.
for chip in sm_90 sm_90a; do
  for d in 16 64 96 128 192 256; do
    for mode in "" "--decode --hq=32 --hkv=8"; do
      # shellcheck disable=SC2086
      name=$("$gen" --head-dim=$d --chip=$chip $mode --causal --bulk-copy --name=bulk_d$d${mode:+_decode} -o "$out/$chip" | sed 's/:.*//')
      "$ptxas" -arch="$chip" "$out/$chip/$name.ptx" -o "$out/$chip/$name.cubin"
      n=$((n + 1))
    done
  done
done
# Tensor-map copies (sm_90 and sm_90a): decode and prefill, the head dims
# whose rows are whole 128-byte blocks.
for chip in sm_90 sm_90a; do
  for d in 64 128 192 256; do
    for mode in "" "--decode --hq=32 --hkv=8"; do
      # shellcheck disable=SC2086
      name=$("$gen" --head-dim=$d --chip=$chip $mode --causal --tma --name=tma_d$d${mode:+_decode} -o "$out/$chip" | sed 's/:.*//')
      "$ptxas" -arch="$chip" "$out/$chip/$name.ptx" -o "$out/$chip/$name.cubin"
      n=$((n + 1))
    done
  done
done
echo "ptxas accepted $n kernels"
