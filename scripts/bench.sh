#!/usr/bin/env bash
# The benchmark (not part of the tests): builds (Release), starts a throwaway
# PostgreSQL 15 with production durability (fsync and synchronous_commit on),
# and runs bench/ against it: the service against direct SQL and kimP's
# TypeORM method, in one run. Prints tables; writes JSON to bench/results/.
# Extra arguments go to cycle-claimer-bench (e.g. --modes=throughput
# --workers=32).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target cycle-claimer-bench

source scripts/lib/postgres.sh
pg_start_throwaway cycle-claimer-bench max_connections=200 shared_buffers=256MB
mkdir -p "$root/bench/results"
"$root/build-release/bench/cycle-claimer-bench" \
  --database_url="$PG_THROWAWAY_URL" \
  --results_dir="$root/bench/results" "$@"
