"""Tunnels are spread evenly over the workers, whatever the kernel's SO_REUSEPORT hash says, and
a tunnel handed to another worker relays like any other."""

import re
import socket

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import TcpCountOrigin
from harness.waiting import wait_until

HOST = "files.example.com"  # tls: optional, to a plain TCP origin
TUNNELS = 60
# proxy/worker_load.hpp: kHandOverMargin. The shares may differ by this much, never more.
MARGIN = 2
STATS_RE = re.compile(
    r"^fqdngate: worker (\d+) accepted (\d+) connections and handed (\d+) of them", re.M
)


class Workers(ProxyTestCase):
    proxy_args = ("--threads", "2")

    @classmethod
    def start_servers(cls):
        cls.counter = cls.start_origin(TcpCountOrigin())

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{cls.counter.port}]
    private: true
    tls: optional
dns:
  hosts:
    {HOST}: 127.0.0.1
"""

    def test_open_tunnels_split_evenly_and_all_relay(self):
        since = self.proxy.audit_mark()
        tunnels = []
        try:
            # One at a time, each established before the next: every connection is placed
            # knowing exactly how many tunnels each worker holds.
            for i in range(TUNNELS):
                sock, answer = clients.connect(self.port, f"{HOST}:{self.counter.port}")
                tunnels.append(sock)
                self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
                sock.sendall(b"x" * (i + 1))
            clients_of = {"%s:%d" % s.getsockname()[:2] for s in tunnels}

            def decisions():
                return [
                    r
                    for r in self.proxy.audit_records()[since:]
                    if r.get("event") == "decision"
                    and r.get("stage") == "connect"
                    and r.get("client") in clients_of
                ]

            # The audit writer flushes on its own thread: wait for all the lines.
            self.assertTrue(wait_until(lambda: len(decisions()) == TUNNELS), len(decisions()))
            # A connection id ends in its worker's index (id = sequence * workers + index).
            per_worker = [sum(1 for r in decisions() if r["conn"] % 2 == w) for w in (0, 1)]
            self.assertLessEqual(abs(per_worker[0] - per_worker[1]), MARGIN, per_worker)

            # Every tunnel relays both ways, the handed-over ones included.
            for i, sock in enumerate(tunnels):
                sock.shutdown(socket.SHUT_WR)
                self.assertEqual(clients.read_until_closed(sock, timeout=10), f"{i + 1}\n".encode())
        finally:
            for sock in tunnels:
                sock.close()

        # At exit each worker says how many connections it took and how many it passed on.
        self.proxy.stop()
        stats = STATS_RE.findall(self.proxy.stderr_text())
        self.assertEqual(sorted(int(w) for w, _, _ in stats), [0, 1], self.proxy.stderr_text())
        self.assertEqual(sum(int(accepted) for _, accepted, _ in stats), TUNNELS)
        for _, accepted, handed in stats:
            self.assertLessEqual(int(handed), int(accepted))
