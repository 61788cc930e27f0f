#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway
# PostgreSQL 15 on a free port in a temp folder, runs every test through
# ctest, and always stops that PostgreSQL. Extra arguments go to ctest
# (e.g. scripts/test.sh -R Lease).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
for package in tools client/node; do
  npm ci --prefix "$package" --no-audit --no-fund --loglevel=error >/dev/null
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build build -j "$(nproc)"

source scripts/lib/postgres.sh
# Durability settings are off: these tests never crash PostgreSQL, and
# fsync-bound commits would only make them slow. Benchmarks keep defaults.
pg_start_throwaway cycle-claimer-test fsync=off synchronous_commit=off \
  full_page_writes=off max_connections=200
export TEST_DATABASE_URL=$PG_THROWAWAY_URL
echo "test PostgreSQL at $TEST_DATABASE_URL ($PG_THROWAWAY_DIR)"

cd "$root/build"
ctest --output-on-failure --timeout 600 "$@"
