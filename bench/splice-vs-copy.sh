#!/usr/bin/env bash
# Bulk throughput and proxy CPU per GB with the splice relay against the buffered fallback
# (relay: {splice: false}), two fqdngate processes measured alternately in one run.
#
#   bench/splice-vs-copy.sh [BUILD_DIR] [SECONDS] [ROUNDS]
#
# BUILD_DIR is what bench/compare.sh --build-dir built (default build-bench): it needs
# BUILD_DIR/fqdngate/fqdngate and BUILD_DIR/loadgen/{loadgen,origin}. Loopback only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build-bench}
seconds=${2:-3}
rounds=${3:-2}
fqdngate=$build/fqdngate/fqdngate
loadgen=$build/loadgen/loadgen
origin=$build/loadgen/origin
. "$repo/bench/script-setup.sh"
require_executables "splice-vs-copy.sh (run bench/compare.sh --build-dir $build first)" \
  "$fqdngate" "$loadgen" "$origin"
start_origin "$origin" echo sink source
echo_port=$(origin_port echo) sink_port=$(origin_port sink) source_port=$(origin_port source)

declare -A proxy pid
for mode in splice buffered; do
  sed -e "s/@PROXY_PORT@/0/" -e "s/@TARGET_NAME@/origin.bench.test/g" -e "s/@ECHO_PORT@/$echo_port/" \
    -e "s/@SINK_PORT@/$sink_port/" -e "s/@SOURCE_PORT@/$source_port/" -e "s#@AUDIT_LOG@#/dev/null#" \
    "$repo/bench/configs/fqdngate.yaml" > "$work/$mode.yaml"
  [[ $mode == buffered ]] && printf 'relay:\n  splice: false\n' >> "$work/$mode.yaml"
  "$fqdngate" --config "$work/$mode.yaml" > /dev/null 2> "$work/$mode.err" &
  pid[$mode]=$!
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$work/$mode.err" && break; sleep 0.1; done
  proxy[$mode]=$(grep -o "127\.0\.0\.1:[0-9]*" "$work/$mode.err" | head -n 1)
done

for round in $(seq "$rounds"); do
  for scenario in "bulk-up $sink_port 32" "bulk-down $source_port 32" "bulk-up $sink_port 1" \
    "bulk-down $source_port 1"; do
    set -- $scenario
    for mode in splice buffered; do
      line=$("$loadgen" --mode "$1" --via connect --proxy "${proxy[$mode]}" \
        --target "origin.bench.test:$2" --tunnels "$3" --threads 2 --seconds "$seconds" \
        --pid "${pid[$mode]}" | tail -n 1)
      echo "round $round $mode $1 x$3: $line"
    done
  done
done
