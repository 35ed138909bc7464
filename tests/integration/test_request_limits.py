"""Request-head limits: a whole-head deadline (not reset by a trickle), a size cap, malformed
heads; slow or hostile clients never hold up others."""

import json
import select
import socket
import subprocess
import time
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin

HOST = "api.prefect.cloud"
MAX_HEADER_BYTES = 4096
TRICKLE_INTERVAL = 0.2


class RequestLimits(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {HOST}: 127.0.0.1
limits:
  header_timeout_s: 1
  max_header_bytes: {MAX_HEADER_BYTES}
"""

    def curl_health(self):
        proc = subprocess.Popen(
            ["curl", "--silent", "--show-error", "--max-time", "10", "-x", self.proxy.proxy_url,
             "--cacert", self.pki.ca_cert, f"https://{HOST}:{self.origin.port}/api/health"],
            env=clients.clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(_reap, proc)
        return proc

    def test_slowloris_gets_408_on_time_while_others_are_served(self):
        since = self.proxy.audit_mark()
        head = f"CONNECT {HOST}:{self.origin.port} HTTP/1.1\r\nHost: {HOST}\r\n"
        head += "X-Slow: " + "z" * 40 + "\r\n\r\n"  # ~16 s at one byte per 200 ms
        started = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        client = "%s:%d" % sock.getsockname()[:2]
        curl = None
        curl_done_at = None
        answered_at = None
        with sock:
            for i, byte in enumerate(head.encode()):
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    answered_at = time.monotonic()
                    break
                if i == 2:
                    curl = self.curl_health()  # a normal client while the slow one is pending
                if curl is not None and curl_done_at is None and curl.poll() is not None:
                    curl_done_at = time.monotonic()
                # Paces the trickle; returns early as soon as the proxy answers.
                readable, _, _ = select.select([sock], [], [], TRICKLE_INTERVAL)
                if readable:
                    answered_at = time.monotonic()
                    break
            self.assertIsNotNone(answered_at, "the whole head was sent without an answer")
            answer = clients.read_answer(sock)
        elapsed = answered_at - started
        self.assertErrorAnswer(answer, "header_timeout")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 2.5)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (408, "header_timeout"))

        out, err = curl.communicate(timeout=15)
        self.assertEqual(curl.returncode, 0, err)
        self.assertIs(json.loads(out)["healthy"], True)
        self.assertIsNotNone(curl_done_at, "the normal client was not served while one was slow")
        self.assertLess(curl_done_at, answered_at)

    def test_head_over_max_header_bytes_is_431(self):
        since = self.proxy.audit_mark()
        # Unterminated, a little over the cap: the proxy can read all of it before answering,
        # so its close cannot turn into a reset that eats the answer.
        head = f"CONNECT {HOST}:{self.origin.port} HTTP/1.1\r\nX-Pad: ".encode()
        head += b"p" * (MAX_HEADER_BYTES + 512 - len(head))
        connections = self.origin.connections
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(head)
            answer = clients.read_answer(sock)
        self.assertErrorAnswer(answer, "header_too_large")
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (431, "header_too_large"))
        self.assertEqual(self.origin.connections, connections)

    def test_malformed_heads_are_400_bad_request(self):
        port = self.origin.port
        for head in (
            f"CONNECT {HOST}:{port}\r\n\r\n".encode(),  # no HTTP version
            f"CONNECT {HOST}:https HTTP/1.1\r\n\r\n".encode(),  # port is not a number
            b"\x00\x01\x02\x03 \x04 \x05\r\n\r\n",
            # Request smuggling shapes: ambiguous framing or identity on a CONNECT.
            f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: {HOST}\r\nHost: evil.example\r\n\r\n".encode(),
            f"CONNECT {HOST}:{port} HTTP/1.1\r\nContent-Length: 5\r\n\r\n".encode(),
            f"CONNECT {HOST}:{port} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode(),
            f"CONNECT {HOST}:{port} HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n".encode(),
            f"CONNECT {HOST}:{port} HTTP/1.1\nHost: {HOST}\n\n".encode(),  # bare LF
            f"CONNECT user@{HOST}:{port} HTTP/1.1\r\n\r\n".encode(),
            f"CONNECT api%2eprefect.cloud:{port} HTTP/1.1\r\n\r\n".encode(),
            f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: other.example\r\n\r\n".encode(),
        ):
            with self.subTest(head=head):
                since = self.proxy.audit_mark()
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                    client = "%s:%d" % sock.getsockname()[:2]
                    sock.sendall(head)
                    answer = clients.read_answer(sock)
                self.assertErrorAnswer(answer, "bad_request")
                close = self.closeRecord(since, client=client)
                self.assertEqual((close["status"], close["reason"]), (400, "bad_request"))
        curl = self.curl_health()
        out, err = curl.communicate(timeout=15)
        self.assertEqual(curl.returncode, 0, err)
        self.assertIs(json.loads(out)["healthy"], True)


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


if __name__ == "__main__":
    unittest.main()
