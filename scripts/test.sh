#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway
# PostgreSQL 15 on a free port in a temp folder, runs every test through
# ctest, and always stops that PostgreSQL.
#
#   scripts/test.sh              every test (the Release build), then each
#                                fuzz target for 5 s (scripts/fuzz.sh 5).
#   scripts/test.sh --ci-sanitize
#                                the same, then the sanitizer runs sized for
#                                CI (see "Reliability" below); not yet the
#                                default: CI's time with them is unmeasured.
#   scripts/test.sh CTEST_ARGS   only the Release tests, with CTEST_ARGS given
#                                to ctest (e.g. scripts/test.sh -R Lease).
#   scripts/test.sh --sanitize [CTEST_ARGS]
#                                the full sanitizer runs instead: every test
#                                under AddressSanitizer + UndefinedBehavior-
#                                Sanitizer (build-asan), then the concurrency
#                                tests (ctest -L concurrency) under
#                                ThreadSanitizer (build-tsan); CTEST_ARGS go
#                                to both ctest runs.
# Each phase prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=default
if [ "${1:-}" = --sanitize ]; then
  mode=sanitize
  shift
elif [ "${1:-}" = --ci-sanitize ]; then
  mode=ci-sanitize
  shift
fi

# clang 14 and its runtimes only for the fuzz and sanitizer phases.
if [ "$mode" = sanitize ] || [ $# -eq 0 ]; then
  scripts/install-deps.sh --clang
else
  scripts/install-deps.sh
fi
for package in tools client/node; do
  npm ci --prefix "$package" --no-audit --no-fund --loglevel=error >/dev/null
done

# build DIR [CMAKE_ARGS...]: configures and builds everything in DIR.
build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DBUILD_TESTING=ON "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# Sanitizer builds use clang 14, the compiler of the fuzz build: one set of
# runtimes (libclang-rt-14-dev) for ASan, UBSan, TSan and libFuzzer.
build_sanitized() {
  local dir=$1 sanitizer=$2
  CC=clang-14 CXX=clang++-14 build "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCYCLE_CLAIMER_SANITIZER="$sanitizer"
}

# What the sanitizers do on a finding: stop the process with its report, so
# the test fails. Debian's libraries are not instrumented; the suppression
# files name only their frames (tests/sanitizers/README.md says why).
sanitizer_environment() {
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
  export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
  export TSAN_OPTIONS=suppressions=$root/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1:print_suppressions=0
}

# phase NAME COMMAND...: runs COMMAND and prints how long it took.
phase() {
  local name=$1 started=$SECONDS
  shift
  echo "== $name"
  "$@"
  echo "== $name: passed in $((SECONDS - started)) s"
}

if [ "$mode" != sanitize ]; then
  phase "build (Release)" build build -DCMAKE_BUILD_TYPE=Release
fi

source scripts/lib/postgres.sh
# Durability settings are off: these tests never crash PostgreSQL, and
# fsync-bound commits would only make them slow. Benchmarks keep defaults.
pg_start_throwaway cycle-claimer-test fsync=off synchronous_commit=off \
  full_page_writes=off max_connections=200
export TEST_DATABASE_URL=$PG_THROWAWAY_URL
echo "test PostgreSQL at $TEST_DATABASE_URL ($PG_THROWAWAY_DIR)"

release_tests() {
  (cd "$root/build" && ctest --output-on-failure --timeout 600 "$@")
}
asan_tests() {
  (cd "$root/build-asan" && ctest --output-on-failure --timeout 1200 "$@")
}
tsan_tests() {
  (cd "$root/build-tsan" && ctest --output-on-failure --timeout 1800 "$@")
}

if [ "$mode" = sanitize ]; then
  sanitizer_environment
  phase "build-asan (ASan + UBSan)" build_sanitized build-asan address
  phase "every test under ASan + UBSan" asan_tests "$@"
  phase "build-tsan (TSan)" build_sanitized build-tsan thread
  phase "concurrency tests under TSan" tsan_tests -L concurrency "$@"
  exit 0
fi

if [ $# -gt 0 ]; then
  release_tests "$@"
  exit 0
fi
phase "every test (Release)" release_tests

# Reliability: what of the fuzzing and sanitizer runs fits CI's time.
# scripts/fuzz.sh (60 s a target) and scripts/test.sh --sanitize run the
# full versions. Under ASan + UBSan every test runs but those that repeat
# another's code path at length: the 64-worker claim races (the 32-worker one
# stays), the races through PgBouncer, and the Node.js and Python worker
# races (their interpreters are not instrumented; the C++ one stays). Under
# TSan: the exactly-once claim race (unary and batched), the fencing race and
# concurrent retries of one request_id.
asan_ci_skip='ClaimRaceTest\..*/(Unary64|BatchOf10With64WorkersNotCoalesced)'
asan_ci_skip+='|PgBouncerRaceTest|WorkerTest\..*/(Node|Python)'
tsan_ci_tests='ClaimRaceTest\..*/(Unary32Workers|BatchOf10With64WorkersCoalesced)'
tsan_ci_tests+='|FencingRaceTest|ConcurrentRetriesOfOneRequestTakeOneCycle'
phase "fuzz targets, 5 s each" scripts/fuzz.sh 5
[ "$mode" = ci-sanitize ] || exit 0
sanitizer_environment
phase "build-asan (ASan + UBSan)" build_sanitized build-asan address
phase "tests under ASan + UBSan" asan_tests -E "$asan_ci_skip"
phase "build-tsan (TSan)" build_sanitized build-tsan thread
phase "claim and fencing races under TSan" tsan_tests -R "$tsan_ci_tests"
