#!/usr/bin/env bash
# Builds the micro benchmarks (bench/micro) in Release and runs them, then prints a Markdown
# table of the medians. Extra arguments go to the benchmark binary, e.g.
#   bench/run-micro.sh --benchmark_filter=Decide
# Environment: FQDNGATE_MICRO_BUILD (build directory, default build-bench/micro),
# FQDNGATE_MICRO_MIN_TIME (seconds per repetition, default 0.3),
# FQDNGATE_MICRO_REPETITIONS (default 3), FQDNGATE_MICRO_JSON (raw results, default
# <build>/micro.json). About 1 minute on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FQDNGATE_MICRO_BUILD:-$root/build-bench/micro}
min_time=${FQDNGATE_MICRO_MIN_TIME:-0.3}
repetitions=${FQDNGATE_MICRO_REPETITIONS:-3}
json=${FQDNGATE_MICRO_JSON:-$build/micro.json}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFQDNGATE_BENCH=ON \
  -DFQDNGATE_TESTS=OFF >/dev/null
cmake --build "$build" --target fqdngate_micro_bench

"$build/bench/fqdngate_micro_bench" \
  --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json \
  "$@"

# Medians only: ns per operation (CPU time of the benchmark thread, and wall time).
python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ctx = data["context"]
print()
print(f"{ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
      f"load average {' '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}")
print()
print("| benchmark | label | median CPU ns/op | median wall ns/op |")
print("|---|---|---:|---:|")
for b in data["benchmarks"]:
    if b.get("aggregate_name", "median") != "median" or b.get("error_occurred"):
        continue
    name = b["run_name"]
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    print(f"| {name} | {b.get('label', '')} | {b['cpu_time'] * scale:.1f} "
          f"| {b['real_time'] * scale:.1f} |")
PY
