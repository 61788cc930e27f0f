#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway
# PostgreSQL 15 on a free port in a temp folder, runs the tests through
# ctest, and always stops that PostgreSQL.
#
#   scripts/test.sh              everything CI runs: every test (the Release
#                                build), each fuzz target for 5 s
#                                (scripts/fuzz.sh 5), then the sanitizer runs:
#                                every test under AddressSanitizer +
#                                UndefinedBehaviorSanitizer (build-asan) and
#                                the concurrency tests (ctest -L concurrency)
#                                under ThreadSanitizer (build-tsan).
#   scripts/test.sh --no-sanitize
#                                the same without the sanitizer runs (about a
#                                third of the time).
#   scripts/test.sh CTEST_ARGS   only the Release tests, with CTEST_ARGS given
#                                to ctest (e.g. scripts/test.sh -R Lease).
#   scripts/test.sh --sanitize [CTEST_ARGS]
#                                only the sanitizer runs; CTEST_ARGS go to
#                                both ctest runs.
# Each phase prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=default
if [ "${1:-}" = --sanitize ]; then
  mode=sanitize
  shift
elif [ "${1:-}" = --no-sanitize ]; then
  mode=no-sanitize
  shift
fi

# clang 14 and its runtimes only for the fuzz and sanitizer phases.
if [ "$mode" != default ] || [ $# -eq 0 ]; then
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

sanitizer_runs() {
  sanitizer_environment
  phase "build-asan (ASan + UBSan)" build_sanitized build-asan address
  phase "every test under ASan + UBSan" asan_tests "$@"
  phase "build-tsan (TSan)" build_sanitized build-tsan thread
  phase "concurrency tests under TSan" tsan_tests -L concurrency "$@"
}

if [ "$mode" = sanitize ]; then
  sanitizer_runs "$@"
  exit 0
fi

if [ $# -gt 0 ]; then
  release_tests "$@"
  exit 0
fi
phase "every test (Release)" release_tests
# scripts/fuzz.sh without an argument runs each target for 60 s.
phase "fuzz targets, 5 s each" scripts/fuzz.sh 5
[ "$mode" = no-sanitize ] || sanitizer_runs
