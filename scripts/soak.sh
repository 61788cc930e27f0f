#!/usr/bin/env bash
# The soak (README "Reliability"): the server binary under steady load at 80 %
# of the Step 2 maximum for MINUTES (default 10), its RSS and open file
# descriptors sampled every 10 s and printed as a table. Fails when either
# grows by 5 % or more after the first minute, when a call fails, or when
# throughput sags. Extra arguments go to cycle-claimer-soak (--rate, --workers).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
minutes=${1:-10}
shift || true

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target cycle-claimer-soak cycle-claimer-server

source scripts/lib/postgres.sh
pg_start_throwaway cycle-claimer-soak max_connections=200 shared_buffers=256MB
"$root/build-release/bench/cycle-claimer-soak" \
  --database_url="$PG_THROWAWAY_URL" \
  --server="$root/build-release/server/cycle-claimer-server" \
  --port="$(free_port)" --minutes="$minutes" "$@"
