#!/usr/bin/env bash
# Fresh Debian 12 -> fqdngate running on 127.0.0.1:3128 with the embedded default policy
# (Prefect Cloud allowed, telemetry blocked, everything else denied; decisions on stdout).
# Extra arguments go to fqdngate, e.g. `deploy/quickstart.sh --config my-policy.yaml`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFQDNGATE_TESTS=OFF
cmake --build "$root/build-release" --target fqdngate
exec "$root/build-release/fqdngate" "$@"
