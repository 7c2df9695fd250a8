#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, then compiles the
# example through every stage to PTX, printing each one, and runs the same
# shape on the CPU against the float64 reference.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${PARALLAX_BUILD_DIR:-$root/build}"
example="${1:-$root/examples/parallax_prefill.mlir}"
chip="${PARALLAX_CHIP:-sm_90}"
bin="$build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/scripts/install-deps.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null

stage() { printf '\n===== %s =====\n' "$1"; }
tile="--parallax-tile-attention=block-m=32 block-n=64 num-warps=4 pack-gqa=false"

stage "1. high level: parse, verify, print ($example)"
"$bin/parallax-opt" "$example"

stage "2. tiled (parallax-tile-attention): the unfused flash loop"
"$bin/parallax-opt" "$example" "$tile" --canonicalize

stage "3. fused (parallax-fuse: projector, covariance probe, value aggregation)"
"$bin/parallax-opt" "$example" "$tile" --parallax-fuse | tee "$work/fused.mlir"

stage "4. arithmetic intensity before and after fusion"
"$bin/parallax-opt" "$example" "$tile" --parallax-report-intensity \
  --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | grep 'remark:' | sed 's/^.*remark: /unfused: /'
"$bin/parallax-opt" "$example" "$tile" --parallax-fuse --parallax-report-intensity \
  --mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | grep 'remark:' | sed 's/^.*remark: /fused:   /'

stage "5. GPU kernel in the LLVM + NVVM dialects (convert-parallax-to-nvvm, $chip), first lines"
"$bin/parallax-opt" "$work/fused.mlir" --parallax-check-resources="chip=$chip" \
  --convert-parallax-to-nvvm="chip=$chip" --convert-scf-to-cf --convert-arith-to-llvm \
  --convert-index-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts --canonicalize --cse \
  -o "$work/kernel.mlir"
sed -n 1,6p "$work/kernel.mlir" | cut -c1-220
echo "... ($(wc -l < "$work/kernel.mlir") lines; $(grep -c 'nvvm.mma.sync' "$work/kernel.mlir") mma.sync, $(grep -c 'nvvm.ldmatrix' "$work/kernel.mlir") ldmatrix, $(grep -c 'nvvm.cp.async.shared' "$work/kernel.mlir") cp.async)"

stage "6. PTX through LLVM's NVPTX target (parallax-translate --parallax-to-ptx --chip=$chip)"
"$bin/parallax-translate" --parallax-to-ptx --chip="$chip" "$work/kernel.mlir" -o "$work/kernel.ptx"
grep -E '^\.(version|target)|\.entry|maxntid' "$work/kernel.ptx"
for i in 'mma.sync.aligned' 'ldmatrix.sync.aligned' 'cp.async.cg' 'ex2.approx' 'shfl.sync.bfly'; do
  printf '%-24s %s\n' "$i" "$(grep -c "$i" "$work/kernel.ptx")"
done
if [ -x /usr/local/cuda/bin/ptxas ]; then
  /usr/local/cuda/bin/ptxas -arch="$chip" -v "$work/kernel.ptx" -o "$work/kernel.cubin" 2>&1 | grep -E 'registers|spill'
fi

stage "7. the same shape on the CPU against the float64 reference"
"$bin/parallax-cpu-check" --dtype=bf16 --b=1 --hq=8 --hkv=2 --lq=100 --lk=100 --d=64 --causal \
  --block-m=16 --block-n=32

stage "8. a decode kernel for a new head dim and GPU, every stage dumped (parallax-gen)"
"$bin/parallax-gen" --decode --head-dim=96 --hq=32 --hkv=8 --chip=sm_86 -o "$work/gen" --dump-dir="$work/gen/stages"
ls "$work/gen" "$work/gen/stages"
