#!/usr/bin/env bash
# Installs what Parallax needs on Debian 12, and nothing that is already there.
# Idempotent: a second run only checks. Needs root (or sudo) only to install.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ lld python3
  libgtest-dev googletest
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# CUDA is optional for the compiler: ptxas validates generated PTX when present.
if [ -x /usr/local/cuda/bin/ptxas ]; then
  echo "install-deps: CUDA found ($(/usr/local/cuda/bin/ptxas --version | tail -1))"
else
  echo "install-deps: no CUDA at /usr/local/cuda: ptxas tests will be skipped"
fi
