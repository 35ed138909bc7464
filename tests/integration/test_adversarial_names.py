"""Names built to confuse the allowlist: wildcard look-alikes, case and trailing-dot variants,
deny-over-allow, IPv6 and IPv4-mapped literals, and CONNECT targets no client should send.

Every name maps to a loopback origin through dns.hosts (rules say private: true), so a wrong
"allow" would reach it: each refusal also proves the origin saw no connection at all.
"""

import json
import socket
import ssl
import threading
import unittest

from harness import clients
from harness.base import ERROR_STATUS, ProxyTestCase
from harness.tls_origin import HttpOrigin
from harness.tls_stream import TLSStream

NORMAL = "api.prefect.cloud"  # allowed, and named in the test certificate: curl verifies it


def health_request(host_header):
    return (
        f"GET /api/health HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n"
    ).encode()


def read_http_response(stream):
    """(head, body) of the origin's answer; the origin closes after it (Connection: close)."""
    response = b""
    for _ in range(1000):
        chunk = stream.recv()
        if not chunk:
            break
        response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    return head, body


class AdversarialCase(ProxyTestCase):
    """Refusal and tunnel checks shared by the classes below; subclasses provide self.origin."""

    def setUp(self):
        self.connections_before = self.origin.connections

    def assertOriginUntouched(self):
        self.assertEqual(self.origin.connections, self.connections_before)

    def send_head(self, head):
        """Sends a raw request head; returns (answer, client "ip:port" as audited). The proxy
        must close after a refusal: nothing may follow the body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(head)
            answer = clients.read_answer(sock)
            if answer.status != 200:
                self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        return answer, client

    def assertRefused(self, target, reason, audited_host=None, headers=()):
        """CONNECT target (raw) is refused with reason: answer, audit close line, and no origin
        connection. audited_host, if given, is the host the decision line must carry."""
        since = self.proxy.audit_mark()
        lines = [f"CONNECT {target} HTTP/1.1", *headers]
        answer, client = self.send_head(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.assertErrorAnswer(answer, reason)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (ERROR_STATUS[reason], reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertIsNone(close["upstream"])
        if audited_host is not None:
            decision = self.proxy.wait_for(
                since=since, event="decision", conn=close["conn"], stage="connect"
            )
            self.assertEqual((decision["decision"], decision["reason"]), ("deny", reason))
            self.assertEqual(decision["host"], audited_host)
            self.assertEqual(close["host"], audited_host)
        self.assertOriginUntouched()
        return answer, close

    def assertTunnelServed(self, target, sni, audited_host):
        """CONNECT target, TLS with sni (chain verified against the test CA; the test
        certificate does not name every host tried here), GET through it. Returns the close."""
        since = self.proxy.audit_mark()
        sock, answer = clients.connect(self.port, target)
        client = "%s:%d" % sock.getsockname()[:2]
        ctx = self.pki.client_context()
        ctx.check_hostname = False
        stream = TLSStream(ctx, server_side=False, server_hostname=sni)
        try:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            stream.attach(sock)
            stream.feed(answer.rest)
            stream.handshake()
            stream.sendall(health_request(target))
            head, body = read_http_response(stream)
        finally:
            stream.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertIs(json.loads(body)["healthy"], True)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertEqual(close["host"], audited_host)
        self.assertGreater(close["bytes_up"], 0)
        self.assertGreater(close["bytes_down"], 0)
        connect = self.proxy.wait_for(
            since=since, event="decision", stage="connect", conn=close["conn"]
        )
        self.assertEqual((connect["decision"], connect["host"]), ("allow", audited_host))
        return close

    def assertNormalClientServed(self):
        since = self.proxy.audit_mark()
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{NORMAL}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)
        self.assertEqual(self.closeRecord(since, host=NORMAL)["status"], 200)


class WildcardConfusion(AdversarialCase):
    """Only "*.s3.amazonaws.com" (and the normal client's name) are allowed."""

    LOOK_ALIKES = (
        "s3.amazonaws.com.evil.example",  # the allowed suffix, then the attacker's domain
        "evils3.amazonaws.com",  # suffix match without a label boundary
        "s3.amazonaws.com",  # the apex: "*." needs at least one label below it
    )

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        names = (*cls.LOOK_ALIKES, "bucket.s3.amazonaws.com", "a.b.s3.amazonaws.com", NORMAL)
        hosts = "".join(f"    {name}: 127.0.0.1\n" for name in names)
        return f"""\
prefect:
  cloud: false
allow:
  - host: "*.s3.amazonaws.com"
    ports: [{port}]
    private: true
  - host: {NORMAL}
    ports: [{port}]
    private: true
dns:
  hosts:
{hosts}"""

    def test_look_alikes_of_the_wildcard_are_not_allowlisted(self):
        for name in self.LOOK_ALIKES:
            with self.subTest(name=name):
                answer, _ = self.assertRefused(
                    f"{name}:{self.origin.port}", "not_allowlisted", audited_host=name
                )
                self.assertIn(name, answer.body.decode())
        self.assertNormalClientServed()

    def test_names_below_the_wildcard_are_tunnelled(self):
        for name in ("bucket.s3.amazonaws.com", "a.b.s3.amazonaws.com"):
            with self.subTest(name=name):
                self.assertTunnelServed(f"{name}:{self.origin.port}", name, name)
        self.assertEqual(self.origin.connections, self.connections_before + 2)

    def test_upper_case_connect_host_is_the_same_name(self):
        self.assertTunnelServed(
            f"BUCKET.S3.AMAZONAWS.COM:{self.origin.port}",
            "bucket.s3.amazonaws.com",
            "bucket.s3.amazonaws.com",
        )

    def test_trailing_dot_connect_host_is_the_same_name(self):
        self.assertTunnelServed(
            f"bucket.s3.amazonaws.com.:{self.origin.port}",
            "bucket.s3.amazonaws.com",
            "bucket.s3.amazonaws.com",
        )

    def test_upper_case_look_alike_is_still_refused(self):
        self.assertRefused(
            f"EVILS3.AMAZONAWS.COM.:{self.origin.port}",
            "not_allowlisted",
            audited_host="evils3.amazonaws.com",
        )
        self.assertNormalClientServed()

    def test_ipv6_literal_is_refused_as_ip_literal(self):
        for target, audited in (
            (f"[::1]:{self.origin.port}", "::1"),
            (f"[0:0:0:0:0:0:0:1]:{self.origin.port}", "::1"),  # same address, long form
            (f"[::ffff:127.0.0.1]:{self.origin.port}", "::ffff:127.0.0.1"),
        ):
            with self.subTest(target=target):
                self.assertRefused(target, "ip_literal", audited_host=audited)
        self.assertNormalClientServed()

    def test_malformed_targets_are_bad_request(self):
        port = self.origin.port
        for target in (
            f"bucket%2es3.amazonaws.com:{port}",  # percent-escape
            f"bucket.s3.amazonaws.com%00.evil.example:{port}",
            f"user@bucket.s3.amazonaws.com:{port}",  # userinfo
            f"bucket.s3.amazonaws.com@evil.example:{port}",
            "bucket.s3.amazonaws.com:0",
            "bucket.s3.amazonaws.com:65536",
            "bucket.s3.amazonaws.com:+443",
            f"my_bucket.s3.amazonaws.com:{port}",  # '_' is not a host-name character
            f"bucket.s3.amazonaws.com:{port}/",
            f"[::1%lo]:{port}",  # zone id
            f"::1:{port}",  # IPv6 without brackets
            f"127.1:{port}",  # numeric last label: IPv4 to other parsers, a name to the matcher
            f"0x7f000001:{port}",
            f"127.0.0.1.:{port}",
        ):
            with self.subTest(target=target):
                self.assertRefused(target, "bad_request")
        self.assertNormalClientServed()


class DenyBeatsAllow(AdversarialCase):
    """An exact allow rule for x.evil.example loses to the deny wildcard *.evil.example."""

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
  - host: x.evil.example
    ports: [{port}]
    private: true
  - host: {NORMAL}
    ports: [{port}]
    private: true
deny:
  - "*.evil.example"
dns:
  hosts:
    x.evil.example: 127.0.0.1
    {NORMAL}: 127.0.0.1
"""

    def test_deny_wildcard_beats_exact_allow(self):
        for target in (f"x.evil.example:{self.origin.port}", f"X.Evil.Example.:{self.origin.port}"):
            with self.subTest(target=target):
                since = self.proxy.audit_mark()
                answer, close = self.assertRefused(
                    target, "denylisted", audited_host="x.evil.example"
                )
                decision = self.proxy.wait_for(
                    since=since, event="decision", stage="connect", conn=close["conn"]
                )
                self.assertEqual(
                    self._source_tail(decision["rule_source"]),
                    self.policy_source('"*.evil.example"'),
                )
                self.assertIn("*.evil.example", answer.body.decode())
        self.assertNormalClientServed()


class _V6HealthOrigin:
    """HTTPS on [::1], port 0: answers one GET /api/health per connection and counts
    connections (the harness origins listen on 127.0.0.1 only)."""

    def __init__(self, pki):
        self._ctx = pki.server_context()
        self._lock = threading.Lock()
        self._connections = 0
        self._stopping = threading.Event()
        self.listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def connections(self):
        with self._lock:
            return self._connections

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _loop(self):
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._connections += 1
            sock.settimeout(10)
            try:
                self._serve(sock)
            except (OSError, ValueError):
                pass
            finally:
                sock.close()

    def _serve(self, sock):
        with self._ctx.wrap_socket(sock, server_side=True) as tls:
            request = b""
            for _ in range(64):
                if b"\r\n\r\n" in request:
                    break
                chunk = tls.recv(4096)
                if not chunk:
                    return
                request += chunk
            body = json.dumps({"healthy": True, "origin": "v6"}).encode()
            tls.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            try:
                tls.unwrap()
            except (ssl.SSLError, OSError):
                pass


class IpLiteralRules(AdversarialCase):
    """A rule naming ::1 (private: true) lets exactly that address through; an IPv4-mapped
    literal is judged by the IPv4 address inside it."""

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.v6_origin = cls.start_origin(_V6HealthOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: "::1"
    ports: [{cls.v6_origin.port}]
    private: true
  - host: "::ffff:127.0.0.1"
    ports: [{cls.origin.port}]
  - host: {NORMAL}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {NORMAL}: 127.0.0.1
"""

    def setUp(self):
        super().setUp()
        self.v6_connections_before = self.v6_origin.connections

    def test_allowed_ipv6_literal_is_tunnelled_without_sni(self):
        since = self.proxy.audit_mark()
        target = f"[::1]:{self.v6_origin.port}"
        sock, answer = clients.connect(self.port, target)
        client = "%s:%d" % sock.getsockname()[:2]
        # Clients send no SNI to an address; the certificate names IP ::1, so it verifies.
        stream = TLSStream(self.pki.client_context(), server_side=False, server_hostname="::1")
        try:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            stream.attach(sock)
            stream.feed(answer.rest)
            stream.handshake()
            stream.sendall(health_request(target))
            head, body = read_http_response(stream)
        finally:
            stream.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertEqual(json.loads(body)["origin"], "v6")
        self.assertEqual(self.v6_origin.connections, self.v6_connections_before + 1)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["host"]), (200, "::1"))
        self.assertEqual(close["upstream"], f"[::1]:{self.v6_origin.port}")
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=close["conn"])
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", None))

    def test_allowed_ipv6_literal_on_another_port_is_refused(self):
        self.assertRefused(f"[::1]:{self.origin.port}", "port_not_allowed", audited_host="::1")
        self.assertEqual(self.v6_origin.connections, self.v6_connections_before)
        self.assertNormalClientServed()

    def test_ipv4_mapped_loopback_is_judged_as_loopback(self):
        # The rule names the mapped address but not private: true; inside it is 127.0.0.1.
        since = self.proxy.audit_mark()
        target = f"[::ffff:127.0.0.1]:{self.origin.port}"
        answer, client = self.send_head(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
        self.assertErrorAnswer(answer, "private_address")
        self.assertIn("loopback", answer.body.decode())
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (403, "private_address"))
        self.assertIsNone(close["upstream"])
        resolve = self.proxy.wait_for(
            since=since, event="decision", stage="resolve", conn=close["conn"]
        )
        self.assertEqual((resolve["decision"], resolve["host"]), ("deny", "::ffff:127.0.0.1"))
        self.assertOriginUntouched()
        self.assertNormalClientServed()

    def test_ipv4_literal_of_the_mapped_address_has_no_rule(self):
        # Only the literal a rule names is allowed; 127.0.0.1 itself is named by none.
        self.assertRefused(f"127.0.0.1:{self.origin.port}", "ip_literal", audited_host="127.0.0.1")
        self.assertNormalClientServed()


if __name__ == "__main__":
    unittest.main()
