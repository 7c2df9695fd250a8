#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, then compiles the
# example through every stage, printing each one, and runs it on the CPU
# against the float64 reference.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${PARALLAX_BUILD_DIR:-$root/build}"
example="${1:-$root/examples/parallax_prefill.mlir}"
opt="$build/bin/parallax-opt"

"$root/scripts/install-deps.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null

stage() { printf '\n===== %s =====\n' "$1"; }

stage "1. high level: parse, verify, print ($example)"
"$opt" "$example"

stage "2. tiled (parallax-tile-attention, unfused)"
"$opt" "$example" --parallax-tile-attention="block-m=16 block-n=32" --canonicalize

stage "3. fused (parallax-fuse: projector, covariance probe, value aggregation)"
"$opt" "$example" --parallax-tile-attention="block-m=16 block-n=32" --parallax-fuse

stage "4. arithmetic intensity before and after fusion"
"$opt" "$example" --parallax-tile-attention="block-m=16 block-n=32" \
  --parallax-report-intensity --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | grep 'remark:' | sed 's/^.*remark: /unfused: /'
"$opt" "$example" --parallax-tile-attention="block-m=16 block-n=32" --parallax-fuse \
  --parallax-report-intensity --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | grep 'remark:' | sed 's/^.*remark: /fused:   /'

stage "5. host code (parallax-lower-to-cpu), first lines of the LLVM dialect"
"$opt" "$example" --parallax-lower-to-cpu="block-m=16 block-n=32" | sed -n 1,12p
echo "..."

stage "6. run on the CPU against the float64 reference (same shape as the example)"
"$build/bin/parallax-cpu-check" --b=1 --hq=8 --hkv=2 --lq=100 --lk=100 --d=64 --causal \
  --block-m=16 --block-n=32
