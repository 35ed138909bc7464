"""limits.max_connections and limits.max_connections_per_client: over a cap a client gets 503
too_many_connections at once, other clients keep being served, and a closed tunnel frees its slot.
Clients are told apart by source address (127.0.0.3, .4, .5 on loopback)."""

import socket
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import TcpCountOrigin

HOST = "files.example.com"


class ConnectionLimits(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(TcpCountOrigin())

    @classmethod
    def policy(cls):
        return f"""\
clients:
  allow: ["127.0.0.0/8"]
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
  max_connections: 4
  max_connections_per_client: 2
"""

    def connect_from(self, source):
        sock = socket.socket()
        sock.settimeout(clients.IO_TIMEOUT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", self.port))
        target = f"{HOST}:{self.origin.port}"
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return sock, clients.read_answer(sock)

    def open_tunnel(self, source):
        sock, answer = self.connect_from(source)
        self.addCleanup(sock.close)
        self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
        return sock

    def refused(self, source, since, detail):
        sock, answer = self.connect_from(source)
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
        self.assertErrorAnswer(answer, "too_many_connections")
        self.assertIn(detail, answer.body.decode())
        close = self.proxy.wait_for(since=since, event="close", client=client)
        self.assertEqual((close["status"], close["reason"]), (503, "too_many_connections"))

    def test_caps_per_client_and_in_total(self):
        since = self.proxy.audit_mark()
        first = self.open_tunnel("127.0.0.3")
        self.open_tunnel("127.0.0.3")
        self.refused("127.0.0.3", since, "max_connections_per_client (2) reached for 127.0.0.3")

        # Another client is still served up to the total cap.
        self.open_tunnel("127.0.0.4")
        self.open_tunnel("127.0.0.4")
        self.refused("127.0.0.5", since, "max_connections (4) reached")

        # Closing a tunnel gives its slot back (once its close line is written).
        client = "%s:%d" % first.getsockname()[:2]
        first.sendall(b"x")
        first.shutdown(socket.SHUT_WR)
        self.assertEqual(clients.read_until_closed(first), b"1\n")
        self.proxy.wait_for(since=since, event="close", client=client)
        again = self.open_tunnel("127.0.0.3")
        again.sendall(b"ping")
        again.shutdown(socket.SHUT_WR)
        self.assertEqual(clients.read_until_closed(again), b"4\n")


if __name__ == "__main__":
    unittest.main()
