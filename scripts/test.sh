#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway
# PostgreSQL 15 on a free port in a temp folder, runs every test through
# ctest, and always stops that PostgreSQL. Extra arguments go to ctest
# (e.g. scripts/test.sh -R Lease).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build build -j "$(nproc)"

source scripts/lib/postgres.sh
pgdir=$(mktemp -d /tmp/cycle-claimer-test.XXXXXX)
chmod 755 "$pgdir"
cleanup() {
  pg_stop "$pgdir"
  rm -rf "$pgdir"
}
trap cleanup EXIT

port=$(free_port)
# Durability settings are off: these tests never crash PostgreSQL, and
# fsync-bound commits would only make them slow. Benchmarks keep defaults.
pg_start "$pgdir" "$port" fsync=off synchronous_commit=off full_page_writes=off \
  max_connections=200
export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port"
echo "test PostgreSQL on 127.0.0.1:$port ($pgdir)"

cd "$root/build"
ctest --output-on-failure --timeout 600 "$@"
