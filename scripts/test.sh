#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every
# test (lit + GoogleTest through one ctest run) and checks the generated docs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${PARALLAX_BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
start=$(date +%s)
"$root/scripts/build.sh"
echo "build: $(( $(date +%s) - start )) s"

# Generated ODS docs must match what is committed in docs/generated/.
cmake --build "$build" --target mlir-doc >/dev/null
for f in ParallaxDialect.md ParallaxPasses.md ParallaxConversionPasses.md; do
  if ! diff -q "$build/docs/Parallax/$f" "$root/docs/generated/$f" >/dev/null; then
    echo "docs/generated/$f is out of date: run 'cmake --build build --target parallax-doc' and commit it" >&2
    exit 1
  fi
done

tmp="$(mktemp)"
"$root/docs/gen-pipeline.sh" "$build" "$tmp" >/dev/null
if ! diff -q "$tmp" "$root/docs/generated/Pipeline.md" >/dev/null; then
  echo "docs/generated/Pipeline.md is out of date: run docs/gen-pipeline.sh and commit it" >&2
  exit 1
fi
rm -f "$tmp"

cd "$build"
ctest --output-on-failure -j "${PARALLAX_JOBS:-2}"
