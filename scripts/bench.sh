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
pgdir=$(mktemp -d /tmp/cycle-claimer-bench.XXXXXX)
chmod 755 "$pgdir"
cleanup() {
  pg_stop "$pgdir"
  rm -rf "$pgdir"
}
trap cleanup EXIT
port=$(free_port)
pg_start "$pgdir" "$port" max_connections=200 shared_buffers=256MB
mkdir -p "$root/bench/results"
"$root/build-release/bench/cycle-claimer-bench" \
  --database_url="postgresql://postgres@127.0.0.1:$port" \
  --results_dir="$root/bench/results" "$@"
