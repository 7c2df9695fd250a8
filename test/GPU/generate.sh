#!/usr/bin/env bash
# Generates every kernel of test/GPU/cases.txt for CHIP into OUT (default
# .gpu/kernels) and writes OUT/../cases.resolved ("NAME.json run-flags").
#   test/GPU/generate.sh [chip] [out]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
chip="${1:-sm_90}"
out="${2:-$root/.gpu/kernels}"
gen="${PARALLAX_BUILD_DIR:-$root/build}/bin/parallax-gen"
mkdir -p "$out"
resolved="$(dirname "$out")/cases.resolved"
: > "$resolved"
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  genFlags="${line%%;*}"
  runFlags="${line#*;}"
  # shellcheck disable=SC2086
  name=$("$gen" $genFlags --chip="$chip" -o "$out" | sed 's/:.*//')
  echo "$name.json$runFlags" >> "$resolved"
done < "$root/test/GPU/cases.txt"
echo "generated $(ls "$out"/*.ptx | wc -l) kernels, $(wc -l < "$resolved") cases for $chip"
