#!/usr/bin/env bash
# The chaos suite (README "Reliability"): 3 server replicas and 48 worker
# processes against a PostgreSQL of its own, 20,000 cycles, faults from a
# seeded scheduler (SIGKILL and SIGSTOP of workers, SIGKILL of replicas, a fast
# PostgreSQL restart, killed database connections), then the invariants
# checked from the table and the workers' logs.
#
#   scripts/chaos.sh            the full run
#   scripts/chaos.sh --short    the CI version (also run by scripts/test.sh)
#   scripts/chaos.sh --seed=N   replay a run's fault schedule
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target chaos_runner
exec build/tests/chaos/chaos_runner "$@"
