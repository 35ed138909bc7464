"""Refusals before any upstream connection: 403 for policy denials, 405 for other methods.

In every case the origin that all names map to must not see a single connection, and a normal
client is still served afterwards.
"""

import socket
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin

ALLOWED = "api.prefect.cloud"
DENIED = "files.example.com"  # allowed AND denied: the deny rule wins
NOT_PRIVATE = "pypi.org"  # allowed without private: true, but maps to 127.0.0.1


class Denials(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        return f"""\
prefect:
  cloud: true
  telemetry: block
allow:
  - host: {ALLOWED}
    ports: [{port}]
    private: true
  - host: {DENIED}
    ports: [{port}]
    private: true
  - host: {NOT_PRIVATE}
    ports: [{port}]
deny:
  - {DENIED}
dns:
  hosts:
    {ALLOWED}: 127.0.0.1
    {DENIED}: 127.0.0.1
    {NOT_PRIVATE}: 127.0.0.1
    example.com: 127.0.0.1
    api2.amplitude.com: 127.0.0.1
"""

    def setUp(self):
        self.connections_before = self.origin.connections

    def assertOriginUntouched(self):
        self.assertEqual(self.origin.connections, self.connections_before)

    def refuse(self, target):
        """CONNECT target on a raw socket; returns (answer, client "ip:port" as audited)."""
        sock, answer = clients.connect(self.port, target)
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
            # The proxy closes after a refusal: nothing else follows the body.
            self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        return answer, client

    def assertNormalClientServed(self):
        before = self.origin.connections
        since = self.proxy.audit_mark()
        result = clients.curl(
            [
                "-x",
                self.proxy.proxy_url,
                "--cacert",
                self.pki.ca_cert,
                f"https://{ALLOWED}:{self.origin.port}/api/health",
            ]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b'"healthy": true', result.stdout)
        self.assertEqual(self.origin.connections, before + 1)
        # Its close line, so that no later test mistakes it for one of its own.
        self.assertEqual(self.closeRecord(since, host=ALLOWED)["status"], 200)

    def test_curl_to_unlisted_host_gets_403_not_allowlisted(self):
        since = self.proxy.audit_mark()
        result = clients.curl(
            [
                "-v",
                "-w",
                "%{http_connect}",
                "-x",
                self.proxy.proxy_url,
                "--cacert",
                self.pki.ca_cert,
                f"https://example.com:{self.origin.port}/",
            ]
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout.strip(), b"403")
        self.assertIn(b"X-Fqdngate-Reason: not_allowlisted", result.stderr)
        decision, _ = self.assertRefusalAudited(since, "example.com", "not_allowlisted")
        self.assertIsNone(decision["rule"])
        self.assertIsNone(decision["rule_source"])
        self.assertOriginUntouched()

    def test_raw_connect_to_unlisted_host_body_names_reason(self):
        since = self.proxy.audit_mark()
        answer, client = self.refuse(f"example.com:{self.origin.port}")
        self.assertErrorAnswer(answer, "not_allowlisted", rule_text="default deny")
        self.assertEqual(answer.reason_phrase, "Forbidden")
        decision, _ = self.assertRefusalAudited(since, "example.com", "not_allowlisted")
        self.assertEqual(decision["client"], client)
        self.assertEqual(decision["port"], self.origin.port)
        self.assertEqual(decision["method"], "CONNECT")
        self.assertOriginUntouched()
        self.assertNormalClientServed()

    def test_denylisted_host_names_deny_rule_line(self):
        since = self.proxy.audit_mark()
        answer, _ = self.refuse(f"{DENIED}:{self.origin.port}")
        decision, _ = self.assertRefusalAudited(
            since, DENIED, "denylisted", rule_source=self.policy_source(f"  - {DENIED}")
        )
        self.assertErrorAnswer(answer, "denylisted", rule_text=decision["rule"])
        self.assertIn(DENIED, decision["rule"])
        self.assertOriginUntouched()
        self.assertNormalClientServed()

    def test_port_not_allowed(self):
        since = self.proxy.audit_mark()
        answer, _ = self.refuse(f"{ALLOWED}:8443")
        self.assertErrorAnswer(answer, "port_not_allowed")
        decision, _ = self.assertRefusalAudited(since, ALLOWED, "port_not_allowed")
        self.assertEqual(decision["port"], 8443)
        self.assertOriginUntouched()

    def test_ip_literal_connect_is_refused(self):
        since = self.proxy.audit_mark()
        answer, _ = self.refuse(f"127.0.0.1:{self.origin.port}")
        self.assertErrorAnswer(answer, "ip_literal")
        self.assertRefusalAudited(since, "127.0.0.1", "ip_literal")
        self.assertOriginUntouched()
        self.assertNormalClientServed()

    def test_allowed_name_resolving_to_loopback_without_private_is_refused(self):
        since = self.proxy.audit_mark()
        answer, _ = self.refuse(f"{NOT_PRIVATE}:{self.origin.port}")
        self.assertErrorAnswer(answer, "private_address")
        self.assertIn("127.0.0.1", answer.body.decode())
        # The name itself is allowed (by the rule without private: true); the address is not.
        connect = self.proxy.wait_for(
            since=since, event="decision", stage="connect", host=NOT_PRIVATE
        )
        self.assertEqual(connect["decision"], "allow")
        self.assertEqual(
            self._source_tail(connect["rule_source"]), self.policy_source(f"- host: {NOT_PRIVATE}")
        )
        close = self.closeRecord(since, conn=connect["conn"])
        self.assertEqual((close["status"], close["reason"]), (403, "private_address"))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertIsNone(close["upstream"])
        self.assertEqual(self.proxy.matching(since=since, conn=connect["conn"], stage="tls"), [])
        self.assertOriginUntouched()

    def test_telemetry_host_is_denylisted_by_prefect_profile(self):
        since = self.proxy.audit_mark()
        answer, _ = self.refuse("api2.amplitude.com:443")
        decision, _ = self.assertRefusalAudited(since, "api2.amplitude.com", "denylisted")
        self.assertIn("prefect.telemetry", decision["rule"])
        self.assertErrorAnswer(answer, "denylisted", rule_text="prefect.telemetry")
        self.assertOriginUntouched()

    def test_plain_http_get_is_405(self):
        since = self.proxy.audit_mark()
        target = f"http://{ALLOWED}:{self.origin.port}/api/health"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {ALLOWED}\r\n\r\n".encode())
            answer = clients.read_answer(sock)
            self.assertEqual(answer.rest + clients.read_until_closed(sock), b"")
        self.assertErrorAnswer(answer, "method_not_allowed")
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (405, "method_not_allowed"))
        self.assertEqual(close["method"], "GET")
        self.assertOriginUntouched()

    def test_curl_plain_http_through_proxy_is_405(self):
        result = clients.curl(
            ["-o", "/dev/null", "-w", "%{http_code}", "-x", self.proxy.proxy_url,
             f"http://{ALLOWED}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"405")
        self.assertOriginUntouched()
        self.assertNormalClientServed()


if __name__ == "__main__":
    unittest.main()
