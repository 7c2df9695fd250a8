#!/usr/bin/env bash
# Runs on the GPU machine: every case of .gpu/cases.resolved through
# parallax-run (poisoned outputs, every element vs float64), then
# compute-sanitizer memcheck and racecheck on a few, and prints a table.
#   test/GPU/run-numerics.sh [dir]      (dir holds bin/, kernels/, cases.resolved)
set -uo pipefail
dir="${1:-.gpu}"
run="$dir/bin/parallax-run"
export PARALLAX_CACHE_DIR="${PARALLAX_CACHE_DIR:-/tmp/parallax-cache}"
pass=0 failed=0
while IFS= read -r line; do
  json="${line%% *}"; flags="${line#* }"
  # shellcheck disable=SC2086
  out=$("$run" "$dir/kernels/$json" $flags 2>&1); rc=$?
  echo "$out"
  if [ $rc -eq 0 ]; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
done < "$dir/cases.resolved"
echo "numerics: $pass passed, $failed failed"

san=0 sanfail=0
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    # Prefill, two decodes, warp groups; bulk copies in decode (tail rows
    # zero-filled) and prefill (3 stages); the whole-tile group merge (D=48);
    # split-KV merged through the workspace (3 splits) and in clusters: the
    # one-row merge pushed into rank 0 (G = 1, one query: 2, 3 and 8
    # splits), the general cluster merge (D=48, G=4: 4 splits; one warp
    # group, 59); a wide kernel (8 warp groups, 108) pushing and through the
    # workspace. sm_90 kernels launch programmatically by default: one
    # workspace merge plainly too. Tensor-map copies: decode (the last
    # tile's rows zeroed), paged, one stage, the wide kernel pushing, prefill.
    # Whole partials pushed into rank 0 (G > 1): the wide G = 8 kernel in a
    # pair and in 4 CTAs; the narrow G = 4 kernel pulling in 5; the f16
    # D = 64 wide kernel pushing 3 into its 3 slots; the wide G = 8 kernel
    # pulling 6, more than its inbox holds.
    for spec in 1 29 33 57 66 70 74 "29 --num-splits=3 --max-cluster-splits=0" "29 --num-splits=2" \
        "29 --num-splits=3" "29 --num-splits=8 --max-cluster-splits=8" \
        "74 --num-splits=4 --max-cluster-splits=8" \
        "59 --num-splits=2" "29 --num-splits=3 --no-pdl --max-cluster-splits=0" \
        "108 --num-splits=2" "108 --num-splits=3 --max-cluster-splits=0" \
        119 122 124 "126 --num-splits=2" 130 \
        "132 --num-splits=2" "133 --num-splits=4 --max-cluster-splits=8" \
        "135 --num-splits=5 --max-cluster-splits=8" \
        "137 --num-splits=3 --max-cluster-splits=8" "138 --num-splits=6 --max-cluster-splits=8"; do
      c="${spec%% *}"; extra=""
      [ "$spec" != "$c" ] && extra="${spec#* }"
      line=$(grep -v '^$' "$dir/cases.resolved" | sed -n "${c}p")
      json="${line%% *}"
      # Small shapes: the sanitizers are slow.
      shape="--b=1 --lq=70 --lk=300"
      case "$json" in *decode*) shape="--b=2 --lq=1 --lk=300 --seq-lens=300,17" ;; esac
      # shellcheck disable=SC2086
      if compute-sanitizer --tool "$tool" --error-exitcode 9 "$run" "$dir/kernels/$json" \
          $shape $extra --no-cache > /tmp/san.log 2>&1; then
        echo "sanitizer $tool $json${extra:+ $extra}: clean ($(grep -E "(ERROR|RACECHECK) SUMMARY" /tmp/san.log | tail -1 | sed "s/^========= //"))"
        san=$((san + 1))
      else
        echo "sanitizer $tool $json${extra:+ $extra}: FAILED"
        # The whole report: both accesses of a hazard, with their offsets.
        grep -v "^PASS\|^FAIL" /tmp/san.log | head -60
        sanfail=$((sanfail + 1))
      fi
    done
  done
fi
echo "sanitizers: $san passed, $sanfail failed"

# Bad arguments: exit 2 and a message naming the flag and the value (they
# threw, or allocated a negative size, before), nothing run.
argok=0 argfail=0
decode=$(grep -m1 decode "$dir/cases.resolved"); decode="${decode%% *}"
while IFS='|' read -r flags want; do
  # shellcheck disable=SC2086
  got=$("$run" "$dir/kernels/$decode" $flags 2>&1); rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$want" <<<"$got"; then
    argok=$((argok + 1))
  else
    echo "argument check '$flags': rc $rc, expected '$want', got: $got"
    argfail=$((argfail + 1))
  fi
done <<'EOF_ARGS'
--b=abc|--b takes an integer from 1 to 2147483647, got 'abc'
--b=-1|--b takes an integer from 1 to 2147483647, got '-1'
--lk=0|--lk takes an integer from 1 to 2147483647, got '0'
--lq=1x|--lq takes an integer from 1 to 2147483647, got '1x'
--lk=99999999999999999999|--lk takes an integer from 1 to 2147483647, got '99999999999999999999'
--num-splits=-3|--num-splits takes an integer from 0 to 1024, got '-3'
--max-cluster-splits=9|--max-cluster-splits takes an integer from 0 to 8, got '9'
--repeat=0|--repeat takes an integer from 1 to 2147483647, got '0'
--b=2 --lk=100 --seq-lens=100,x|--seq-lens takes an integer from 0 to 2147483647, got 'x'
--b=2 --lk=100 --seq-lens=100,|--seq-lens takes an integer from 0 to 2147483647, got ''
--b=2 --lk=100 --seq-lens=100,101|--seq-lens: a sequence of 101 keys is longer than the cache (--lk=100)
--b=3 --lk=100 --seq-lens=100,1|--seq-lens needs B (3) entries
--bogus|unknown option '--bogus'
EOF_ARGS
echo "argument errors: $argok passed, $argfail failed"
[ $failed -eq 0 ] && [ $sanfail -eq 0 ] && [ $argfail -eq 0 ]
