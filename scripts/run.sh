#!/usr/bin/env bash
# The run command: installs what is missing, builds (Release) and serves gRPC
# on 0.0.0.0:50051. Without DATABASE_URL it starts a private PostgreSQL 15
# under ./.data/ (kept between runs) and stops it again on exit.
#   scripts/run.sh [--demo N] [server flags...]   (see --help for the flags)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

demo=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) demo=${2:?--demo needs a number}; shift 2 ;;
    --demo=*) demo=${1#--demo=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target cycle-claimer-server

if [ -z "${DATABASE_URL:-}" ]; then
  source scripts/lib/postgres.sh
  pgdir="$root/.data/postgres"
  port=${PRIVATE_PG_PORT:-54329}
  stop_private_postgres() {
    echo "stopping the private PostgreSQL" >&2
    pg_stop "$pgdir"
  }
  trap stop_private_postgres EXIT
  mkdir -p "$root/.data"
  chmod 755 "$root/.data"
  pg_start "$pgdir" "$port"
  if ! pg_as_owner psql -h "$pgdir" -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'kimp'" | grep -q 1; then
    pg_as_owner psql -h "$pgdir" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE kimp"
  fi
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/kimp"
  echo "private PostgreSQL 15 on 127.0.0.1:$port (data in .data/postgres): psql $DATABASE_URL" >&2
fi

# Not exec: on Ctrl-C the server drains and exits, then the trap stops the
# private database.
status=0
# Plaintext unless TLS is configured (TLS_CERT/TLS_KEY or the flags): the
# server refuses to guess. It warns when that means plaintext beyond loopback.
plaintext=()
[ -z "${TLS_CERT:-}" ] && [[ " ${args[*]} " != *" --tls_cert"* ]] && plaintext=(--plaintext)
./build-release/server/cycle-claimer-server --demo_cycles="$demo" "${plaintext[@]}" "${args[@]}" || status=$?
exit "$status"
