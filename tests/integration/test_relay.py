"""The relay after the 200: half-close travels both ways, and bulk data arrives byte for byte."""

import os
import socket
import time
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import TcpCountOrigin, TLSEchoOrigin, echo_message
from harness.tls_stream import connect_tls
from harness.waiting import wait_until

PLAIN_HOST = "files.example.com"  # tls: optional, to a plain TCP origin
TLS_HOST = "pypi.org"
MIB = 1 << 20


class Relay(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.counter = cls.start_origin(TcpCountOrigin())
        cls.echo = cls.start_origin(TLSEchoOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {PLAIN_HOST}
    ports: [{cls.counter.port}]
    private: true
    tls: optional
  - host: {TLS_HOST}
    ports: [{cls.echo.port}]
    private: true
dns:
  hosts:
    {PLAIN_HOST}: 127.0.0.1
    {TLS_HOST}: 127.0.0.1
"""

    def test_half_close_propagates_both_ways(self):
        since = self.proxy.audit_mark()
        payload = os.urandom(200_000)
        before = self.counter.bytes_received
        sock, answer = clients.connect(self.port, f"{PLAIN_HOST}:{self.counter.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(payload)
            # The origin answers only after it saw EOF: our FIN must travel upstream while the
            # downstream direction stays open for its reply, and its close must come back.
            sock.shutdown(socket.SHUT_WR)
            reply = answer.rest + clients.read_until_closed(sock, timeout=15)
        self.assertEqual(reply, f"{len(payload)}\n".encode())
        self.assertEqual(self.counter.bytes_received - before, len(payload))
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertEqual(close["bytes_up"], len(payload))
        self.assertEqual(close["bytes_down"], len(reply))
        self.assertEqual(close["upstream"], f"127.0.0.1:{self.counter.port}")

    def test_one_mib_each_way_over_tls_byte_for_byte(self):
        since = self.proxy.audit_mark()
        before = self.echo.bytes_received
        sock, answer = clients.connect(self.port, f"{TLS_HOST}:{self.echo.port}", timeout=30)
        self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
        client = "%s:%d" % sock.getsockname()[:2]
        stream = connect_tls(sock, self.pki.client_context(), TLS_HOST, timeout=30)
        try:
            for _ in range(2):
                payload = os.urandom(MIB)
                stream.sendall(echo_message(payload))
                echoed = stream.recv_exactly(MIB)
                self.assertEqual(len(echoed), MIB)
                self.assertTrue(echoed == payload, "echoed bytes differ from the ones sent")
        finally:
            stream.close()
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertGreater(close["bytes_up"], 2 * MIB)
        self.assertGreater(close["bytes_down"], 2 * MIB)
        expected = before + close["bytes_up"]
        self.assertTrue(wait_until(lambda: self.echo.bytes_received >= expected))
        self.assertEqual(self.echo.bytes_received, expected)


class BufferedRelay(Relay):
    """The same tests with splice turned off: the copy-through-buffers fallback must be just as
    exact (it is also what runs when no pipe can be made)."""

    @classmethod
    def policy(cls):
        return Relay.policy.__func__(cls) + "relay:\n  splice: false\n"


class IdleTimeout(ProxyTestCase):
    """limits.idle_timeout_s ends a silent tunnel, and traffic in either direction keeps it open."""

    @classmethod
    def start_servers(cls):
        cls.counter = cls.start_origin(TcpCountOrigin())

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {PLAIN_HOST}
    ports: [{cls.counter.port}]
    private: true
    tls: optional
dns:
  hosts:
    {PLAIN_HOST}: 127.0.0.1
limits:
  idle_timeout_s: 1
"""

    def test_silent_tunnel_is_closed_after_the_idle_timeout(self):
        since = self.proxy.audit_mark()
        sock, answer = clients.connect(self.port, f"{PLAIN_HOST}:{self.counter.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(b"hello")
            started = time.monotonic()
            rest = clients.read_until_closed(sock, timeout=10)
            elapsed = time.monotonic() - started
        self.assertEqual(answer.rest + rest, b"")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "idle_timeout"))
        self.assertEqual(close["bytes_up"], 5)

    def test_traffic_keeps_a_tunnel_open_past_the_idle_timeout(self):
        since = self.proxy.audit_mark()
        sock, answer = clients.connect(self.port, f"{PLAIN_HOST}:{self.counter.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = "%s:%d" % sock.getsockname()[:2]
            # One byte every 0.3 s for 2.4 s: never 1 s of silence, so the tunnel must survive.
            for _ in range(8):
                sock.sendall(b"x")
                time.sleep(0.3)
            sock.shutdown(socket.SHUT_WR)
            reply = answer.rest + clients.read_until_closed(sock, timeout=10)
        self.assertEqual(reply, b"8\n")
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["reason"], close["bytes_up"]), ("closed", 8))


if __name__ == "__main__":
    unittest.main()
