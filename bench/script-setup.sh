# Sourced by the side-by-side bench scripts (ab.sh, idle-tls.sh, splice-vs-copy.sh): the
# descriptor limit, a scratch directory and the processes started in it, all gone on exit, and
# the local origin.
#
#   require_executables NAME PATH...   exits 2 naming the first PATH that is not executable
#   start_origin ORIGIN MODE...        starts ORIGIN with MODE in echo, sink, source on 127.0.0.1
#   origin_port MODE                   the port the origin picked for MODE
#
# After sourcing: $work is the scratch directory; append the PID of anything started in the
# background to pids, and it is stopped (and waited for) on exit.

require_executables() {
  local name=$1 b
  shift
  for b in "$@"; do
    [[ -x $b ]] || { echo "$name: missing $b" >&2; exit 2; }
  done
}

ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_origin() {
  local binary=$1 mode args=()
  shift
  for mode in "$@"; do args+=("--$mode" 127.0.0.1:0); done
  "$binary" "${args[@]}" > "$work/origin.json" 2> "$work/origin.err" &
  pids+=($!)
  local _
  for _ in $(seq 50); do [[ -s $work/origin.json ]] && return 0; sleep 0.1; done
  echo "the origin did not start:" >&2
  cat "$work/origin.err" >&2
  exit 1
}

origin_port() {
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
    "$work/origin.json" "$1"
}
