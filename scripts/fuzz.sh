#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz with
# clang (ASan + UBSan + libFuzzer) in build-fuzz, then runs each for SECONDS
# (default 60), starting from its committed seed corpus
# tests/fuzz/corpus/<target>/. Inputs the fuzzer finds go to a working corpus,
# build-fuzz/corpus/<target>/, so the committed one never grows (promote an
# input by hand, or with -merge=1, when it is worth keeping). Any crash,
# sanitizer report, leak, timeout or failed check fails the script; the
# input that caused it is saved in build-fuzz/crashes/<target>/. Prints the
# runs per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]   (default 60)" >&2
  exit 2
fi

scripts/install-deps.sh --clang
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DCYCLE_CLAIMER_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzzers

# UBSan aborts (-fno-sanitize-recover) with a stack; leaks fail a run too.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

targets=()
for source in tests/fuzz/*_fuzz.cc; do
  targets+=("$(basename "$source" .cc)")
done

failed=()
rows=()
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  crashes=build-fuzz/crashes/$target
  log=build-fuzz/fuzz-$target.log
  mkdir -p "$corpus" "$crashes"
  cp -n tests/fuzz/corpus/"$target"/* "$corpus"/
  echo "== $target: ${seconds}s from $(ls "$corpus" | wc -l) inputs"
  status=0
  "build-fuzz/tests/fuzz/$target" "$corpus" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    grep -v '^#[0-9]' "$log" | tail -n 40 >&2
    echo "$target FAILED (exit $status); input saved in $root/$crashes/," \
      "log in $root/$log" >&2
  fi
  rows+=("$(printf '%-20s %12s %10s %9s %8s  %s' "$target" "${runs:-?}" \
    "${per_second:-?}" "${coverage:-?}" "$(ls "$corpus" | wc -l)" \
    "$([ "$status" -eq 0 ] && echo ok || echo FAILED)")")
done

printf '\n%-20s %12s %10s %9s %8s  %s\n' target runs runs/s coverage corpus result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
echo "${#targets[@]} passed, 0 failed: every fuzz target ran ${seconds}s without a finding"
