"""TLS listeners (listen: entries with tls:): clients reach the proxy over TLS with an https://
proxy URL, tunnels through them behave like plain ones, and with client_ca the client
certificate's CN is the identity while clients without a trusted certificate get no tunnel."""

import json
import os
import re
import socket
import ssl
import subprocess
import time
import unittest

from harness import clients, credentials, env, pki
from harness.proxy_process import write_policy
from harness.tls_origin import HttpOrigin, TcpCountOrigin
from harness.tls_proxy import (
    ListenerTestCase,
    ProxyTLSStream,
    client_certificate,
    client_context,
    connect_over_tls,
    httpx_through_tls_proxy,
    refused_handshake,
)
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

HOST = "api.prefect.cloud"
OTHER_ALLOWED = "app.prefect.cloud"
PLAIN_HOST = "files.example.com"  # tls: optional, to a plain TCP origin
MIB = 1 << 20
TLS_ALERT = 0x15
BOB_PASSWORD = "bob's password"
CHALLENGE = 'Basic realm="fqdngate", charset="UTF-8"'


class TlsListenerCase(ListenerTestCase):
    """Helpers for tunnels through the listeners of one proxy."""

    def url(self, path):
        return f"https://{HOST}:{self.origin.port}{path}"

    def target(self):
        return f"{HOST}:{self.origin.port}"

    def curl_health(self, proxy_url, *args):
        result = clients.curl(
            ["--proxy", proxy_url, *args, "--cacert", self.pki.ca_cert, self.url("/api/health")]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        payload = json.loads(result.stdout)
        self.assertIs(payload["healthy"], True)
        self.assertEqual(payload["host"], self.target())

    def stream_tunnel(self, port, ctx, target):
        """CONNECT through a TLS listener on a ProxyTLSStream, whose close_notify can be sent
        while reading goes on: (socket, stream, client "ip:port", bytes after the 200). The
        caller closes the socket."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=clients.IO_TIMEOUT)
        client = "%s:%d" % sock.getsockname()[:2]
        stream = ProxyTLSStream(ctx, server_side=False, server_hostname="127.0.0.1")
        stream.attach(sock)
        try:
            stream.handshake()
            stream.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            head, rest = stream.read_head()
            self.assertEqual(head, clients.CONNECTION_ESTABLISHED)
        except BaseException:
            sock.close()
            raise
        return sock, stream, client, rest

    def assertOriginConnected(self):
        """The proxy connects upstream before its 200: after a tunnel that carried nothing, wait
        until the origin counted that connection, so it is not taken for one of the next test's."""
        self.assertTrue(wait_until(lambda: self.origin.connections > self.connections_before))

    def assertTunnelAudited(self, user, min_bytes=1):
        """Connect and TLS decisions allowed, one close line, the origin got exactly bytes_up."""
        connect = self.proxy.wait_for(since=self.since, event="decision", stage="connect")
        self.assertIdentifiedRecord(connect, user)
        self.assertEqual((connect["decision"], connect["host"]), ("allow", HOST))
        self.assertEqual(connect["port"], self.origin.port)
        tls = self.proxy.wait_for(
            since=self.since, event="decision", stage="tls", conn=connect["conn"]
        )
        self.assertIdentifiedRecord(tls, user)
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", HOST))
        close = self.closeRecordOf(self.since, user, conn=connect["conn"])
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertEqual(close["upstream"], f"127.0.0.1:{self.origin.port}")
        self.assertGreaterEqual(close["bytes_up"], min_bytes)
        self.assertGreaterEqual(close["bytes_down"], min_bytes)
        expected = self.bytes_before + close["bytes_up"]
        self.assertTrue(wait_until(lambda: self.origin.bytes_received >= expected))
        self.assertEqual(self.origin.bytes_received, expected)
        return close


class TlsListeners(TlsListenerCase):
    # Plain, TLS, and TLS with client certificates, in that order.
    listener_count = 3

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.counter = cls.start_origin(TcpCountOrigin())
        cls.alice = client_certificate(cls.pki, "alice")
        cls.stranger = client_certificate(cls.pki, "stranger", other_ca=True)

    @classmethod
    def policy(cls):
        pki = cls.pki
        return f"""\
listen:
  - 127.0.0.1:0
  - address: 127.0.0.1:0
    tls:
      cert: {pki.server_cert}
      key: {pki.server_key}
  - address: 127.0.0.1:0
    tls:
      cert: {pki.server_cert}
      key: {pki.server_key}
      client_ca: {pki.ca_cert}
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{cls.origin.port}]
    private: true
  - host: {OTHER_ALLOWED}
    ports: [{cls.origin.port}]
    private: true
  - host: {PLAIN_HOST}
    ports: [{cls.counter.port}]
    private: true
    tls: optional
dns:
  hosts:
    {HOST}: 127.0.0.1
    {OTHER_ALLOWED}: 127.0.0.1
    {PLAIN_HOST}: 127.0.0.1
"""

    def setUp(self):
        self.since = self.proxy.audit_mark()
        self.bytes_before = self.origin.bytes_received
        self.connections_before = self.origin.connections
        (self.plain_port, _), (self.tls_port, _), (self.mtls_port, _) = self.proxy.listeners

    def assertHandshakeRefused(self, client):
        decision = self.proxy.wait_for(since=self.since, event="decision", client=client)
        self.assertIdentifiedRecord(decision, None)
        self.assertEqual(
            (decision["stage"], decision["decision"], decision["reason"]),
            ("admit", "deny", "tls_handshake_failed"),
        )
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual(close["reason"], "tls_handshake_failed")
        self.assertIsNone(close["host"])
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertEqual(self.origin.connections, self.connections_before)
        self.assertEqual(self.origin.bytes_received, self.bytes_before)

    def test_one_start_up_line_per_listener_in_listen_order(self):
        self.assertEqual([tls for _, tls in self.proxy.listeners], [False, True, True])
        self.assertEqual(len({port for port, _ in self.proxy.listeners}), 3)
        lines = [
            line for line in self.proxy.stderr_text().splitlines() if "listening on" in line
        ]
        self.assertEqual(len(lines), 3, lines)

    def test_curl_https_proxy_url(self):
        self.curl_health(
            f"https://127.0.0.1:{self.tls_port}", "--proxy-cacert", self.pki.ca_cert
        )
        self.assertTunnelAudited(None)

    def test_curl_refuses_proxy_certificate_it_does_not_trust(self):
        # The client really verifies the proxy: without --proxy-cacert the test CA is unknown.
        result = clients.curl(
            ["--proxy", f"https://127.0.0.1:{self.tls_port}", "--cacert", self.pki.ca_cert,
             self.url("/api/health")]
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(self.origin.connections, self.connections_before)

    def test_httpx_one_mib_post_echoed_byte_for_byte(self):
        payload = os.urandom(MIB)
        response = httpx_through_tls_proxy(
            self.pki,
            f"https://127.0.0.1:{self.tls_port}",
            "POST",
            self.url("/echo"),
            content=payload,
            headers={"Content-Type": "application/octet-stream"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.content), MIB)
        self.assertTrue(response.content == payload, "echoed body differs from the upload")
        self.assertTunnelAudited(None, min_bytes=MIB)

    def test_raw_connect_answer_over_tls_is_exactly_connection_established(self):
        sock, client, answer = connect_over_tls(
            self.tls_port, client_context(self.pki), self.target()
        )
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            self.assertEqual(answer.rest, b"")
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual(close["status"], 200)
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertOriginConnected()

    def test_sni_mismatch_is_refused_through_tls_listener(self):
        ctx = self.pki.client_context()
        hello = TLSStream(ctx, server_side=False, server_hostname=OTHER_ALLOWED).first_flight()
        sock, client, answer = connect_over_tls(
            self.tls_port, client_context(self.pki), self.target()
        )
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.sendall(hello)
            reply = answer.rest + read_until_closed_tls(sock)
        self.assertGreaterEqual(len(reply), 7, reply)
        self.assertEqual(reply[0], TLS_ALERT, reply)
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "sni_mismatch"))
        tls = self.proxy.wait_for(
            since=self.since, event="decision", stage="tls", conn=close["conn"]
        )
        self.assertEqual((tls["decision"], tls["sni"]), ("deny", OTHER_ALLOWED))
        self.assertEqual(self.origin.bytes_received, self.bytes_before)
        self.assertOriginConnected()

    def test_half_close_propagates_both_ways_through_tls_listener(self):
        payload = os.urandom(200_000)
        before = self.counter.bytes_received
        sock, stream, client, rest = self.stream_tunnel(
            self.tls_port, client_context(self.pki), f"{PLAIN_HOST}:{self.counter.port}"
        )
        try:
            stream.sendall(payload)
            # The origin answers only after its EOF: our close_notify must become a FIN upstream
            # while the way back stays open, and the origin's close must come back.
            stream.shutdown_send()
            reply = rest + stream.read_until_closed(timeout=15)
        finally:
            sock.close()
        self.assertEqual(reply, f"{len(payload)}\n".encode())
        self.assertEqual(self.counter.bytes_received - before, len(payload))
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertEqual(close["bytes_up"], len(payload))
        self.assertEqual(close["bytes_down"], len(reply))

    def test_client_certificate_cn_is_the_identity_curl(self):
        crt, key = self.alice
        self.curl_health(
            f"https://127.0.0.1:{self.mtls_port}",
            "--proxy-cacert", self.pki.ca_cert,
            "--proxy-cert", crt,
            "--proxy-key", key,
        )
        self.assertTunnelAudited("alice")

    def test_client_certificate_cn_is_the_identity_raw_connect(self):
        ctx = client_context(self.pki, *self.alice)
        sock, client, answer = connect_over_tls(self.mtls_port, ctx, self.target())
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
        connect = self.proxy.wait_for(
            since=self.since, event="decision", stage="connect", client=client
        )
        self.assertIdentifiedRecord(connect, "alice")
        self.assertEqual(connect["decision"], "allow")
        close = self.closeRecordOf(self.since, "alice", client=client)
        self.assertEqual(close["status"], 200)
        self.assertOriginConnected()

    def test_client_without_certificate_gets_no_tunnel(self):
        client, _ = refused_handshake(self.mtls_port, client_context(self.pki), self.target())
        self.assertHandshakeRefused(client)

    def test_certificate_from_another_ca_gets_no_tunnel(self):
        ctx = client_context(self.pki, *self.stranger)
        client, _ = refused_handshake(self.mtls_port, ctx, self.target())
        self.assertHandshakeRefused(client)

    def test_curl_without_client_certificate_fails(self):
        result = clients.curl(
            ["--proxy", f"https://127.0.0.1:{self.mtls_port}", "--proxy-cacert", self.pki.ca_cert,
             "--cacert", self.pki.ca_cert, self.url("/api/health")]
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(self.origin.connections, self.connections_before)
        decision = self.proxy.wait_for(
            since=self.since, event="decision", reason="tls_handshake_failed"
        )
        self.assertEqual((decision["stage"], decision["decision"]), ("admit", "deny"))

    def test_plain_listener_in_the_same_process_still_works(self):
        self.curl_health(f"http://127.0.0.1:{self.plain_port}")
        self.assertTunnelAudited(None)

    def test_refused_handshakes_leave_other_clients_served(self):
        refused_handshake(self.mtls_port, client_context(self.pki), self.target())
        refused_handshake(self.mtls_port, client_context(self.pki, *self.stranger), self.target())
        self.setUp()
        self.curl_health(
            f"https://127.0.0.1:{self.mtls_port}",
            "--proxy-cacert", self.pki.ca_cert,
            "--proxy-cert", self.alice[0],
            "--proxy-key", self.alice[1],
        )
        self.assertTunnelAudited("alice")


class TlsListenersWithAuth(TlsListenerCase):
    """auth: on a TLS listener asks for Basic credentials; a client_ca listener takes the
    certificate as the identity and asks for nothing more."""

    listener_count = 2

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.alice = client_certificate(cls.pki, "alice")
        cls.passwd_path = credentials.make_file(cls.__name__, {"bob": BOB_PASSWORD})

    @classmethod
    def policy(cls):
        pki = cls.pki
        return f"""\
listen:
  - address: 127.0.0.1:0
    tls:
      cert: {pki.server_cert}
      key: {pki.server_key}
  - address: 127.0.0.1:0
    tls:
      cert: {pki.server_cert}
      key: {pki.server_key}
      client_ca: {pki.ca_cert}
auth:
  credentials: {cls.passwd_path}
prefect:
  cloud: false
allow:
  - host: {HOST}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {HOST}: 127.0.0.1
"""

    def setUp(self):
        self.since = self.proxy.audit_mark()
        self.bytes_before = self.origin.bytes_received
        self.connections_before = self.origin.connections
        (self.tls_port, _), (self.mtls_port, _) = self.proxy.listeners

    def test_tls_listener_without_credentials_is_407(self):
        sock, client, answer = connect_over_tls(
            self.tls_port, client_context(self.pki), self.target()
        )
        sock.close()
        self.assertErrorAnswer(answer, "auth_required")
        self.assertEqual(answer.header("Proxy-Authenticate"), CHALLENGE, answer.head)
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["status"], close["reason"]), (407, "auth_required"))
        self.assertEqual(self.origin.connections, self.connections_before)

    def test_curl_proxy_user_over_tls_listener(self):
        self.curl_health(
            f"https://127.0.0.1:{self.tls_port}",
            "--proxy-cacert", self.pki.ca_cert,
            "--proxy-user", f"bob:{BOB_PASSWORD}",
        )
        self.assertTunnelAudited("bob")

    def test_client_certificate_needs_no_proxy_authorization(self):
        crt, key = self.alice
        self.curl_health(
            f"https://127.0.0.1:{self.mtls_port}",
            "--proxy-cacert", self.pki.ca_cert,
            "--proxy-cert", crt,
            "--proxy-key", key,
        )
        self.assertTunnelAudited("alice")


def read_until_closed_tls(sock, timeout=clients.IO_TIMEOUT):
    """Like clients.read_until_closed over a TLS socket: also ends when the proxy closes the
    TCP connection without a close_notify."""
    try:
        return clients.read_until_closed(sock, timeout)
    except ssl.SSLError:
        return b""


class TlsListenerIdleTimeout(TlsListenerCase):
    """limits.idle_timeout_s ends a silent tunnel through a TLS listener too, and traffic keeps
    it open: the TLS relay is driven by the same deadline as the plain one."""

    listener_count = 1

    @classmethod
    def start_servers(cls):
        cls.counter = cls.start_origin(TcpCountOrigin())

    @classmethod
    def policy(cls):
        return f"""\
listen:
  - address: 127.0.0.1:0
    tls:
      cert: {cls.pki.server_cert}
      key: {cls.pki.server_key}
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

    def setUp(self):
        self.since = self.proxy.audit_mark()
        # The proxy ends an idle tunnel by closing the socket, without a close_notify.
        self.ctx = client_context(self.pki)
        self.ctx.options |= ssl.OP_IGNORE_UNEXPECTED_EOF

    def test_silent_tunnel_is_closed_after_the_idle_timeout(self):
        sock, client, answer = connect_over_tls(self.port, self.ctx, f"{PLAIN_HOST}:{self.counter.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.sendall(b"hello")
            started = time.monotonic()
            rest = clients.read_until_closed(sock, timeout=10)
            elapsed = time.monotonic() - started
        self.assertEqual(answer.rest + rest, b"")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "idle_timeout"))
        self.assertEqual(close["bytes_up"], 5)

    def test_traffic_keeps_a_tunnel_open_past_the_idle_timeout(self):
        sock, stream, client, rest = self.stream_tunnel(
            self.port, self.ctx, f"{PLAIN_HOST}:{self.counter.port}"
        )
        try:
            # One byte every 0.3 s for 2.4 s: never 1 s of silence, so the tunnel must survive.
            for _ in range(8):
                stream.sendall(b"x")
                time.sleep(0.3)
            stream.shutdown_send()  # close_notify: the origin answers after its EOF
            reply = rest + stream.read_until_closed(timeout=15)
        finally:
            sock.close()
        self.assertEqual(reply, b"8\n")
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["reason"], close["bytes_up"]), ("closed", 8))


class CheckTlsListener(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = pki.get()

    def run_check(self, text, stem):
        path = write_policy(text, stem)
        result = subprocess.run(
            [env.binary(), "check", "--config", path],
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        return path, result

    @staticmethod
    def listener(cert, key, extra=""):
        return f"""\
listen:
  - address: 127.0.0.1:0
    tls:
      cert: {cert}
      key: {key}
{extra}allow:
  - files.example.com
"""

    def test_relative_paths_are_relative_to_the_policy_directory(self):
        pki = self.pki
        scratch = env.scratch_dir()
        self.assertEqual(os.path.dirname(os.path.dirname(pki.server_cert)), scratch)
        rel = os.path.relpath
        text = self.listener(rel(pki.server_cert, scratch), rel(pki.server_key, scratch))
        text = text.replace("allow:\n", f"      client_ca: {rel(pki.ca_cert, scratch)}\nallow:\n")
        _, result = self.run_check(text, "tls-relative")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_missing_certificate_is_an_error_naming_the_listener(self):
        missing = os.path.join(env.scratch_dir(), f"no-such-{os.getpid()}.crt")
        text = self.listener(missing, missing.replace(".crt", ".key"))
        path, result = self.run_check(text, "tls-missing-cert")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, re.escape(f"{path}:") + r"\d+:\d+: ")
        self.assertIn(missing, result.stderr)

    def test_key_not_matching_certificate_is_an_error(self):
        pki = self.pki
        # The CA's key does not belong to the server certificate.
        text = self.listener(pki.server_cert, pki.ca_cert.replace("ca.crt", "ca.key"))
        path, result = self.run_check(text, "tls-wrong-key")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, re.escape(f"{path}:") + r"\d+:\d+: ")


if __name__ == "__main__":
    unittest.main()
