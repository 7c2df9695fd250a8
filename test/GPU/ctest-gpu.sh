#!/usr/bin/env bash
# ctest entry for the GPU suite: skips (77) without a usable GPU.
set -euo pipefail
build="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "no GPU: skipping the GPU numerics suite"
  exit 77
fi
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
dir="$build/gpu-suite"
rm -rf "$dir" && mkdir -p "$dir/bin"
PARALLAX_BUILD_DIR="$build" "$root/test/GPU/generate.sh" "sm_$cc" "$dir/kernels"
cp "$build/bin/parallax-run" "$dir/bin/"
"$root/test/GPU/run-numerics.sh" "$dir"
