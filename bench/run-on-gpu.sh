#!/usr/bin/env bash
# One call on the GPU machine: the GPU numerics suite (with compute-sanitizer),
# the decode benchmark (with the read ceiling of every point), the paged-cache
# benchmark, the bandwidth probe and the read-ceiling sweep (the DRAM ceilings
# they are compared with), results into OUT.
# Prepare here first (no GPU needed):
#   test/GPU/generate.sh sm_90 && bench/generate_kernels.sh sm_90
#   mkdir -p .gpu/bin && cp build/bin/parallax-run .gpu/bin/
#   (optional) the authors' wheel in .gpu/whl (see the device README)
# Then, on the GPU machine with .gpu carried:  bash bench/run-on-gpu.sh [OUT]
set -uo pipefail
out="${1:-${OUT:-/tmp/parallax-gpu}}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
bash test/GPU/run-numerics.sh .gpu > "$out/numerics.log" 2>&1
echo "numerics rc=$? ($(( $(date +%s) - t0 )) s)"
grep -E "^numerics:|^sanitizers:|^argument errors:|FAIL|argument check" "$out/numerics.log" | head -20
if ls .gpu/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/whl/*.whl && export PYTHONPATH=/tmp/site
fi
timeout 480 python3 bench/decode_bench.py --kernels .gpu/bench-kernels --out "$out/results.json" > "$out/bench.log" 2>&1
grep -v -i deprecat "$out/bench.log" | grep -v "kernel(ptrs"
timeout 200 python3 bench/paged_bench.py --kernels .gpu/bench-kernels --out "$out/paged.json" > "$out/paged.log" 2>&1
grep -v -i deprecat "$out/paged.log" | grep -v "kern(ptrs"
timeout 120 python3 bench/bandwidth_probe.py --out "$out/bandwidth.json" 2>&1 | grep -v -i deprecat
timeout 120 python3 bench/read_ceiling.py --out "$out/ceiling.json" 2>&1 | grep -v -i deprecat
echo "total $(( $(date +%s) - t0 )) s"
