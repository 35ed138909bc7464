"""Out of file descriptors (RLIMIT_NOFILE 64), fqdngate pauses accepting instead of spinning,
keeps its established tunnels working, and serves new clients once descriptors are free again."""

import select
import socket
import time
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import TcpCountOrigin
from harness.waiting import wait_until

HOST = "files.example.com"
CLIENTS = 60  # each tunnel needs two proxy descriptors: far beyond 64


class DescriptorExhaustion(ProxyTestCase):
    proxy_args = ("--threads", "1")
    max_open_files = 64

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(TcpCountOrigin())

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{cls.origin.port}]
    private: true
    tls: optional
dns:
  hosts:
    {HOST}: 127.0.0.1
limits:
  client_hello_timeout_s: 120
"""

    def test_exhaustion_pauses_accepting_keeps_tunnels_and_recovers(self):
        target = f"{HOST}:{self.origin.port}"
        request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
        socks = []
        try:
            for _ in range(CLIENTS):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.sendall(request)
                socks.append(s)
            # Collect the answers that come within 3 s; the rest wait in the listen backlog.
            established = []
            pending = list(socks)
            deadline = time.monotonic() + 3
            for _ in range(CLIENTS):
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    break
                ready, _, _ = select.select(pending, [], [], remaining)
                for s in ready:
                    pending.remove(s)
                    answer = clients.read_answer(s, timeout=5)
                    if answer.head == clients.CONNECTION_ESTABLISHED:
                        established.append(s)
                    else:
                        self.assertGreaterEqual(answer.status, 500, answer.head)
            self.assertGreater(len(established), 0)
            self.assertLess(len(established), CLIENTS)
            self.assertLessEqual(self.proxy.open_files(), self.max_open_files)

            # Exhausted with clients still queued: the proxy must not spin on accept.
            cpu_before = self.proxy.cpu_seconds()
            window_start = time.monotonic()
            time.sleep(1.5)  # measuring a window of CPU use, not waiting for an event
            window = time.monotonic() - window_start
            self.assertLess(self.proxy.cpu_seconds() - cpu_before, 0.3 * window)

            # An established tunnel still carries data both ways.
            tunnel = established[0]
            tunnel.settimeout(10)
            tunnel.sendall(b"still here")
            tunnel.shutdown(socket.SHUT_WR)
            self.assertEqual(clients.read_until_closed(tunnel), b"10\n")
        finally:
            for s in socks:
                s.close()

        # Descriptors come back: a new client is served again.
        self.assertTrue(wait_until(lambda: self.proxy.open_files() < 32, timeout=15))
        sock, answer = clients.connect(self.port, target)
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.sendall(b"ok")
            sock.shutdown(socket.SHUT_WR)
            self.assertEqual(clients.read_until_closed(sock), b"2\n")
        self.assertIn("accept:", self.proxy.stderr_text())


if __name__ == "__main__":
    unittest.main()
