#!/usr/bin/env bash
# Installs the Debian 12 packages fqdngate needs to build (and, with --test, to run its tests).
# Skips apt-get entirely when everything is already installed.
set -euo pipefail

build_packages=(g++ cmake ninja-build pkg-config libboost1.81-dev libssl-dev libc-ares-dev
  libyaml-cpp-dev catch2 libbenchmark-dev)
test_packages=(curl openssl ca-certificates clang libclang-rt-14-dev python3 python3-httpx python3-websockets
  python3-python-socks)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
