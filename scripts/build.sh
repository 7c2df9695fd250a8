#!/usr/bin/env bash
# Configures (once) and builds Parallax into build/ with ninja, ccache and lld.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${PARALLAX_BUILD_DIR:-$root/build}"
jobs="${PARALLAX_JOBS:-2}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DLLVM_USE_LINKER=lld \
    -DCUDAToolkit_ROOT=/usr/local/cuda \
    -DPARALLAX_WERROR="${PARALLAX_WERROR:-OFF}"
fi
cmake --build "$build" -j "$jobs"
