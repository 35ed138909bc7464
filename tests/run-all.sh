#!/usr/bin/env bash
# Fresh Debian 12 -> every test run twice (a warnings-as-errors build, then an ASan + UBSan
# build), then each libFuzzer target for FQDNGATE_FUZZ_SECONDS (default 60).
# Installs what it needs; the tests start their own servers (TLS origins, DNS) on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh" --test

jobs=$(nproc)
run_suite() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -G Ninja -DFQDNGATE_WERROR=ON -DPython3_EXECUTABLE=/usr/bin/python3 "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "== Release build, warnings as errors =="
run_suite "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ASan + UBSan build =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DFQDNGATE_SANITIZE=ON
echo "== libFuzzer targets (clang, ASan + UBSan) =="
"$root/tests/run-fuzz.sh"
