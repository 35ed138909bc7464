"""Failures after the policy allowed a name: DNS and upstream connection errors map to 502/504,
a name resolved through the configured DNS server works, and the proxy keeps serving."""

import json
import socket
import time
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.dns_server import DnsServer
from harness.tls_origin import HttpOrigin

RESOLVED = "resolved.test.example"  # answered by the test DNS server, in the server cert
UNKNOWN = "nxdomain.test.example"  # NXDOMAIN from the test DNS server
REFUSED = "refused.example.com"  # pinned to 127.0.0.1, a port with no listener
BLACKHOLE = "blackhole.example.com"  # pinned to 127.0.0.1, a listener whose SYN queue is full


def unused_port():
    """A loopback port that had a listener a moment ago and has none now."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


class Blackhole:
    """A listener that never accepts, its accept queue filled, so the kernel drops further SYNs
    and connects to it time out (tcp_abort_on_overflow=0, the Linux default)."""

    MAX_FILL = 64

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        self.full = False
        for _ in range(self.MAX_FILL):
            s = socket.socket()
            s.settimeout(0.5)
            try:
                s.connect(("127.0.0.1", self.port))
            except socket.timeout:
                s.close()
                self.full = True
                break
            self.fillers.append(s)

    def stop(self):
        for s in self.fillers:
            s.close()
        self.listener.close()


class UpstreamErrors(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.dns = DnsServer({RESOLVED: "127.0.0.1"})
        cls.addClassCleanup(cls.dns.stop)
        cls.dead_port = unused_port()
        cls.blackhole = Blackhole()
        cls.addClassCleanup(cls.blackhole.stop)

    @classmethod
    def policy(cls):
        port = cls.origin.port
        return f"""\
prefect:
  cloud: false
allow:
  - host: {RESOLVED}
    ports: [{port}]
    private: true
  - host: {UNKNOWN}
    ports: [{port}]
    private: true
  - host: {REFUSED}
    ports: [{cls.dead_port}]
    private: true
  - host: {BLACKHOLE}
    ports: [{cls.blackhole.port}]
    private: true
dns:
  servers: ["{cls.dns.address}"]
  hosts:
    {REFUSED}: 127.0.0.1
    {BLACKHOLE}: 127.0.0.1
limits:
  connect_timeout_s: 1
  dns_timeout_s: 3
"""

    def fail_connect(self, host, port, reason):
        since = self.proxy.audit_mark()
        sock, answer = clients.connect(self.port, f"{host}:{port}")
        with sock:
            self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        self.assertErrorAnswer(answer, reason)
        connect = self.proxy.wait_for(since=since, event="decision", stage="connect", host=host)
        self.assertEqual(connect["decision"], "allow")
        close = self.closeRecord(since, conn=connect["conn"])
        self.assertEqual(close["status"], answer.status)
        self.assertEqual(close["reason"], reason)
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        return answer, close

    def assertServesResolvedName(self):
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{RESOLVED}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        payload = json.loads(result.stdout)
        self.assertEqual(payload["host"], f"{RESOLVED}:{self.origin.port}")

    def test_no_listener_is_502_upstream_refused(self):
        self.fail_connect(REFUSED, self.dead_port, "upstream_refused")
        self.assertServesResolvedName()

    def test_unknown_name_is_502_dns_failure(self):
        connections = self.origin.connections
        self.fail_connect(UNKNOWN, self.origin.port, "dns_failure")
        self.assertIn(UNKNOWN, [name for name, _ in self.dns.queries()])
        self.assertEqual(self.origin.connections, connections)

    def test_name_resolved_by_configured_dns_server_works(self):
        before = self.origin.connections
        self.assertServesResolvedName()
        self.assertIn((RESOLVED, 1), self.dns.queries())
        self.assertEqual(self.origin.connections, before + 1)

    def test_unanswered_syn_is_504_upstream_timeout(self):
        if not self.blackhole.full:
            self.skipTest("could not fill the accept queue, so SYNs are not dropped here")
        started = time.monotonic()
        self.fail_connect(BLACKHOLE, self.blackhole.port, "upstream_timeout")
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.9)  # connect_timeout_s: 1
        self.assertLess(elapsed, 5.0)
        self.assertServesResolvedName()


class SilentDnsServer(ProxyTestCase):
    """A resolver that never answers: dns_timeout, within limits.dns_timeout_s."""

    @classmethod
    def start_servers(cls):
        cls.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.silent.bind(("127.0.0.1", 0))
        cls.addClassCleanup(cls.silent.close)

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
allow:
  - host: {RESOLVED}
    private: true
dns:
  servers: ["127.0.0.1:{cls.silent.getsockname()[1]}"]
limits:
  dns_timeout_s: 1
"""

    def test_unanswered_query_is_504_dns_timeout(self):
        since = self.proxy.audit_mark()
        started = time.monotonic()
        sock, answer = clients.connect(self.port, f"{RESOLVED}:443")
        sock.close()
        elapsed = time.monotonic() - started
        self.assertErrorAnswer(answer, "dns_timeout")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)
        close = self.closeRecord(since, host=RESOLVED)
        self.assertEqual((close["status"], close["reason"]), (504, "dns_timeout"))


if __name__ == "__main__":
    unittest.main()
