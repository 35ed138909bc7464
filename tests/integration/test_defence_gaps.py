"""Defences that the other suites did not notice when they were removed (found with the mutation
check in tests/mutation/): old or disguised ClientHellos, the ClientHello size cap, the names of
address classes in a private_address refusal, request-head line syntax and header count, and the
explanation a malformed CONNECT target gets. Each test names the mutation it kills.

As elsewhere, every name maps to a loopback origin through dns.hosts, so a wrong "allow" would
reach it: each refusal also checks that the origin received nothing.
"""

import json
import socket
import struct
import unittest

from harness import clients
from harness.base import ERROR_STATUS, ProxyTestCase
from harness.tls_origin import HttpOrigin
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

HOST = "api.prefect.cloud"  # allowed with private: true, named in the test certificate
PADDING_EXTENSION = 21  # RFC 7685


def client_of(sock):
    return "%s:%d" % sock.getsockname()[:2]


def with_extension(record, ext_type, data):
    """A single-record ClientHello with one more extension appended; every enclosing length
    (record, handshake, extensions) is fixed up."""
    extension = struct.pack("!HH", ext_type, len(data)) + data
    body = bytearray(record[9:])
    at = 2 + 32  # legacy_version, random
    at += 1 + body[at]  # session_id
    at += 2 + struct.unpack_from("!H", body, at)[0]  # cipher_suites
    at += 1 + body[at]  # compression_methods
    (ext_len,) = struct.unpack_from("!H", body, at)
    struct.pack_into("!H", body, at, ext_len + len(extension))
    body += extension
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + bytes(body)
    return record[:3] + struct.pack("!H", len(handshake)) + handshake


def sslv2_client_hello():
    """An SSLv2-compatible CLIENT-HELLO as pre-TLS 1.0 clients sent it: a two-byte header with
    the high bit set, msg_type 1, version 3.1, cipher specs, session id, challenge."""
    specs = bytes.fromhex("00002f" "000035" "00000a" "0000ff")
    challenge = bytes(range(16))
    message = (
        bytes([1])
        + struct.pack("!HHHH", 0x0301, len(specs), 0, len(challenge))
        + specs
        + challenge
    )
    return struct.pack("!H", 0x8000 | len(message)) + message


class HelloGaps(ProxyTestCase):
    """ClientHellos that must be refused after the 200 although they name the CONNECT host."""

    MAX_CLIENT_HELLO_BYTES = 1024  # the smallest value limits.max_client_hello_bytes takes

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
  max_client_hello_bytes: {cls.MAX_CLIENT_HELLO_BYTES}
"""

    def setUp(self):
        self.bytes_before = self.origin.bytes_received

    def hello(self):
        record = TLSStream(
            self.pki.client_context(), server_side=False, server_hostname=HOST
        ).first_flight()
        self.assertEqual(record[0], 0x16)
        self.assertEqual(len(record), 5 + struct.unpack_from("!H", record, 3)[0])
        return record

    def assertHelloRefused(self, first_bytes, reason):
        """CONNECT HOST, read the 200, send first_bytes: the proxy closes without a byte to the
        origin, and audits a tls deny with reason."""
        since = self.proxy.audit_mark()
        sock, answer = clients.connect(self.port, f"{HOST}:{self.origin.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = client_of(sock)
            sock.sendall(first_bytes)
            reply = answer.rest + clients.read_until_closed(sock)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=close["conn"])
        self.assertEqual((tls["decision"], tls["reason"], tls["sni"]), ("deny", reason, None))
        self.assertEqual(self.origin.bytes_received, self.bytes_before)
        return reply

    def assertNormalClientServed(self):
        since = self.proxy.audit_mark()
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{HOST}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)
        close = self.closeRecord(since, host=HOST)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))

    def test_ssl3_client_hello_is_refused(self):
        # Kills sslv3-hello-refused.
        hello = bytearray(self.hello())
        self.assertGreaterEqual(hello[9:11], b"\x03\x03")  # legacy_version of a modern client
        hello[9:11] = b"\x03\x00"  # SSL 3.0, everything else (SNI included) unchanged
        self.assertEqual(self.assertHelloRefused(bytes(hello), "not_tls"), b"")
        self.assertNormalClientServed()

    def test_sslv2_compatible_client_hello_is_refused(self):
        # Documents the SSLv2 refusal; the record-version check also catches this shape, so
        # sslv2-non-handshake-record-refused is killed by the next test.
        self.assertEqual(self.assertHelloRefused(sslv2_client_hello(), "not_tls"), b"")
        self.assertNormalClientServed()

    def test_client_hello_in_a_non_handshake_record_is_refused(self):
        # Kills sslv2-non-handshake-record-refused: only content type 22 may carry the hello.
        for content_type in (0x17, 0x14, 0x15):  # application_data, change_cipher_spec, alert
            with self.subTest(content_type=content_type):
                hello = bytearray(self.hello())
                hello[0] = content_type
                self.assertEqual(self.assertHelloRefused(bytes(hello), "not_tls"), b"")
        self.assertNormalClientServed()

    def test_client_hello_over_max_client_hello_bytes_is_refused(self):
        # Kills client-hello-size-cap.
        plain = self.hello()
        self.assertLess(len(plain), self.MAX_CLIENT_HELLO_BYTES)  # so normal clients pass
        padded = with_extension(plain, PADDING_EXTENSION, bytes(2 * self.MAX_CLIENT_HELLO_BYTES))
        self.assertLess(len(padded) - 5, 1 << 14)  # one record: only the hello cap applies
        self.assertEqual(self.assertHelloRefused(padded, "client_hello_too_large"), b"")
        self.assertNormalClientServed()


class AddressClassNames(ProxyTestCase):
    """A private_address refusal names the class of every refused address, so an operator can
    tell a metadata probe from a name that merely points at a LAN host."""

    PINNED = {
        "aws-metadata.rebind.example": ("169.254.169.254", "metadata"),
        "alibaba-metadata.rebind.example": ("100.100.100.200", "metadata"),
        "aws-v6-metadata.rebind.example": ("fd00:ec2::254", "metadata"),
        "link-local.rebind.example": ("169.254.1.1", "link_local"),
        "ula.rebind.example": ("fd12:3456:789a::1", "private"),
        "rfc1918.rebind.example": ("192.168.1.1", "private"),
    }

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        rules = "".join(f"  - host: {name}\n    ports: [{port}]\n" for name in cls.PINNED)
        hosts = "".join(
            f"    {name}: {json.dumps(address)}\n" for name, (address, _) in cls.PINNED.items()
        )
        # A mutation that lets an address through must fail fast, not wait for a long connect.
        return f"""\
prefect:
  cloud: false
allow:
{rules}dns:
  hosts:
{hosts}limits:
  connect_timeout_s: 2
"""

    def test_refusal_names_the_address_class(self):
        # Kills address-metadata and address-ipv6-ula.
        for name, (address, address_class) in self.PINNED.items():
            with self.subTest(name=name):
                since = self.proxy.audit_mark()
                connections = self.origin.connections
                sock, answer = clients.connect(self.port, f"{name}:{self.origin.port}")
                with sock:
                    client = client_of(sock)
                    self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
                self.assertErrorAnswer(answer, "private_address")
                self.assertIn(f"{address} ({address_class})", answer.body.decode())
                close = self.closeRecord(since, client=client)
                self.assertEqual((close["status"], close["reason"]), (403, "private_address"))
                self.assertIsNone(close["upstream"])
                resolve = self.proxy.wait_for(
                    since=since, event="decision", stage="resolve", conn=close["conn"]
                )
                self.assertEqual(resolve["decision"], "deny")
                self.assertIn(f"{address} ({address_class})", resolve["detail"])
                self.assertEqual(self.origin.connections, connections)


class HeadGaps(ProxyTestCase):
    """Request heads that must be answered 400 bad_request and closed, never tunnelled."""

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
"""

    def setUp(self):
        self.connections_before = self.origin.connections

    def target(self):
        return f"{HOST}:{self.origin.port}"

    def head(self, *header_lines, target=None):
        lines = [f"CONNECT {target or self.target()} HTTP/1.1", *header_lines]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_head(self, data):
        """(answer, client); after a refusal the proxy must close with nothing more."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            client = client_of(sock)
            sock.sendall(data)
            answer = clients.read_answer(sock)
            if answer.status != 200:
                self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        return answer, client

    def assertBadRequest(self, data, explanation=None):
        since = self.proxy.audit_mark()
        answer, client = self.send_head(data)
        self.assertErrorAnswer(answer, "bad_request")
        if explanation is not None:
            self.assertIn(explanation, answer.body.decode())
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (ERROR_STATUS["bad_request"],
                                                             "bad_request"))
        self.assertIsNone(close["upstream"])
        self.assertEqual(self.origin.connections, self.connections_before)
        return answer

    def test_bare_cr_inside_a_header_line_is_refused(self):
        # Kills bare-cr-refused: a CR not followed by LF must not end a line (a parser that
        # drops the next byte or splits there sees other headers than the next hop does).
        for data in (
            self.head(f"Host: {self.target()}\rX-Smuggled: 1"),
            self.head(f"Host: {self.target()}\r\rX-Smuggled: 1"),
            self.head("X-A: 1\r Host: evil.example"),
        ):
            with self.subTest(data=data):
                self.assertBadRequest(data)

    def test_control_bytes_in_a_header_value_are_refused(self):
        # Kills control-chars-in-header-value.
        for value in ("a\x00b", "\x00", "a\x1b[2Jb", "a\x7fb", "a\x0bb", "a\x0cb"):
            with self.subTest(value=value):
                self.assertBadRequest(self.head(f"Host: {self.target()}", f"X-Note: {value}"))

    def test_folded_header_line_is_refused_as_a_fold(self):
        # Kills obs-fold-refused. Without the fold check the line is still refused (its name
        # starts with a space), so the explanation is what tells the two apart.
        for fold in (" folded", "\tfolded", " X-B: 2", "\tHost: evil.example"):
            with self.subTest(fold=fold):
                self.assertBadRequest(
                    self.head(f"Host: {self.target()}", "X-A: 1", fold),
                    explanation="is a folded continuation",
                )

    def test_more_than_100_header_lines_are_refused(self):
        # Kills header-line-count-limit; 100 short lines (far below max_header_bytes) pass.
        lines = [f"Host: {self.target()}"] + [f"X-{i}: {i}" for i in range(99)]
        self.assertBadRequest(
            self.head(*lines, "X-One-Too-Many: 1"), explanation="more than 100 header lines"
        )
        since = self.proxy.audit_mark()
        answer, client = self.send_head(self.head(*lines))
        self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
        connect = self.proxy.wait_for(since=since, event="decision", stage="connect",
                                      client=client)
        self.assertEqual(connect["decision"], "allow")
        self.closeRecord(since, client=client)  # ends when the client goes without a hello
        expected = self.connections_before + 1  # the proxy connects upstream before its 200
        self.assertTrue(wait_until(lambda: self.origin.connections >= expected))
        self.assertEqual(self.origin.connections, expected)

    def test_connect_target_with_user_info_or_escapes_is_explained(self):
        # Kills authority-userinfo-escapes. Host-name syntax refuses these targets as well, so
        # the explanation is what shows that the target was refused for its shape.
        for target in (
            f"user@{self.target()}",
            f"user:pass@{self.target()}",
            f"{HOST}@evil.example:{self.origin.port}",
            f"api%2eprefect.cloud:{self.origin.port}",
            f"{self.target()}/path",
            f"{self.target()}?query",
            f"{self.target()}#fragment",
            f"api\\prefect.cloud:{self.origin.port}",
        ):
            with self.subTest(target=target):
                self.assertBadRequest(
                    self.head(target=target),
                    explanation="CONNECT takes host:port only (no user info, path or escapes)",
                )


if __name__ == "__main__":
    unittest.main()
