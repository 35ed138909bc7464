#!/usr/bin/env bash
# Two fqdngate binaries (say, main and a change) measured alternately in one run, with HAProxy as
# a pure TCP relay for reference when it is installed. For changes whose effect is smaller than
# the run-to-run noise of a shared machine: the medians of several alternating rounds are
# compared, never figures from separate runs.
#
#   bench/ab.sh BUILD_DIR FQDNGATE_A FQDNGATE_B [ROUNDS] [SECONDS] [SCENARIO...]
#
# BUILD_DIR is what bench/compare.sh --build-dir built (loadgen and origin are taken from it).
# SCENARIO is MODE:N, default setup:64: setup with N clients, or bulk-up / bulk-down through N
# tunnels. Prints one line per step and, per scenario, the median of each column per proxy:
# tunnels/s, p50 and p99 and proxy CPU per tunnel for setup; MB/s and proxy CPU per GB for bulk;
# and the median and range of B's figure over A's within each round.
# With FQDNGATE_AB_SYSCALLS=1 and perf installed, each step also counts the proxy's system
# calls, all of them and its splice, epoll_ctl and epoll_wait calls (tracepoints), reported per
# tunnel or per MB. Both fqdngate processes write their audit log to a file, as in production.
# Loopback only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 3 ]] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1
declare -A binary=([a]=$2 [b]=$3)
rounds=${4:-5}
seconds=${5:-3}
scenarios=("${@:6}")
((${#scenarios[@]})) || scenarios=(setup:64)
for scenario in "${scenarios[@]}"; do
  [[ $scenario =~ ^(setup|bulk-up|bulk-down):[1-9][0-9]*$ ]] ||
    { echo "ab.sh: scenario $scenario is not MODE:N with MODE setup, bulk-up or bulk-down" >&2; exit 2; }
done
loadgen=$build/loadgen/loadgen
origin=$build/loadgen/origin
. "$repo/bench/script-setup.sh"
require_executables ab.sh "$loadgen" "$origin" "${binary[a]}" "${binary[b]}"
start_origin "$origin" echo sink source
echo_port=$(origin_port echo) sink_port=$(origin_port sink) source_port=$(origin_port source)
count_syscalls=
if [[ ${FQDNGATE_AB_SYSCALLS:-} == 1 ]]; then
  command -v perf > /dev/null || { echo "ab.sh: FQDNGATE_AB_SYSCALLS=1 needs perf" >&2; exit 2; }
  count_syscalls=1
fi

declare -A address pid
names=(a b)
for name in a b; do
  sed -e "s/@PROXY_PORT@/0/" -e "s/@TARGET_NAME@/origin.bench.test/g" \
    -e "s/@ECHO_PORT@/$echo_port/" -e "s/@SINK_PORT@/$sink_port/" -e "s/@SOURCE_PORT@/$source_port/" \
    -e "s#@AUDIT_LOG@#$work/audit-$name.log#" "$repo/bench/configs/fqdngate.yaml" \
    > "$work/$name.yaml"
  "${binary[$name]}" --config "$work/$name.yaml" > /dev/null 2> "$work/$name.err" &
  pid[$name]=$!
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$work/$name.err" && break; sleep 0.1; done
  address[$name]=$(grep -o "127\.0\.0\.1:[0-9]*" "$work/$name.err" | head -n 1)
  [[ -n ${address[$name]} ]] || { echo "fqdngate $name did not start:" >&2; cat "$work/$name.err" >&2; exit 1; }
done

declare -A relay_port
if command -v haproxy > /dev/null; then
  for mode in echo sink source; do
    relay_port[$mode]=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  done
  sed -e "s/@RELAY_ECHO_PORT@/${relay_port[echo]}/" -e "s/@RELAY_SINK_PORT@/${relay_port[sink]}/" \
    -e "s/@RELAY_SOURCE_PORT@/${relay_port[source]}/" -e "s/@ECHO_PORT@/$echo_port/" \
    -e "s/@SINK_PORT@/$sink_port/" -e "s/@SOURCE_PORT@/$source_port/" \
    "$repo/bench/configs/haproxy.cfg" > "$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  pid[haproxy]=$!
  pids+=($!)
  for _ in $(seq 50); do (exec 3<> "/dev/tcp/127.0.0.1/${relay_port[echo]}") 2> /dev/null && break; sleep 0.1; done
  names+=(haproxy)
fi

# One step: MODE N through proxy NAME; prints loadgen's JSON line, with the system call counts
# added when asked for.
step() {
  local mode=$1 n=$2 name=$3 origin_mode=echo
  [[ $mode == bulk-up ]] && origin_mode=sink
  [[ $mode == bulk-down ]] && origin_mode=source
  local port_var=${origin_mode}_port
  local via=(--via direct --proxy "127.0.0.1:${relay_port[$origin_mode]:-}")
  [[ $name != haproxy ]] &&
    via=(--via connect --proxy "${address[$name]}" --target "origin.bench.test:${!port_var}")
  local size=(--clients "$n" --threads "$((n > 1 ? 2 : 1))")
  [[ $mode != setup ]] && size=(--tunnels "$n" --threads 2)
  local perf_pid=
  if [[ -n $count_syscalls ]]; then
    perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_splice,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait \
      -p "${pid[$name]}" -o "$work/perf.csv" &
    perf_pid=$!
    sleep 0.3  # perf attaches asynchronously; nothing is measured before the load starts anyway
  fi
  local line
  line=$("$loadgen" --mode "$mode" "${size[@]}" --seconds "$seconds" --sni origin.bench.test \
    "${via[@]}" --pid "${pid[$name]}" | head -n 1)
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    line=$(python3 - "$line" "$work/perf.csv" <<'PY'
import csv, json, sys
row = json.loads(sys.argv[1])
# raw_syscalls:sys_enter counts every system call of the process: "syscalls" below.
counts = {r[2].split(":sys_enter_")[-1] if ":sys_enter_" in r[2] else "syscalls": float(r[0])
          for r in csv.reader(open(sys.argv[2]))
          if len(r) > 2 and ":sys_enter" in r[2] and r[0].replace(".", "").isdigit()}
units = row.get("tunnels_ok") if row["mode"] == "setup" else row.get("mb_per_s", 0) * row["seconds"]
for name, count in counts.items():
    row[f"{name}_per_{'tunnel' if row['mode'] == 'setup' else 'mb'}"] = count / units if units else None
print(json.dumps(row))
PY
)
  fi
  echo "$line"
}

for scenario in "${scenarios[@]}"; do
  mode=${scenario%%:*} n=${scenario##*:}
  for round in $(seq "$rounds"); do
    order=("${names[@]}")
    # Every other round in reverse, so that no proxy always follows the same one.
    ((round % 2 == 0)) && order=($(printf '%s\n' "${names[@]}" | tac))
    for name in "${order[@]}"; do
      echo "$scenario $round $name $(step "$mode" "$n" "$name")" | tee -a "$work/steps"
    done
  done
done

python3 - "$work/steps" "${binary[a]}" "${binary[b]}" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    scenario, _, name, data = line.split(" ", 3)
    rows.setdefault(scenario, {}).setdefault(name, []).append(json.loads(data))
print(f"\na: {sys.argv[2]}\nb: {sys.argv[3]}")
for scenario, by_name in rows.items():
    setup = scenario.startswith("setup")
    extra = [k for k in ("syscalls", "splice", "epoll_ctl", "epoll_wait")
             if any(f"{k}_per_{'tunnel' if setup else 'mb'}" in s for v in by_name.values() for s in v)]
    unit = "tunnel" if setup else "MB"
    cols = (["tunnels/s", "p50 ms", "p99 ms", "proxy CPU µs per tunnel"] if setup
            else ["MB/s", "proxy CPU s per GB"]) + [f"{k} per {unit}" for k in extra]
    keys = (["rate_per_s", "p50_ms", "p99_ms", "pid_cpu_us_per_tunnel"] if setup
            else ["mb_per_s", "pid_cpu_s_per_gb"]) + [f"{k}_per_{unit.lower()}" for k in extra]
    print(f"\n{scenario}\n\n| proxy | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name in sorted(by_name, key=["a", "b", "haproxy"].index):
        steps = by_name[name]
        med = lambda k: statistics.median(s.get(k) or 0 for s in steps)
        digits = {"rate_per_s": 0, "mb_per_s": 0, "p50_ms": 2, "p99_ms": 2, "pid_cpu_s_per_gb": 3}
        cells = [f"{med(k):.{digits.get(k, 1)}f}" for k in keys]
        print(f"| {name} | " + " | ".join(cells) + " |")
    # Each round measures a and b back to back, so their ratio within a round cancels most of the
    # machine's drift between rounds: often the steadier comparison of the two.
    pairs = list(zip(by_name.get("a", []), by_name.get("b", [])))
    def ratio_cell(k):
        r = [b[k] / a[k] for a, b in pairs if a.get(k) and b.get(k) is not None]
        return f"{statistics.median(r):.3f} ({min(r):.2f}-{max(r):.2f})" if r else "-"
    if pairs:
        print("| b / a in the same round: median (range) | " + " | ".join(map(ratio_cell, keys)) + " |")
    print(f"\nmedians of {len(next(iter(by_name.values())))} alternating rounds")
PY
