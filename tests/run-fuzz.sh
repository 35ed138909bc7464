#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang (ASan + UBSan) and runs each for
# FQDNGATE_FUZZ_SECONDS (default 60) on a copy of its committed corpus. Any crash, sanitizer
# report, leak or timeout fails the run and names the reproducer file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FQDNGATE_FUZZ_SECONDS:-60}
build=${FQDNGATE_FUZZ_BUILD:-$root/build-fuzz}

# clang alone cannot link -fsanitize=fuzzer on Debian 12: libFuzzer and the sanitizer runtimes
# are in libclang-rt-14-dev, which the test package list includes.
"$root/deploy/install-deps.sh" --test

cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

status=0
targets=(request_head client_hello name_matcher policy_yaml credentials)
for target in "${targets[@]}"; do
  work="$build/run/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$root/tests/fuzz/corpus/$target/"* "$work/corpus/"
  echo "== fuzz_$target for ${seconds}s =="
  if ! "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
      >"$work/log" 2>&1; then
    status=1
    tail -n 40 "$work/log"
    echo "fuzz_$target FAILED; reproducer(s):"
    ls -1 "$work"/artifacts/* 2>/dev/null || echo "  (none written; full log: $work/log)"
  else
    grep -E "^stat::number_of_executed_units|^Done" "$work/log" || true
  fi
done
if ((status == 0)); then
  echo "fuzz: ${#targets[@]} passed, 0 failed"
fi
exit "$status"
