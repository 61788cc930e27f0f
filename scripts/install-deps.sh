#!/usr/bin/env bash
# Installs the Debian 12 packages cycle-claimer needs to build, test and run,
# skipping apt entirely when they are all present. Needs root (or sudo).
# --clang also installs clang 14 with its sanitizer and libFuzzer runtimes,
# for scripts/fuzz.sh and the sanitizer builds of scripts/test.sh (the
# container build does without them).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libabsl-dev libspdlog-dev libgtest-dev libgmock-dev
  libcpp-httplib-dev
  postgresql-15 postgresql-client-15 pgbouncer
  python3 python3-grpcio python3-protobuf
)

if [ "${1:-}" = --clang ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

# Node.js and npm run the npm-registry tools under tools/ (buf). A machine
# that already has them (any recent version) keeps its own.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
