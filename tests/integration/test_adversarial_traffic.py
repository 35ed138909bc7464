"""Traffic built to turn fqdngate against the network it guards: DNS answers that point allowed
names at internal addresses, bytes that are not a request head, connection storms, and SNI
variants that try to slip a different destination past the CONNECT check."""

import collections
import json
import random
import socket
import threading
import time
import unittest

from harness import clients
from harness.base import ERROR_STATUS, ProxyTestCase
from harness.dns_server import DnsServer
from harness.tls_origin import HttpOrigin
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

NORMAL = "api.prefect.cloud"  # allowed with private: true, named in the test certificate


def client_of(sock):
    return "%s:%d" % sock.getsockname()[:2]


class TrafficCase(ProxyTestCase):
    """Shared checks; subclasses provide self.origin (an HttpOrigin NORMAL maps to)."""

    def setUp(self):
        self.connections_before = self.origin.connections
        self.bytes_before = self.origin.bytes_received

    def assertOriginUntouched(self):
        self.assertEqual(self.origin.connections, self.connections_before)
        self.assertEqual(self.origin.bytes_received, self.bytes_before)

    def send_and_read_refusal(self, data):
        """Sends data as one write; returns (answer, client). Asserts that the proxy closes
        the connection after its answer and sends nothing more."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            client = client_of(sock)
            sock.sendall(data)
            answer = clients.read_answer(sock)
            self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        return answer, client

    def assertNormalClientServed(self):
        since = self.proxy.audit_mark()
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{NORMAL}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)
        close = self.closeRecord(since, host=NORMAL)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))


class Rebinding(TrafficCase):
    """Allowed names (no private: true) whose addresses are internal: refused after resolution,
    before any connection is attempted."""

    PINNED = {
        "loopback.rebind.example": "127.0.0.1",
        "rfc1918.rebind.example": "10.1.2.3",
        "metadata.rebind.example": "169.254.169.254",
        "v6-loopback.rebind.example": "::1",
        "v4-mapped.rebind.example": "::ffff:10.0.0.1",
        "nat64.rebind.example": "64:ff9b::a00:1",
        "mixed.rebind.example": ["10.9.9.9", "127.0.0.1"],
    }
    VIA_DNS = "resolved.test.example"  # answered by the test DNS server, not dns.hosts
    RULE_EXTRA = ""  # more keys for the rebinding rules

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.dns = cls.start_origin(DnsServer({cls.VIA_DNS: "169.254.169.254"}))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        rules = "".join(
            f"  - host: {name}\n    ports: [{port}]\n{cls.RULE_EXTRA}"
            for name in (*cls.PINNED, cls.VIA_DNS)
        )
        hosts = "".join(
            f"    {name}: {json.dumps(addr)}\n" for name, addr in cls.PINNED.items()
        )
        return f"""\
prefect:
  cloud: false
allow:
{rules}  - host: {NORMAL}
    ports: [{port}]
    private: true
dns:
  servers: ["{cls.dns.address}"]
  hosts:
{hosts}    {NORMAL}: 127.0.0.1
"""

    def assertPrivateRefusal(self, name, addresses):
        since = self.proxy.audit_mark()
        target = f"{name}:{self.origin.port}"
        answer, client = self.send_and_read_refusal(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
        )
        self.assertErrorAnswer(answer, "private_address")
        for address in addresses:
            self.assertIn(address, answer.body.decode())
        # The name passed the policy; its addresses did not.
        connect = self.proxy.wait_for(since=since, event="decision", stage="connect", host=name)
        self.assertEqual(connect["decision"], "allow")
        self.assertEqual(connect["client"], client)
        resolve = self.proxy.wait_for(
            since=since, event="decision", stage="resolve", conn=connect["conn"]
        )
        self.assertEqual((resolve["decision"], resolve["reason"]), ("deny", "private_address"))
        self.assertIsNone(resolve["upstream"])
        close = self.closeRecord(since, conn=connect["conn"])
        self.assertEqual((close["status"], close["reason"]), (403, "private_address"))
        # upstream null: no connection was attempted, to any address.
        self.assertIsNone(close["upstream"])
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertEqual(self.proxy.matching(since=since, conn=connect["conn"], stage="tls"), [])
        self.assertOriginUntouched()

    def test_pinned_internal_addresses_are_refused_before_connect(self):
        for name, addresses in self.PINNED.items():
            if isinstance(addresses, str):
                addresses = [addresses]
            with self.subTest(name=name):
                self.assertPrivateRefusal(name, addresses)
        self.assertNormalClientServed()

    def test_dns_answer_pointing_at_metadata_is_refused(self):
        self.assertPrivateRefusal(self.VIA_DNS, ["169.254.169.254"])
        self.assertIn((self.VIA_DNS, 1), self.dns.queries())
        self.assertNormalClientServed()


class MetadataEvenWithPrivate(Rebinding):
    """private: true lets a name reach internal addresses, but never a cloud metadata endpoint:
    whoever controls that name's DNS must not be able to aim a tunnel at instance credentials."""

    PINNED = {
        "metadata.rebind.example": "169.254.169.254",
        "metadata-v6.rebind.example": "fd00:ec2::254",
        "alibaba-metadata.rebind.example": "100.100.100.200",
    }

    RULE_EXTRA = "    private: true\n"

    def test_the_refusal_says_private_is_not_enough(self):
        since = self.proxy.audit_mark()
        self.assertPrivateRefusal("metadata.rebind.example", ["169.254.169.254"])
        resolve = self.proxy.wait_for(since=since, event="decision", stage="resolve")
        self.assertIn("metadata addresses are reachable only by a rule naming", resolve["detail"])


class GarbageHeads(TrafficCase):
    """Bytes that are not a request head: answered 400 or 431 and closed, never relayed."""

    MAX_HEADER_BYTES = 4096

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {NORMAL}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {NORMAL}: 127.0.0.1
limits:
  max_header_bytes: {cls.MAX_HEADER_BYTES}
"""

    def assertGarbageRefused(self, data, reasons=("bad_request", "header_too_large")):
        since = self.proxy.audit_mark()
        answer, client = self.send_and_read_refusal(data)
        self.assertIn(answer.header("X-Fqdngate-Reason"), reasons, answer.head)
        reason = answer.header("X-Fqdngate-Reason")
        self.assertErrorAnswer(answer, reason)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (ERROR_STATUS[reason], reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertIsNone(close["upstream"])
        self.assertEqual(self.proxy.non_json_stdout(), [])
        self.assertOriginUntouched()
        return close

    def test_random_binary_is_refused(self):
        rng = random.Random(20261128)
        for size in (1, 64, 1024, 3000):
            with self.subTest(size=size):
                garbage = bytes(rng.randrange(256) for _ in range(size))
                self.assertGarbageRefused(garbage + b"\r\n\r\n")
        self.assertNormalClientServed()

    def test_client_hello_sent_to_the_proxy_port_is_refused(self):
        ctx = self.pki.client_context()
        hello = TLSStream(ctx, server_side=False, server_hostname=NORMAL).first_flight()
        self.assertEqual(hello[0], 0x16)
        self.assertGarbageRefused(hello)
        self.assertNormalClientServed()

    def test_crlf_flood_is_refused(self):
        for count in (3, self.MAX_HEADER_BYTES):  # a few, and twice the head limit in bytes
            with self.subTest(count=count):
                self.assertGarbageRefused(b"\r\n" * count)
        self.assertNormalClientServed()

    def test_oversized_head_is_431(self):
        head = f"CONNECT {NORMAL}:{self.origin.port} HTTP/1.1\r\nHost: {NORMAL}\r\n".encode()
        for _ in range(self.MAX_HEADER_BYTES // 64 + 2):
            head += b"X-Pad: " + b"a" * 55 + b"\r\n"  # valid header lines, 64 bytes each
        head += b"\r\n"
        self.assertGreater(len(head), self.MAX_HEADER_BYTES)
        self.assertGarbageRefused(head, reasons=("header_too_large",))
        self.assertNormalClientServed()

    def test_audit_stays_one_json_object_per_line_for_control_bytes(self):
        # A target full of control and quote bytes must not forge or split an audit line.
        since = self.proxy.audit_mark()
        evil = b'CONNECT a\x1b[2J"}\n{"event":"close":443 HTTP/1.1\r\n\r\n'
        answer, client = self.send_and_read_refusal(evil)
        self.assertErrorAnswer(answer, "bad_request")
        close = self.closeRecord(since, client=client)
        self.assertEqual(close["reason"], "bad_request")
        self.assertEqual(self.proxy.non_json_stdout(), [])
        forged = [r for r in self.proxy.audit_records()[since:] if "client" not in r]
        self.assertEqual(forged, [])
        self.assertNotIn(b"\x1b", answer.body)
        self.assertNormalClientServed()


class ConnectionStorm(TrafficCase):
    """1000 connections that open and vanish, half mid-head: every one is closed and audited
    exactly once, no descriptor is leaked, and a normal client is served afterwards."""

    CONNECTIONS = 1000
    THREADS = 8
    BUDGET_S = 60.0

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {NORMAL}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {NORMAL}: 127.0.0.1
"""

    def storm(self, deadline):
        """Returns the Counter of client "ip:port" strings the storm used."""
        partial = f"CONNECT {NORMAL}:{self.origin.port} HTTP/1.1\r\nHost: {NORMAL}".encode()
        used = collections.Counter()
        lock = threading.Lock()
        errors = []

        def worker(indices):
            for i in indices:
                if time.monotonic() > deadline:
                    errors.append("storm budget exceeded")
                    return
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                        client = client_of(sock)
                        if i % 2:
                            sock.sendall(partial[: 1 + i % len(partial)])
                except OSError as e:
                    errors.append(f"connection {i}: {e!r}")
                    return
                with lock:
                    used[client] += 1

        threads = [
            threading.Thread(target=worker, args=(range(t, self.CONNECTIONS, self.THREADS),))
            for t in range(self.THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()) + 1)
        self.assertFalse(any(t.is_alive() for t in threads), "storm threads did not finish")
        self.assertEqual(errors, [])
        self.assertEqual(sum(used.values()), self.CONNECTIONS)
        return used

    def test_connect_close_storm(self):
        files_before = self.proxy.open_files()
        since = self.proxy.audit_mark()
        deadline = time.monotonic() + self.BUDGET_S
        used = self.storm(deadline)

        def storm_closes():
            return collections.Counter(
                r["client"]
                for r in self.proxy.audit_records()[since:]
                if r["event"] == "close" and r["client"] in used
            )

        remaining = max(1.0, deadline - time.monotonic())
        self.assertTrue(
            wait_until(lambda: sum(storm_closes().values()) >= self.CONNECTIONS, remaining),
            f"{sum(storm_closes().values())} close lines for {self.CONNECTIONS} connections",
        )
        self.assertEqual(storm_closes(), used)  # exactly one close line per connection
        storm_records = [r for r in self.proxy.audit_records()[since:] if r["client"] in used]
        for record in storm_records:
            self.assertEqual(record["event"], "close", record)  # never decided: no head
            self.assertEqual((record["status"], record["reason"]), (None, "client_reset"), record)
            self.assertEqual((record["bytes_up"], record["bytes_down"]), (0, 0), record)
            self.assertIsNone(record["upstream"], record)
        self.assertEqual(self.origin.connections, self.connections_before)
        self.assertTrue(
            wait_until(lambda: self.proxy.open_files() <= files_before, 10.0),
            f"descriptors: {self.proxy.open_files()} after the storm, {files_before} before",
        )
        self.assertNormalClientServed()


class SniGames(TrafficCase):
    """The SNI is compared as a name (case, trailing dot) and must be the CONNECT host."""

    DENIED = "api2.amplitude.com"  # Prefect telemetry: blocked

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
  telemetry: block
allow:
  - host: {NORMAL}
    ports: [{cls.origin.port}]
    private: true
dns:
  hosts:
    {NORMAL}: 127.0.0.1
    {cls.DENIED}: 127.0.0.1
"""

    def tunnel_with_sni(self, sni, check_hostname=True):
        """CONNECT NORMAL, TLS with the given SNI bytes, GET /api/health; returns
        (parsed JSON body, close record, tls decision record)."""
        since = self.proxy.audit_mark()
        target = f"{NORMAL}:{self.origin.port}"
        sock, answer = clients.connect(self.port, target)
        client = client_of(sock)
        ctx = self.pki.client_context()
        ctx.check_hostname = check_hostname
        stream = TLSStream(ctx, server_side=False, server_hostname=sni)
        try:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            stream.attach(sock)
            stream.feed(answer.rest)
            stream.handshake()
            stream.sendall(
                f"GET /api/health HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode()
            )
            response = b""
            for _ in range(1000):
                chunk = stream.recv()
                if not chunk:
                    break
                response += chunk
        finally:
            stream.close()
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        close = self.closeRecord(since, client=client)
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=close["conn"])
        return json.loads(body), close, tls

    def test_upper_case_sni_equal_to_host_is_allowed(self):
        body, close, tls = self.tunnel_with_sni(NORMAL.upper())
        self.assertIs(body["healthy"], True)
        self.assertEqual(tls["decision"], "allow")
        self.assertEqual(tls["sni"].lower(), NORMAL)
        self.assertEqual((close["status"], close["reason"], close["host"]), (200, "closed", NORMAL))

    def test_sni_with_trailing_dot_is_allowed(self):
        # Certificate names never end in a dot; the chain is still verified.
        body, close, tls = self.tunnel_with_sni(NORMAL + ".", check_hostname=False)
        self.assertIs(body["healthy"], True)
        self.assertEqual(tls["decision"], "allow")
        self.assertEqual(tls["sni"].rstrip("."), NORMAL)
        self.assertEqual((close["status"], close["reason"], close["host"]), (200, "closed", NORMAL))

    def test_sni_naming_a_denied_host_behind_an_allowed_connect_is_refused(self):
        for sni in (self.DENIED, self.DENIED.upper() + ".", NORMAL + ".evil.example"):
            with self.subTest(sni=sni):
                since = self.proxy.audit_mark()
                ctx = self.pki.client_context()
                ctx.check_hostname = False
                hello = TLSStream(ctx, server_side=False, server_hostname=sni).first_flight()
                sock, answer = clients.connect(self.port, f"{NORMAL}:{self.origin.port}")
                with sock:
                    client = client_of(sock)
                    self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
                    sock.sendall(hello)
                    reply = answer.rest + clients.read_until_closed(sock)
                self.assertGreaterEqual(len(reply), 7, reply)
                self.assertEqual(reply[0], 0x15, reply)  # a TLS alert, then the close
                close = self.closeRecord(since, client=client)
                self.assertEqual((close["status"], close["reason"]), (200, "sni_mismatch"))
                self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
                tls = self.proxy.wait_for(
                    since=since, event="decision", stage="tls", conn=close["conn"]
                )
                self.assertEqual((tls["decision"], tls["reason"]), ("deny", "sni_mismatch"))
                self.assertEqual((tls["host"], tls["sni"]), (NORMAL, sni))
                # The upstream TCP connection is opened before the 200, but no byte reaches it.
                self.assertEqual(self.origin.bytes_received, self.bytes_before)
        self.assertNormalClientServed()


if __name__ == "__main__":
    unittest.main()
