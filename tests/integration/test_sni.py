"""The ClientHello after the 200: its SNI must name the CONNECT host, and nothing may reach the
origin before that is checked. Fragmented or early ClientHellos must still work."""

import json
import random
import socket
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

HOST = "api.prefect.cloud"
OTHER_ALLOWED = "app.prefect.cloud"
TLS_ALERT = 0x15


class ClientHelloChecks(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        return f"""\
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{port}]
    private: true
  - host: {OTHER_ALLOWED}
    ports: [{port}]
    private: true
dns:
  hosts:
    {HOST}: 127.0.0.1
    {OTHER_ALLOWED}: 127.0.0.1
"""

    def setUp(self):
        self.bytes_before = self.origin.bytes_received
        self.since = self.proxy.audit_mark()

    def client_stream(self, server_hostname):
        ctx = self.pki.client_context()
        if server_hostname is None:
            ctx.check_hostname = False  # the only way to make Python omit the SNI extension
        return TLSStream(ctx, server_side=False, server_hostname=server_hostname)

    def target(self):
        return f"{HOST}:{self.origin.port}"

    def refused_hello(self, first_bytes):
        """CONNECT, read the 200, send first_bytes; returns (bytes the proxy sent back before
        closing, the close record)."""
        sock, answer = clients.connect(self.port, self.target())
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(first_bytes)
            reply = answer.rest + clients.read_until_closed(sock)
        close = self.closeRecord(self.since, client=client)
        self.assertEqual(close["status"], 200)
        self.assertEqual(close["bytes_up"], 0)
        self.assertEqual(close["bytes_down"], 0)
        return reply, close

    def assertNothingForwarded(self):
        self.assertEqual(self.origin.bytes_received, self.bytes_before)

    def assertTlsDenied(self, close, reason, sni):
        decision = self.proxy.wait_for(
            since=self.since, event="decision", stage="tls", conn=close["conn"]
        )
        self.assertEqual(decision["decision"], "deny")
        self.assertEqual(decision["reason"], reason)
        self.assertEqual(decision["sni"], sni)
        self.assertEqual(decision["host"], HOST)
        self.assertEqual(close["reason"], reason)

    def get_health(self, stream):
        request = f"GET /api/health HTTP/1.1\r\nHost: {self.target()}\r\nConnection: close\r\n\r\n"
        stream.sendall(request.encode())
        response = b""
        for _ in range(1000):
            chunk = stream.recv()
            if not chunk:
                break
            response += chunk
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertIs(json.loads(body)["healthy"], True)

    def assertTunnelAllowed(self, since, **close_fields):
        """The tunnel ended normally after an allowed ClientHello, and the origin received
        exactly the bytes the proxy counted upstream (also: all of them, before the next test)."""
        close = self.closeRecord(since, **close_fields)
        self.assertEqual(close["reason"], "closed", close)
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=close["conn"])
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", HOST))
        expected = self.bytes_before + close["bytes_up"]
        self.assertTrue(wait_until(lambda: self.origin.bytes_received >= expected))
        self.assertEqual(self.origin.bytes_received, expected)

    def test_sni_naming_another_allowed_host_is_refused(self):
        hello = self.client_stream(OTHER_ALLOWED).first_flight()
        reply, close = self.refused_hello(hello)
        self.assertGreaterEqual(len(reply), 7, reply)
        self.assertEqual(reply[0], TLS_ALERT, reply)
        self.assertTlsDenied(close, "sni_mismatch", OTHER_ALLOWED)
        self.assertNothingForwarded()

    def test_client_hello_without_sni_is_refused(self):
        hello = self.client_stream(None).first_flight()
        reply, close = self.refused_hello(hello)
        self.assertGreaterEqual(len(reply), 7, reply)
        self.assertEqual(reply[0], TLS_ALERT, reply)
        self.assertTlsDenied(close, "no_sni", None)
        self.assertNothingForwarded()

    def test_plain_http_inside_tunnel_is_not_tls(self):
        reply, close = self.refused_hello(b"GET / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n\r\n")
        self.assertNotIn(b"HTTP/1.1", reply)
        self.assertTlsDenied(close, "not_tls", None)
        self.assertNothingForwarded()

    def test_client_hello_in_tiny_segments_is_reassembled(self):
        stream = self.client_stream(HOST)
        hello = stream.first_flight()
        sock, answer = clients.connect(self.port, self.target())
        client = "%s:%d" % sock.getsockname()[:2]
        try:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sizes = random.Random(7)
            pos = 0
            for _ in range(len(hello)):
                if pos >= len(hello):
                    break
                step = sizes.randint(1, 10)
                sock.sendall(hello[pos : pos + step])
                pos += step
            stream.attach(sock)
            stream.feed(answer.rest)
            stream.handshake()
            self.get_health(stream)
        finally:
            stream.close()
        self.assertTunnelAllowed(self.since, client=client)

    def test_client_hello_sent_with_connect_head_before_reading_200(self):
        stream = self.client_stream(HOST)
        hello = stream.first_flight()
        sock = clients.open_connect(self.port, self.target(), extra=hello)
        client = "%s:%d" % sock.getsockname()[:2]
        try:
            answer = clients.read_answer(sock)
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            stream.attach(sock)
            stream.feed(answer.rest)  # the ServerHello may follow the 200 in the same read
            stream.handshake()
            self.get_health(stream)
        finally:
            stream.close()
        self.assertTunnelAllowed(self.since, client=client)

    def test_refused_hello_leaves_normal_clients_served(self):
        self.refused_hello(self.client_stream(OTHER_ALLOWED).first_flight())
        since = self.proxy.audit_mark()
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{HOST}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)
        self.assertTunnelAllowed(since, host=HOST)

if __name__ == "__main__":
    unittest.main()
