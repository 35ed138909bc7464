#!/usr/bin/env bash
# Memory and descriptors per idle tunnel through a plain listener and through a TLS listener (an
# https:// proxy URL) of one fqdngate process. TUNNELS tunnels are opened through each listener
# in turn (CONNECT, 200, a few plain bytes echoed by the origin under a `tls: optional` rule) and
# left idle; the proxy's RSS and open descriptors are read before and after each batch.
#
#   bench/idle-tls.sh BUILD_DIR [TUNNELS]
#
# BUILD_DIR is what bench/compare.sh --build-dir built (fqdngate and the origin are taken from
# it). TUNNELS defaults to 1 000: the client (Python, in this script), the proxy and the origin
# together hold about 4 descriptors per tunnel. Loopback only; the test PKI comes from
# certs/make-test-pki.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 1 ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1
tunnels=${2:-1000}
fqdngate=$build/fqdngate/fqdngate
origin=$build/loadgen/origin
. "$repo/bench/script-setup.sh"
require_executables idle-tls.sh "$fqdngate" "$origin"
"$repo/certs/make-test-pki.sh" "$work/pki" fqdngate.bench.test > /dev/null
start_origin "$origin" echo
echo_port=$(origin_port echo)

cat > "$work/policy.yaml" <<EOF
listen:
  - "127.0.0.1:0"
  - address: "127.0.0.1:0"
    tls:
      cert: pki/server.crt
      key: pki/server.key
prefect:
  cloud: false
allow:
  - host: origin.bench.test
    ports: [$echo_port]
    private: true
    tls: optional
dns:
  hosts:
    origin.bench.test: 127.0.0.1
audit:
  path: $work/audit.log
limits:
  max_connections: 20000
  max_connections_per_client: 20000
  idle_timeout_s: 600
EOF
"$fqdngate" --config "$work/policy.yaml" > /dev/null 2> "$work/fqdngate.err" &
proxy_pid=$!
pids+=($!)
for _ in $(seq 50); do
  [[ $(grep -c "listening on" "$work/fqdngate.err") -ge 2 ]] && break
  sleep 0.1
done
plain_port=$(grep "listening on" "$work/fqdngate.err" | grep -v " tls " | head -n 1 |
  sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p')
tls_port=$(grep "listening on" "$work/fqdngate.err" | grep " tls " | head -n 1 |
  sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p')
[[ -n $plain_port && -n $tls_port ]] || { cat "$work/fqdngate.err" >&2; exit 1; }

python3 - "$proxy_pid" "$plain_port" "$tls_port" "$echo_port" "$tunnels" "$work/pki/ca.crt" <<'PY'
import os, socket, ssl, sys, time

pid, plain_port, tls_port, echo_port, count = map(int, sys.argv[1:6])
ca = sys.argv[6]
target = f"origin.bench.test:{echo_port}"
request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
deadline = time.monotonic() + 300  # the whole run, both listeners


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_until(sock, marker):
    data = b""
    while marker not in data:
        if time.monotonic() > deadline:
            raise TimeoutError("the run took longer than 300 s")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def open_tunnel(port, ctx):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1") if ctx else raw
    sock.sendall(request)
    head = read_until(sock, b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"refused: {head[:80]!r}")
    sock.sendall(b"ping")  # plain bytes under tls: optional, echoed by the origin
    read_until(sock, b"ping")
    return sock


def settle():
    # RSS is read once the proxy has answered every tunnel (each waited for its echo), after a
    # pause that lets the audit writer drain.
    time.sleep(1)
    return rss_kib(), fds()


ctx = ssl.create_default_context(cafile=ca)
results = []
held = []
for name, port, tls in (("plain listener", plain_port, None), ("TLS listener", tls_port, ctx)):
    rss0, fd0 = settle()
    batch = [open_tunnel(port, tls) for _ in range(count)]
    held.extend(batch)
    rss1, fd1 = settle()
    results.append((name, (rss1 - rss0) / count, (fd1 - fd0) / count))

print(f"\n{count} idle tunnels per listener\n")
print("| listener | RSS per idle tunnel | descriptors per idle tunnel |")
print("|---|---:|---:|")
for name, kib, per_fd in results:
    print(f"| {name} | {kib:.1f} KiB | {per_fd:.2f} |")
for s in held:
    s.close()
PY
