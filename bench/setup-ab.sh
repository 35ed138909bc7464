#!/usr/bin/env bash
# Tunnel setup (64 clients unless told) through two fqdngate binaries (say, main and a change), measured
# alternately in one run, with HAProxy as a pure TCP relay for reference when it is installed.
# For changes whose effect is smaller than the run-to-run noise of a shared machine: the medians
# of several alternating rounds are compared, never figures from separate runs.
#
#   bench/setup-ab.sh BUILD_DIR FQDNGATE_A FQDNGATE_B [ROUNDS] [SECONDS] [CLIENTS]
#
# BUILD_DIR is what bench/compare.sh --build-dir built (loadgen and origin are taken from it).
# Prints one line per step and, at the end, the median of each column per proxy: tunnels/s,
# p50 and p99 latency, and the proxy's CPU per tunnel. Both fqdngate processes write their
# audit log to a file, as in production. Loopback only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 3 ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1
declare -A binary=([a]=$2 [b]=$3)
rounds=${4:-5}
seconds=${5:-3}
clients=${6:-64}
loadgen=$build/loadgen/loadgen
origin=$build/loadgen/origin
. "$repo/bench/script-setup.sh"
require_executables setup-ab.sh "$loadgen" "$origin" "${binary[a]}" "${binary[b]}"
start_origin "$origin" echo
echo_port=$(origin_port echo)

declare -A address pid
names=(a b)
for name in a b; do
  sed -e "s/@PROXY_PORT@/0/" -e "s/@TARGET_NAME@/origin.bench.test/g" \
    -e "s/@ECHO_PORT@/$echo_port/" -e "s/, @SINK_PORT@, @SOURCE_PORT@//" \
    -e "s#@AUDIT_LOG@#$work/audit-$name.log#" "$repo/bench/configs/fqdngate.yaml" \
    > "$work/$name.yaml"
  "${binary[$name]}" --config "$work/$name.yaml" > /dev/null 2> "$work/$name.err" &
  pid[$name]=$!
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$work/$name.err" && break; sleep 0.1; done
  address[$name]=$(grep -o "127\.0\.0\.1:[0-9]*" "$work/$name.err" | head -n 1)
  [[ -n ${address[$name]} ]] || { echo "fqdngate $name did not start:" >&2; cat "$work/$name.err" >&2; exit 1; }
done

if command -v haproxy > /dev/null; then
  relay_port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  sed -e "s/@RELAY_ECHO_PORT@/$relay_port/" -e "s/@ECHO_PORT@/$echo_port/" \
    -e '/^frontend sink/,$d' "$repo/bench/configs/haproxy.cfg" > "$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  pid[haproxy]=$!
  pids+=($!)
  for _ in $(seq 50); do (exec 3<> "/dev/tcp/127.0.0.1/$relay_port") 2> /dev/null && break; sleep 0.1; done
  address[haproxy]=127.0.0.1:$relay_port
  names+=(haproxy)
fi

for round in $(seq "$rounds"); do
  order=("${names[@]}")
  # Every other round in reverse, so that no proxy always follows the same one.
  ((round % 2 == 0)) && order=($(printf '%s\n' "${names[@]}" | tac))
  for name in "${order[@]}"; do
    via=(--via connect --target "origin.bench.test:$echo_port")
    [[ $name == haproxy ]] && via=(--via direct)
    line=$("$loadgen" --mode setup --clients "$clients" --threads "$((clients > 1 ? 2 : 1))" \
      --seconds "$seconds" \
      --proxy "${address[$name]}" --sni origin.bench.test "${via[@]}" --pid "${pid[$name]}" |
      head -n 1)
    echo "round $round $name $line" | tee -a "$work/steps"
  done
done

python3 - "$work/steps" "${binary[a]}" "${binary[b]}" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, _, name, data = line.split(" ", 3)
    rows.setdefault(name, []).append(json.loads(data))
print(f"\na: {sys.argv[2]}\nb: {sys.argv[3]}")
print("\n| proxy | tunnels/s | p50 ms | p99 ms | proxy CPU µs per tunnel |")
print("|---|---:|---:|---:|---:|")
for name in sorted(rows, key=["a", "b", "haproxy"].index):
    steps = rows[name]
    med = lambda k: statistics.median(s.get(k) or 0 for s in steps)
    print(f"| {name} | {med('rate_per_s'):.0f} | {med('p50_ms'):.2f} | "
          f"{med('p99_ms'):.2f} | {med('pid_cpu_us_per_tunnel'):.1f} |")
print(f"\nmedians of {len(next(iter(rows.values())))} alternating rounds")
PY
