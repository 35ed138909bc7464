#!/usr/bin/env bash
# Macro benchmarks side by side: fqdngate, Squid, tinyproxy (CONNECT proxies with an allowlist
# and access logging), HAProxy (plain TCP relay with splice: no CONNECT, no policy), direct to
# the origin (the machine's limit) and direct-connect (the same origin answering the CONNECT
# itself: the limit for any CONNECT proxy, one round trip above direct), in one run. Prints a
# table of absolute figures and one of ratios. Debian 12; needs root for apt-get (the packages
# are installed when missing).
#
#   bench/compare.sh [--seconds S] [--idle-tunnels N] [--rounds R] [--only "fqdngate squid ..."]
#                    [--build-dir DIR] [--out FILE] [--keep] [--no-install]
#
# --rounds R runs everything R times, each proxy freshly started each round, and shows for
# every cell the round with the median figure (a busy machine moves single runs a lot). Each
# round starts one proxy further down the list, so none is always measured first.
#
# Only loopback traffic: every proxy listens on 127.0.0.1 and reaches the local origin, whose
# name (origin.bench.test, a reserved TLD) is pinned to 127.0.0.1 in each proxy's own
# configuration; nothing is resolved through DNS. See bench/README.md, "Macro benchmarks".
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_PER_STEP=4
IDLE_TUNNELS=5000
ROUNDS=1
ROUND=1
ONLY="fqdngate squid tinyproxy haproxy direct direct-connect"
BUILD_DIR="$REPO/build-bench"
OUT=""
KEEP=0
INSTALL=1
TARGET_NAME=origin.bench.test

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_STEP=$2; shift 2 ;;
    --idle-tunnels) IDLE_TUNNELS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; usage ;;
  esac
done

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK=$(mktemp -d /tmp/fqdngate-bench.XXXXXX)
chmod 755 "$WORK"
RESULTS="$WORK/results"
mkdir -p "$RESULTS"
STARTED_PIDS=()

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- packages ---------------------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_packages() {
  local missing=() p
  for p in squid tinyproxy haproxy; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian packages"
  # Keep the distribution's services from starting: we run our own instances.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get update -q >"$WORK/apt-update.log" 2>&1 || true
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
    >"$WORK/apt-install.log" 2>&1 || rc=$?
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then
    log "apt-get install failed (see below); those proxies will be reported as failed"
    tail -5 "$WORK/apt-install.log" >&2
  fi
  # Where systemd runs and started them anyway, stop them.
  if [ -d /run/systemd/system ]; then
    for p in "${missing[@]}"; do systemctl stop "$p" 2>/dev/null || true; done
  fi
}

# --- build --------------------------------------------------------------------------------------

build_failed() {
  log "build failed; last lines of the build log:"
  tail -n 30 "$WORK/build.log" >&2
  exit 1
}

build() {
  log "building fqdngate, loadgen and origin (Release) in $BUILD_DIR"
  {
    cmake -S "$REPO" -B "$BUILD_DIR/fqdngate" -DCMAKE_BUILD_TYPE=Release -DFQDNGATE_TESTS=OFF &&
      cmake --build "$BUILD_DIR/fqdngate" --target fqdngate -j "$(nproc)" &&
      cmake -S "$REPO/bench/loadgen" -B "$BUILD_DIR/loadgen" -DCMAKE_BUILD_TYPE=Release &&
      cmake --build "$BUILD_DIR/loadgen" -j "$(nproc)"
  } >"$WORK/build.log" 2>&1 || build_failed
  FQDNGATE="$BUILD_DIR/fqdngate/fqdngate"
  LOADGEN="$BUILD_DIR/loadgen/loadgen"
  ORIGIN="$BUILD_DIR/loadgen/origin"
}

# --- processes and ports ----------------------------------------------------------------------

# A free loopback port below the ephemeral range, so that no outgoing connection holds it and a
# client can never connect to itself on it.
USED_PORTS=" "
free_port() {
  local p tries
  for tries in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
      USED_PORTS="$USED_PORTS$p "
      echo "$p"
      return 0
    fi
  done
  echo "compare.sh: no free port" >&2
  return 1
}

wait_port() {
  local port=$1 pid=$2 i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

fill() {  # fill TEMPLATE OUTPUT: replace the @...@ fields
  sed -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@TARGET_NAME@|$TARGET_NAME|g" \
    -e "s|@ECHO_PORT@|$ECHO_PORT|g" -e "s|@SINK_PORT@|$SINK_PORT|g" \
    -e "s|@SOURCE_PORT@|$SOURCE_PORT|g" -e "s|@DIR@|$PDIR|g" \
    -e "s|@RELAY_ECHO_PORT@|${RELAY_ECHO_PORT:-0}|g" \
    -e "s|@RELAY_SINK_PORT@|${RELAY_SINK_PORT:-0}|g" \
    -e "s|@RELAY_SOURCE_PORT@|${RELAY_SOURCE_PORT:-0}|g" \
    -e "s|@AUDIT_LOG@|$PDIR/audit.log|g" "$1" >"$2"
}

# origin_ports FILE: sets ECHO, SINK and SOURCE from the origin's JSON line (waits for it).
origin_ports() {
  local i line
  for i in $(seq 1 50); do
    [ -s "$1" ] && break
    sleep 0.1
  done
  line=$(head -1 "$1")
  ECHO=$(sed -n 's/.*"echo":\([0-9]*\).*/\1/p' <<<"$line")
  SINK=$(sed -n 's/.*"sink":\([0-9]*\).*/\1/p' <<<"$line")
  SOURCE=$(sed -n 's/.*"source":\([0-9]*\).*/\1/p' <<<"$line")
  [ -n "$ECHO" ] && [ -n "$SINK" ] && [ -n "$SOURCE" ] || {
    echo "compare.sh: origin did not start ($(cat "${1%.ports}.log"))" >&2
    exit 1
  }
}

start_origin() {
  "$ORIGIN" --echo 127.0.0.1:0 --sink 127.0.0.1:0 --source 127.0.0.1:0 \
    >"$WORK/origin.ports" 2>"$WORK/origin.log" &
  ORIGIN_PID=$!
  STARTED_PIDS+=("$ORIGIN_PID")
  origin_ports "$WORK/origin.ports"
  ECHO_PORT=$ECHO SINK_PORT=$SINK SOURCE_PORT=$SOURCE
  log "origin: echo $ECHO_PORT, sink $SINK_PORT, source $SOURCE_PORT"
  # The same origin answering the CONNECT itself, for direct-connect.
  "$ORIGIN" --connect --echo 127.0.0.1:0 --sink 127.0.0.1:0 --source 127.0.0.1:0 \
    >"$WORK/connect-origin.ports" 2>"$WORK/connect-origin.log" &
  CONNECT_ORIGIN_PID=$!
  STARTED_PIDS+=("$CONNECT_ORIGIN_PID")
  origin_ports "$WORK/connect-origin.ports"
  CONNECT_ECHO_PORT=$ECHO CONNECT_SINK_PORT=$SINK CONNECT_SOURCE_PORT=$SOURCE
  log "origin answering CONNECT: echo $CONNECT_ECHO_PORT, sink $CONNECT_SINK_PORT," \
    "source $CONNECT_SOURCE_PORT"
}

# Each start_* sets PROXY_PID and VIA, and the addresses per mode (ADDR_ECHO, ADDR_SINK,
# ADDR_SOURCE: what loadgen connects to; TARGET_ECHO, ...: the CONNECT target). Returns non-zero
# when the proxy does not come up.
connect_targets() {
  local host=$1
  VIA=connect
  ADDR_ECHO=127.0.0.1:$PROXY_PORT
  ADDR_SINK=$ADDR_ECHO
  ADDR_SOURCE=$ADDR_ECHO
  TARGET_ECHO=$host:$ECHO_PORT
  TARGET_SINK=$host:$SINK_PORT
  TARGET_SOURCE=$host:$SOURCE_PORT
}

launch() {  # launch NAME PORT COMMAND...: start in the background, wait for the port
  local name=$1 port=$2
  shift 2
  "$@" >"$PDIR/stdout.log" 2>"$PDIR/stderr.log" &
  PROXY_PID=$!
  STARTED_PIDS+=("$PROXY_PID")
  if ! wait_port "$port" "$PROXY_PID"; then
    log "$name did not start; last lines of its logs:"
    tail -n 5 "$PDIR/stderr.log" "$PDIR/stdout.log" >&2 || true
    return 1
  fi
}

start_fqdngate() {
  command -v "$FQDNGATE" >/dev/null || return 1
  fill "$REPO/bench/configs/fqdngate.yaml" "$PDIR/fqdngate.yaml"
  "$FQDNGATE" check --config "$PDIR/fqdngate.yaml" >"$PDIR/check.log" 2>&1 || {
    tail -5 "$PDIR/check.log" >&2
    return 1
  }
  connect_targets "$TARGET_NAME"
  launch fqdngate "$PROXY_PORT" "$FQDNGATE" --config "$PDIR/fqdngate.yaml"
}

start_squid() {
  command -v squid >/dev/null || return 1
  chmod 777 "$PDIR"
  printf '127.0.0.1 %s\n' "$TARGET_NAME" >"$PDIR/hosts"
  fill "$REPO/bench/configs/squid.conf" "$PDIR/squid.conf"
  squid -k parse -f "$PDIR/squid.conf" >"$PDIR/parse.log" 2>&1 || {
    tail -5 "$PDIR/parse.log" >&2
    return 1
  }
  connect_targets "$TARGET_NAME"
  launch squid "$PROXY_PORT" squid -N -f "$PDIR/squid.conf"
}

start_tinyproxy() {
  command -v tinyproxy >/dev/null || return 1
  chmod 777 "$PDIR"
  # tinyproxy resolves through the system resolver only, which we do not touch: it is given the
  # origin's address as the CONNECT host and allows exactly that.
  printf '^127\\.0\\.0\\.1$\n' >"$PDIR/filter"
  fill "$REPO/bench/configs/tinyproxy.conf" "$PDIR/tinyproxy.conf"
  connect_targets 127.0.0.1
  launch tinyproxy "$PROXY_PORT" tinyproxy -d -c "$PDIR/tinyproxy.conf"
}

start_haproxy() {
  command -v haproxy >/dev/null || return 1
  RELAY_ECHO_PORT=$PROXY_PORT
  RELAY_SINK_PORT=$(free_port)
  RELAY_SOURCE_PORT=$(free_port)
  fill "$REPO/bench/configs/haproxy.cfg" "$PDIR/haproxy.cfg"
  haproxy -c -f "$PDIR/haproxy.cfg" >"$PDIR/check.log" 2>&1 || {
    tail -5 "$PDIR/check.log" >&2
    return 1
  }
  VIA=direct
  ADDR_ECHO=127.0.0.1:$RELAY_ECHO_PORT
  ADDR_SINK=127.0.0.1:$RELAY_SINK_PORT
  ADDR_SOURCE=127.0.0.1:$RELAY_SOURCE_PORT
  launch haproxy "$PROXY_PORT" haproxy -db -f "$PDIR/haproxy.cfg"
}

start_direct() {
  VIA=direct
  PROXY_PID=$ORIGIN_PID
  ADDR_ECHO=127.0.0.1:$ECHO_PORT
  ADDR_SINK=127.0.0.1:$SINK_PORT
  ADDR_SOURCE=127.0.0.1:$SOURCE_PORT
}

start_direct-connect() {
  VIA=connect
  PROXY_PID=$CONNECT_ORIGIN_PID
  ADDR_ECHO=127.0.0.1:$CONNECT_ECHO_PORT
  ADDR_SINK=127.0.0.1:$CONNECT_SINK_PORT
  ADDR_SOURCE=127.0.0.1:$CONNECT_SOURCE_PORT
  TARGET_ECHO=$TARGET_NAME:$CONNECT_ECHO_PORT
  TARGET_SINK=$TARGET_NAME:$CONNECT_SINK_PORT
  TARGET_SOURCE=$TARGET_NAME:$CONNECT_SOURCE_PORT
}

# --- scenarios ----------------------------------------------------------------------------------

# loadgen NAME STEP MODE(echo|sink|source) ARGS...: one step, its JSON line kept in RESULTS.
loadgen() {
  local name=$1 step=$2 kind=$3
  shift 3
  local addr target
  case "$kind" in
    echo) addr=$ADDR_ECHO; target=${TARGET_ECHO:-} ;;
    sink) addr=$ADDR_SINK; target=${TARGET_SINK:-} ;;
    source) addr=$ADDR_SOURCE; target=${TARGET_SOURCE:-} ;;
  esac
  local args=(--via "$VIA" --proxy "$addr" "$@")
  if [ "$VIA" = connect ]; then
    args+=(--target "$target" --sni "$TARGET_NAME")
  else
    args+=(--sni "$TARGET_NAME")
  fi
  local out
  out=$("$LOADGEN" "${args[@]}" 2>>"$WORK/loadgen.err") || true
  printf '%s\n' "$out" | sed -n '1p' >"$RESULTS/$name.$step.json"
  cp "$RESULTS/$name.$step.json" "$RESULTS/$name.$step.r$ROUND.json"
  log "$name $step: $(printf '%s\n' "$out" | sed -n '2p')"
}

run_scenarios() {
  local name=$1 s=$SECONDS_PER_STEP
  # Idle first, on a fresh process (after one warm-up tunnel), so the memory a tunnel costs is
  # not hidden by what earlier steps left in the allocator.
  loadgen "$name" warmup echo --mode setup --clients 1 --seconds 0.5 >/dev/null
  if [ "${name#direct}" = "$name" ]; then  # a proxy, not an origin
    loadgen "$name" idle echo --mode idle --tunnels "$IDLE_TUNNELS" --clients 64 --seconds 60 \
      --pid "$PROXY_PID"
  fi
  local audit_before=0
  [ -f "$PDIR/audit.log" ] && audit_before=$(wc -l <"$PDIR/audit.log")
  local pid=(--pid "$PROXY_PID")
  loadgen "$name" setup1 echo --mode setup --clients 1 --seconds "$s" "${pid[@]}"
  loadgen "$name" setup64 echo --mode setup --clients 64 --threads 2 --seconds "$s" "${pid[@]}"
  if [ -f "$PDIR/audit.log" ]; then
    sleep 1  # the audit writer runs behind on its own thread
    local lines tunnels
    lines=$(($(wc -l <"$PDIR/audit.log") - audit_before))
    tunnels=$(($(field "$name" setup1 tunnels_ok 0) + $(field "$name" setup64 tunnels_ok 0) +
      $(field "$name" setup1 errors 0) + $(field "$name" setup64 errors 0)))
    printf '{"audit_lines":%d,"tunnels":%d}\n' "$lines" "$tunnels" \
      >"$RESULTS/$name.audit.r$ROUND.json"
    log "$name audit: $lines lines for $tunnels tunnels (3 expected per tunnel)"
  fi
  loadgen "$name" up1 sink --mode bulk-up --tunnels 1 --seconds "$s" "${pid[@]}"
  loadgen "$name" up32 sink --mode bulk-up --tunnels 32 --threads 2 --seconds "$s" "${pid[@]}"
  loadgen "$name" down1 source --mode bulk-down --tunnels 1 --seconds "$s" "${pid[@]}"
  loadgen "$name" down32 source --mode bulk-down --tunnels 32 --threads 2 --seconds "$s" \
    "${pid[@]}"
}

run_one() {
  local name=$1
  PDIR="$WORK/$name"
  mkdir -p "$PDIR"
  PROXY_PORT=$(free_port)
  unset TARGET_ECHO TARGET_SINK TARGET_SOURCE
  log "--- $name (round $ROUND of $ROUNDS)"
  # How busy the machine was around this proxy's steps (other work lowers every figure).
  [ "$ROUND" = 1 ] && cut -d' ' -f1 /proc/loadavg >"$RESULTS/$name.load-before"
  if ! "start_$name"; then
    echo failed >"$RESULTS/$name.failed.r$ROUND"
    log "$name: FAILED to start"
    return 0
  fi
  run_scenarios "$name"
  cut -d' ' -f1 /proc/loadavg >"$RESULTS/$name.load-after"
  if [ "${name#direct}" = "$name" ]; then  # a proxy, not an origin
    stop_pid "$PROXY_PID"
    local logfile
    for logfile in "$PDIR/audit.log" "$PDIR/access.log" "$PDIR/tinyproxy.log" \
      "$PDIR/stdout.log"; do
      if [ -s "$logfile" ]; then
        log "$name log $(basename "$logfile"): $(wc -l <"$logfile") lines"
      fi
    done
  fi
}

# After all rounds: NAME.STEP.json becomes the round with the median figure, NAME.failed marks
# a proxy that failed to start in every round, NAME.audit.json sums the audit counts.
pick_medians() {
  local name step key f v list chosen count
  for name in $ONLY; do
    for step in $STEPS; do
      case "$step" in
        setup*) key=rate_per_s ;;
        up*|down*) key=mb_per_s ;;
        idle) key=kib_per_tunnel ;;
      esac
      list=""
      for f in "$RESULTS/$name.$step".r*.json; do
        [ -s "$f" ] || continue
        v=$(sed -n "s/.*\"$key\":\([-0-9.e+]*\).*/\1/p" "$f")
        [ "$(sed -n 's/.*"tunnels_ok":\([0-9]*\).*/\1/p' "$f")" = 0 ] && v=0
        list="$list${v:-0} $f"$'\n'
      done
      [ -n "$list" ] || continue
      count=$(printf '%s' "$list" | grep -c .)
      chosen=$(printf '%s' "$list" | sort -g | sed -n "$(((count + 1) / 2))p" | cut -d' ' -f2-)
      cp "$chosen" "$RESULTS/$name.$step.json"
    done
    count=$(find "$RESULTS" -name "$name.failed.r*" | wc -l)
    if [ "$count" -ge "$ROUNDS" ]; then echo failed >"$RESULTS/$name.failed"; fi
    if ls "$RESULTS/$name".audit.r*.json >/dev/null 2>&1; then
      cat "$RESULTS/$name".audit.r*.json | awk -F'[:,}]' '{ l += $2; t += $4 }
        END { printf "{\"audit_lines\":%d,\"tunnels\":%d}\n", l, t }' >"$RESULTS/$name.audit.json"
    fi
  done
}

# --- report -----------------------------------------------------------------------------------

field() {  # field NAME STEP KEY [DEFAULT]
  local f="$RESULTS/$1.$2.json" v=""
  [ -s "$f" ] && v=$(sed -n "s/.*\"$3\":\([-0-9.e+]*\).*/\1/p" "$f")
  echo "${v:-${4:-}}"
}

cell() {  # cell NAME STEP: the figure shown for one proxy and step
  local name=$1 step=$2
  [ -f "$RESULTS/$name.failed" ] && { echo "failed"; return; }
  [ -s "$RESULTS/$name.$step.json" ] || { echo "—"; return; }
  local errors ok
  errors=$(field "$name" "$step" errors 0)
  ok=$(field "$name" "$step" tunnels_ok 0)
  [ "$ok" = 0 ] && { echo "failed ($errors errors)"; return; }
  local note=""
  [ "$errors" != 0 ] && note=" ($errors err)"
  case "$step" in
    setup*) printf '%.0f/s, %.2f / %.2f ms%s' "$(field "$name" "$step" rate_per_s)" \
      "$(field "$name" "$step" p50_ms)" "$(field "$name" "$step" p99_ms)" "$note" ;;
    up*|down*) printf '%.0f MB/s%s' "$(field "$name" "$step" mb_per_s)" "$note" ;;
    idle)
      local kib fds
      kib=$(field "$name" idle kib_per_tunnel)
      fds=$(field "$name" idle fds_per_tunnel)
      if [ -z "$kib" ]; then echo "—"; return; fi
      printf '%.1f KiB, %.2f fd (%s open)%s' "$kib" "$fds" "$ok" "$note" ;;
  esac
}

value() {  # the number ratios are taken of
  local name=$1 step=$2
  [ -f "$RESULTS/$name.failed" ] && return 0
  [ "$(field "$name" "$step" tunnels_ok 0)" = 0 ] && return 0
  case "$step" in
    setup*) field "$name" "$step" rate_per_s ;;
    up*|down*) field "$name" "$step" mb_per_s ;;
    idle) field "$name" idle kib_per_tunnel ;;
  esac
}

cpu_cell() {  # cpu_cell NAME STEP: the process's CPU per tunnel (setup) or per GB (bulk)
  local name=$1 step=$2 v
  [ -s "$RESULTS/$name.$step.json" ] || { echo "—"; return; }
  [ "$(field "$name" "$step" tunnels_ok 0)" = 0 ] && { echo "—"; return; }
  case "$step" in
    setup*) v=$(field "$name" "$step" pid_cpu_us_per_tunnel)
      [ -n "$v" ] && printf '%.0f µs' "$v" || echo "—" ;;
    *) v=$(field "$name" "$step" pid_cpu_s_per_gb)
      [ -n "$v" ] && printf '%.2f s' "$v" || echo "—" ;;
  esac
}

ratio() {
  local a=$1 b=$2
  if [ -z "$a" ] || [ -z "$b" ]; then echo "—"; return; fi
  awk -v a="$a" -v b="$b" 'BEGIN { if (b + 0 == 0) print "—"; else printf "%.2f", a / b }'
}

STEPS="setup1 setup64 up1 up32 down1 down32 idle"
step_label() {
  case "$1" in
    setup1) echo "setup, 1 client: tunnels/s, p50 / p99" ;;
    setup64) echo "setup, 64 clients: tunnels/s, p50 / p99" ;;
    up1) echo "bulk up, 1 tunnel" ;;
    up32) echo "bulk up, 32 tunnels" ;;
    down1) echo "bulk down, 1 tunnel" ;;
    down32) echo "bulk down, 32 tunnels" ;;
    idle) echo "idle, $IDLE_TUNNELS tunnels: RSS and fds per tunnel" ;;
  esac
}

report() {
  local names=() n step line
  for n in $ONLY; do names+=("$n"); done
  echo
  echo "### Absolute figures"
  echo
  line="| scenario |"
  for n in "${names[@]}"; do line="$line $n |"; done
  echo "$line"
  line="|---|"
  for n in "${names[@]}"; do line="$line---|"; done
  echo "$line"
  for step in $STEPS; do
    line="| $(step_label "$step") |"
    for n in "${names[@]}"; do line="$line $(cell "$n" "$step") |"; done
    echo "$line"
  done
  echo
  echo "### Ratios (rates and MB/s: higher is better; KiB per idle tunnel: lower is better)"
  echo
  line="| scenario |"
  local ceiling=""  # direct-connect, when it ran: the limit for CONNECT proxies
  for n in "${names[@]}"; do [ "$n" = direct-connect ] && ceiling=direct-connect; done
  for n in "${names[@]}"; do
    case "$n" in
      haproxy|direct*) ;;
      *)
        line="$line $n / haproxy | $n / direct |"
        [ -n "$ceiling" ] && line="$line $n / direct-connect |"
        ;;
    esac
  done
  line="$line haproxy / direct |"
  echo "$line"
  echo "$line" | sed 's/[^|]*|/---|/g; s/^---|/|/'
  for step in $STEPS; do
    line="| $(step_label "$step" | sed 's/:.*//') |"
    local h d
    h=$(value haproxy "$step")
    d=$(value direct "$step")
    for n in "${names[@]}"; do
      case "$n" in
        haproxy|direct*) ;;
        *)
          local v
          v=$(value "$n" "$step")
          line="$line $(ratio "$v" "$h") | $(ratio "$v" "$d") |"
          [ -n "$ceiling" ] && line="$line $(ratio "$v" "$(value "$ceiling" "$step")") |"
          ;;
      esac
    done
    line="$line $(ratio "$h" "$d") |"
    echo "$line"
  done
  echo
  echo "### CPU of the process under test (the origin for direct and direct-connect): setup µs" \
    "per tunnel, bulk s per GB; lower is better"
  echo
  line="| scenario |"
  for n in "${names[@]}"; do line="$line $n |"; done
  echo "$line"
  echo "$line" | sed 's/[^|]*|/---|/g; s/^---|/|/'
  for step in setup1 setup64 up1 up32 down1 down32; do
    line="| $(step_label "$step" | sed 's/:.*//') |"
    for n in "${names[@]}"; do line="$line $(cpu_cell "$n" "$step") |"; done
    echo "$line"
  done
  line="| load average before / after |"
  for n in "${names[@]}"; do
    line="$line $(cat "$RESULTS/$n.load-before" 2>/dev/null || echo '?') /"
    line="$line $(cat "$RESULTS/$n.load-after" 2>/dev/null || echo '?') |"
  done
  echo "$line"
  if [ -s "$RESULTS/fqdngate.audit.json" ]; then
    echo
    echo "fqdngate audit log during the setup steps: $(field fqdngate audit audit_lines) lines" \
      "for $(field fqdngate audit tunnels) tunnels (a connect and a tls decision and a close" \
      "line each: 3 per tunnel)."
  fi
}

# --- main ----------------------------------------------------------------------------------------

ulimit -n "$(ulimit -Hn)"
[ "$INSTALL" = 1 ] && install_packages
build
start_origin
for name in $ONLY; do
  case "$name" in
    fqdngate|squid|tinyproxy|haproxy|direct|direct-connect) ;;
    *) log "unknown proxy $name (fqdngate squid tinyproxy haproxy direct direct-connect)"; exit 2 ;;
  esac
done
read -r -a order <<<"$ONLY"
for ROUND in $(seq 1 "$ROUNDS"); do
  # The machine's speed drifts within a run: rotating the order keeps that drift from always
  # favouring the same proxy.
  for i in "${!order[@]}"; do
    run_one "${order[$(((i + ROUND - 1) % ${#order[@]}))]}"
  done
done
pick_medians

{
  echo "Macro benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, loopback, ${SECONDS_PER_STEP} s" \
    "per step, $ROUNDS round(s) (each cell: the round with the median figure)"
  echo "versions: fqdngate $("$FQDNGATE" --version 2>/dev/null | awk '{print $2}')" \
    "($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))," \
    "squid $(dpkg-query -W -f='${Version}' squid 2>/dev/null || echo -)," \
    "tinyproxy $(dpkg-query -W -f='${Version}' tinyproxy 2>/dev/null || echo -)," \
    "haproxy $(dpkg-query -W -f='${Version}' haproxy 2>/dev/null || echo -)"
  report
} >"$WORK/report.md"
cat "$WORK/report.md"
[ -n "$OUT" ] && cp "$WORK/report.md" "$OUT"
exit 0
