"""Encrypted Client Hello hides the real destination behind an outer SNI, so fqdngate refuses a
ClientHello that offers it unless the rule says allow_ech: true."""

import struct
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

HOST = "api.prefect.cloud"       # ECH not allowed
ECH_HOST = "ech.example.com"     # allow_ech: true
TLS_ALERT = 21
ECH_EXTENSION = 0xFE0D


def with_ech_extension(record):
    """A single-record ClientHello with an encrypted_client_hello extension appended; every
    enclosing length (record, handshake, extensions) is fixed up."""
    extension = struct.pack("!HH", ECH_EXTENSION, 32) + bytes(32)
    body = bytearray(record[9:])
    at = 2 + 32                      # legacy_version, random
    at += 1 + body[at]               # session_id
    at += 2 + struct.unpack_from("!H", body, at)[0]  # cipher_suites
    at += 1 + body[at]               # compression_methods
    (ext_len,) = struct.unpack_from("!H", body, at)
    struct.pack_into("!H", body, at, ext_len + len(extension))
    body += extension
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + bytes(body)
    return record[:3] + struct.pack("!H", len(handshake)) + handshake


class EncryptedClientHello(ProxyTestCase):
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
  - host: {ECH_HOST}
    ports: [{cls.origin.port}]
    private: true
    allow_ech: true
dns:
  hosts:
    {HOST}: 127.0.0.1
    {ECH_HOST}: 127.0.0.1
"""

    def hello_for(self, host):
        ctx = self.pki.client_context()
        record = TLSStream(ctx, server_side=False, server_hostname=host).first_flight()
        self.assertEqual(record[0], 22)
        self.assertEqual(len(record), 5 + struct.unpack_from("!H", record, 3)[0])
        return with_ech_extension(record)

    def test_ech_is_refused_by_default_and_nothing_reaches_the_origin(self):
        since = self.proxy.audit_mark()
        before = self.origin.bytes_received
        sock, answer = clients.connect(self.port, f"{HOST}:{self.origin.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(self.hello_for(HOST))
            reply = answer.rest + clients.read_until_closed(sock)
        self.assertEqual(reply[0], TLS_ALERT, reply)
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["reason"], close["bytes_up"]), ("ech_not_allowed", 0))
        decision = self.proxy.wait_for(since=since, event="decision", stage="tls",
                                       conn=close["conn"])
        self.assertEqual((decision["decision"], decision["sni"]), ("deny", HOST))
        self.assertEqual(self.origin.bytes_received, before)

    def test_rule_with_allow_ech_lets_it_through(self):
        since = self.proxy.audit_mark()
        before = self.origin.bytes_received
        hello = self.hello_for(ECH_HOST)
        sock, answer = clients.connect(self.port, f"{ECH_HOST}:{self.origin.port}")
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.sendall(hello)
            decision = self.proxy.wait_for(since=since, event="decision", stage="tls",
                                           host=ECH_HOST)
            # The origin cannot complete this doctored handshake; it must have received it.
            self.assertTrue(wait_until(lambda: self.origin.bytes_received >= before + len(hello)))
        self.assertEqual((decision["decision"], decision["reason"]), ("allow", "allowlisted"))
        self.assertEqual(self.origin.bytes_received, before + len(hello))


if __name__ == "__main__":
    unittest.main()
