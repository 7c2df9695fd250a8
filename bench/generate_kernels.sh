#!/usr/bin/env bash
# Generates the decode kernels the benchmarks use (D=128, bf16, Hkv=8,
# G = 1, 4, 8; Parallax and softmax, each narrow and wide; Parallax on paged
# caches of 16, 64 and 256 tokens per page) for CHIP into OUT.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
chip="${1:-sm_90}"; out="${2:-$root/.gpu/bench-kernels}"
gen="${PARALLAX_BUILD_DIR:-$root/build}/bin/parallax-gen"
for g in 1 4 8; do
  for mode in "" "--softmax"; do
    # shellcheck disable=SC2086
    "$gen" --decode $mode --head-dim=128 --hq=$((8 * g)) --hkv=8 --chip="$chip" -o "$out"
    # The wide variant (8 warp groups, one CTA per SM), which the benchmark
    # launches where rt::preferWideDecode says (one wave of long chunks).
    kind=parallax; [ -n "$mode" ] && kind=softmax
    # shellcheck disable=SC2086
    "$gen" --decode $mode --head-dim=128 --hq=$((8 * g)) --hkv=8 --kv-groups=8 --chip="$chip" \
      --name="${kind}_decode_d128_bf16_h$((8 * g))x8_wide" -o "$out"
  done
  for page in 16 64 256; do
    "$gen" --decode --page-size=$page --head-dim=128 --hq=$((8 * g)) --hkv=8 --chip="$chip" -o "$out"
  done
done
