"""Rule scopes and the SNI knob: a rule with users: or clients: applies only to those identities
or source networks (others get not_in_scope, or fall through to other rules), a scoped deny
denies only its scope, and `sni: allowlisted` lets the ClientHello name another host the policy
allows for the same client, identity and port."""

import json
import os
import re
import socket
import subprocess
import unittest

from harness import clients, credentials, env, pki
from harness.proxy_process import line_of, write_policy
from harness.tls_origin import HttpOrigin
from harness.tls_proxy import ListenerTestCase, client_certificate
from harness.tls_stream import TLSStream
from harness.waiting import wait_until

ALICE_ONLY = "files.example.com"  # users: [alice]
SECOND_CLIENT_ONLY = "pypi.org"  # clients: [127.0.0.2/32]
ALICE_ON_SECOND = "auth.workos.com"  # users: [alice] and clients: [127.0.0.2/32]
EVERYONE_BUT_BOB = "example.com"  # allowed for all, denied for bob by a scoped deny rule
ALIAS_FRONT = "app.prefect.cloud"  # sni: allowlisted, for everyone
SCOPED_EXACT = "registry.fallthrough.test"  # users: [alice], under a wildcard for everyone
SECOND = "127.0.0.2"
PASSWORDS = {"alice": "alice's password", "bob": "bob's password"}
TLS_ALERT = 0x15


def open_connect_from(source, port, target, headers=(), timeout=clients.IO_TIMEOUT):
    """clients.open_connect with the client socket bound to source (a loopback address)."""
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", *headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def get_health(stream, target):
    """GET /api/health over an established tunnel TLS stream; returns the JSON body."""
    request = f"GET /api/health HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    stream.sendall(request.encode())
    response = b""
    for _ in range(1000):
        chunk = stream.recv()
        if not chunk:
            break
        response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        raise AssertionError(f"unexpected answer {head!r}")
    return json.loads(body)


class ScopeCase(ListenerTestCase):
    """Shared helpers: a CONNECT from a chosen source address and identity."""

    def setUp(self):
        self.mark()

    def mark(self):
        """Later assertions look only at audit lines and origin traffic from here on."""
        self.since = self.proxy.audit_mark()
        self.connections_before = self.origin.connections
        self.bytes_before = self.origin.bytes_received

    def auth_headers(self, user):
        return [credentials.basic(user, PASSWORDS[user])] if user else []

    def connect(self, host, user=None, source="127.0.0.1"):
        """(socket, client "ip:port", answer) for CONNECT host:origin-port."""
        sock = open_connect_from(
            source, self.port, f"{host}:{self.origin.port}", headers=self.auth_headers(user)
        )
        try:
            client = "%s:%d" % sock.getsockname()[:2]
            return sock, client, clients.read_answer(sock)
        except BaseException:
            sock.close()
            raise

    def assertRefused(self, host, reason, user=None, source="127.0.0.1", rule_needle=None):
        """403 with reason, audited at stage connect with the identity, nothing contacted."""
        sock, client, answer = self.connect(host, user, source)
        sock.close()
        self.assertErrorAnswer(answer, reason)
        decision = self.proxy.wait_for(
            since=self.since, event="decision", stage="connect", client=client
        )
        self.assertIdentifiedRecord(decision, user)
        self.assertEqual((decision["decision"], decision["reason"]), ("deny", reason))
        self.assertEqual(decision["host"], host)
        self.assertIsNone(decision["upstream"])
        if rule_needle is not None:
            # The decision names the rule whose scope excluded the client (rule_source or detail).
            self.assertIn(self.policy_source(rule_needle), json.dumps(decision))
        close = self.closeRecordOf(self.since, user, client=client)
        self.assertEqual((close["status"], close["reason"]), (403, reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertEqual(self.origin.connections, self.connections_before)
        return decision

    def assertServed(self, host, user=None, source="127.0.0.1", sni=None, rule_needle=None):
        """CONNECT, TLS with SNI (default: host) and a GET through the tunnel; audit lines carry
        the identity and the allowing rule."""
        sni = sni or host
        sock, client, answer = self.connect(host, user, source)
        stream = TLSStream(self.pki.client_context(), server_side=False, server_hostname=sni)
        try:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            stream.attach(sock)
            stream.feed(answer.rest)
            stream.handshake()
            payload = get_health(stream, f"{sni}:{self.origin.port}")
        finally:
            stream.close()
        self.assertIs(payload["healthy"], True)
        connect = self.proxy.wait_for(
            since=self.since, event="decision", stage="connect", client=client
        )
        self.assertIdentifiedRecord(connect, user)
        self.assertEqual((connect["decision"], connect["host"]), ("allow", host))
        if rule_needle is not None:
            self.assertEqual(
                self._source_tail(connect["rule_source"]), self.policy_source(rule_needle)
            )
        tls = self.proxy.wait_for(since=self.since, event="decision", stage="tls", client=client)
        self.assertIdentifiedRecord(tls, user)
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", sni))
        close = self.closeRecordOf(self.since, user, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        expected = self.bytes_before + close["bytes_up"]
        self.assertTrue(wait_until(lambda: self.origin.bytes_received >= expected))
        self.assertEqual(self.origin.bytes_received, expected)
        return close

    def assertHelloRefused(self, host, sni, reason, user=None, source="127.0.0.1"):
        """200 for the CONNECT, then the ClientHello naming sni is refused with a TLS alert."""
        ctx = self.pki.client_context()
        if sni is None:
            ctx.check_hostname = False  # the only way to make Python omit the SNI extension
        hello = TLSStream(ctx, server_side=False, server_hostname=sni).first_flight()
        sock, client, answer = self.connect(host, user, source)
        with sock:
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            sock.sendall(hello)
            reply = answer.rest + clients.read_until_closed(sock)
        self.assertGreaterEqual(len(reply), 7, reply)
        self.assertEqual(reply[0], TLS_ALERT, reply)
        close = self.closeRecordOf(self.since, user, client=client)
        self.assertEqual((close["status"], close["reason"]), (200, reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        tls = self.proxy.wait_for(since=self.since, event="decision", stage="tls", client=client)
        self.assertIdentifiedRecord(tls, user)
        self.assertEqual((tls["decision"], tls["reason"]), ("deny", reason))
        self.assertEqual((tls["host"], tls["sni"]), (host, sni))
        self.assertEqual(self.origin.bytes_received, self.bytes_before)
        # The proxy connected upstream before its 200: let the origin count that connection now,
        # so it is not taken for one of the next test's.
        self.assertTrue(wait_until(lambda: self.origin.connections > self.connections_before))


class UserAndClientScopes(ScopeCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.passwd_path = credentials.make_file(cls.__name__, PASSWORDS)

    @classmethod
    def policy(cls):
        port = cls.origin.port
        hosts = (
            ALICE_ONLY, SECOND_CLIENT_ONLY, ALICE_ON_SECOND, EVERYONE_BUT_BOB, ALIAS_FRONT,
            SCOPED_EXACT,
        )
        dns = "".join(f"    {host}: 127.0.0.1\n" for host in hosts)
        return f"""\
listen:
  - 127.0.0.1:0
auth:
  credentials: {cls.passwd_path}
prefect:
  cloud: false
allow:
  - host: {ALICE_ONLY}
    ports: [{port}]
    private: true
    users: [alice]
  - host: {SECOND_CLIENT_ONLY}
    ports: [{port}]
    private: true
    clients: [{SECOND}/32]
  - host: {ALICE_ON_SECOND}
    ports: [{port}]
    private: true
    users: [alice]
    clients: [{SECOND}/32]
  - host: {EVERYONE_BUT_BOB}
    ports: [{port}]
    private: true
  - host: {ALIAS_FRONT}
    ports: [{port}]
    private: true
    sni: allowlisted
  - host: {SCOPED_EXACT}
    ports: [{port}]
    private: true
    users: [alice]
  - host: "*.fallthrough.test"
    ports: [{port}]
    private: true
deny:
  - host: {EVERYONE_BUT_BOB}
    users: [bob]
dns:
  hosts:
{dns}"""

    def test_users_scoped_rule_serves_its_user(self):
        self.assertServed(ALICE_ONLY, user="alice", rule_needle=f"- host: {ALICE_ONLY}")

    def test_users_scoped_rule_refuses_another_user_as_not_in_scope(self):
        self.assertRefused(
            ALICE_ONLY, "not_in_scope", user="bob", rule_needle=f"- host: {ALICE_ONLY}"
        )

    def test_curl_users_scope(self):
        url = f"https://{ALICE_ONLY}:{self.origin.port}/api/health"
        ok = clients.curl(["-x", self.proxy.proxy_url, "--proxy-user",
                           f"alice:{PASSWORDS['alice']}", "--cacert", self.pki.ca_cert, url])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIs(json.loads(ok.stdout)["healthy"], True)
        refused = clients.curl(["-x", self.proxy.proxy_url, "--proxy-user",
                                f"bob:{PASSWORDS['bob']}", "--cacert", self.pki.ca_cert, url])
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"403", refused.stderr)

    def test_clients_scoped_rule_refuses_other_source_as_not_in_scope(self):
        self.assertRefused(
            SECOND_CLIENT_ONLY,
            "not_in_scope",
            user="alice",
            rule_needle=f"- host: {SECOND_CLIENT_ONLY}",
        )

    def test_clients_scoped_rule_serves_its_source(self):
        self.assertServed(
            SECOND_CLIENT_ONLY,
            user="bob",
            source=SECOND,
            rule_needle=f"- host: {SECOND_CLIENT_ONLY}",
        )

    def test_curl_from_scoped_source(self):
        result = clients.curl(
            ["--interface", SECOND, "-x", self.proxy.proxy_url, "--proxy-user",
             f"bob:{PASSWORDS['bob']}", "--cacert", self.pki.ca_cert,
             f"https://{SECOND_CLIENT_ONLY}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)

    def test_users_and_clients_must_both_hold(self):
        with self.subTest("right user, wrong source"):
            self.assertRefused(ALICE_ON_SECOND, "not_in_scope", user="alice")
        with self.subTest("wrong user, right source"):
            self.mark()
            self.assertRefused(ALICE_ON_SECOND, "not_in_scope", user="bob", source=SECOND)
        with self.subTest("both hold"):
            self.mark()
            self.assertServed(ALICE_ON_SECOND, user="alice", source=SECOND)

    def test_scoped_deny_rule_denies_its_user(self):
        decision = self.assertRefused(EVERYONE_BUT_BOB, "denylisted", user="bob")
        source = f"{os.path.basename(self.proxy.policy_path)}:{self.deny_rule_line()}"
        self.assertEqual(self._source_tail(decision["rule_source"]), source)

    def test_scoped_deny_rule_leaves_others_allowed(self):
        self.assertServed(
            EVERYONE_BUT_BOB, user="alice", rule_needle=f"- host: {EVERYONE_BUT_BOB}"
        )

    def test_rule_out_of_scope_is_as_if_absent(self):
        # The exact rule is alice's; for bob it does not exist, so the wildcard decides.
        for user, needle in (("alice", f"- host: {SCOPED_EXACT}"), ("bob", "*.fallthrough.test")):
            with self.subTest(user=user):
                self.mark()
                sock, client, answer = self.connect(SCOPED_EXACT, user)
                sock.close()
                self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
                decision = self.proxy.wait_for(
                    since=self.since, event="decision", stage="connect", client=client
                )
                self.assertIdentifiedRecord(decision, user)
                self.assertEqual(
                    (decision["decision"], decision["reason"]), ("allow", "allowlisted")
                )
                self.assertEqual(
                    self._source_tail(decision["rule_source"]), self.policy_source(needle)
                )
                self.closeRecordOf(self.since, user, client=client)
                # The proxy connected upstream before its 200; let the origin count it now.
                self.assertTrue(
                    wait_until(lambda: self.origin.connections > self.connections_before)
                )

    def test_unscoped_host_is_still_not_allowlisted(self):
        self.assertRefused("app2.example.com", "not_allowlisted", user="alice")

    def test_sni_allowlisted_honours_the_identity_of_the_sni_rule(self):
        # ALIAS_FRONT lets the SNI differ, but ALICE_ONLY is allowed for alice only.
        self.assertServed(ALIAS_FRONT, user="alice", sni=ALICE_ONLY)
        self.mark()
        self.assertHelloRefused(ALIAS_FRONT, ALICE_ONLY, "sni_mismatch", user="bob")

    def test_sni_allowlisted_honours_the_source_of_the_sni_rule(self):
        self.assertHelloRefused(ALIAS_FRONT, SECOND_CLIENT_ONLY, "sni_mismatch", user="alice")
        self.mark()
        self.assertServed(ALIAS_FRONT, user="alice", source=SECOND, sni=SECOND_CLIENT_ONLY)

    def deny_rule_line(self):
        """Line of the deny rule's "- host:" (after "deny:", not the allow rule's)."""
        lines = self.policy_text.splitlines()
        start = lines.index("deny:")
        for number in range(start, len(lines)):
            if lines[number].strip() == f"- host: {EVERYONE_BUT_BOB}":
                return number + 1
        raise AssertionError("deny rule not in policy")


class SniAllowlisted(ScopeCase):
    """Without identities: the SNI knob and the client scope of the SNI name's own rule."""

    FRONT = "files.example.com"  # sni: allowlisted
    ALIAS = "example.com"  # allowed itself
    EXACT = "api.prefect.cloud"  # default sni: exact
    UNLISTED = "pypi.org"  # resolvable, allowed by no rule
    OTHER_PORT = "auth.workos.com"  # allowed, on another port only

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        port = cls.origin.port
        other_port = 1 if port != 1 else 2
        hosts = (cls.FRONT, cls.ALIAS, cls.EXACT, cls.UNLISTED, cls.OTHER_PORT)
        dns = "".join(f"    {host}: 127.0.0.1\n" for host in hosts)
        return f"""\
listen:
  - 127.0.0.1:0
prefect:
  cloud: false
allow:
  - host: {cls.FRONT}
    ports: [{port}]
    private: true
    sni: allowlisted
  - host: {cls.ALIAS}
    ports: [{port}]
    private: true
  - host: {cls.EXACT}
    ports: [{port}]
    private: true
    sni: exact
  - host: {cls.OTHER_PORT}
    ports: [{other_port}]
    private: true
dns:
  hosts:
{dns}"""

    def test_sni_equal_to_connect_host_is_served(self):
        self.assertServed(self.FRONT, rule_needle=f"- host: {self.FRONT}")

    def test_sni_naming_an_allowed_host_is_served(self):
        self.assertServed(self.FRONT, sni=self.ALIAS, rule_needle=f"- host: {self.FRONT}")

    def test_sni_naming_an_unlisted_host_is_sni_mismatch(self):
        self.assertHelloRefused(self.FRONT, self.UNLISTED, "sni_mismatch")

    def test_sni_naming_a_host_allowed_on_another_port_is_sni_mismatch(self):
        self.assertHelloRefused(self.FRONT, self.OTHER_PORT, "sni_mismatch")

    def test_missing_sni_is_still_no_sni(self):
        self.assertHelloRefused(self.FRONT, None, "no_sni")

    def test_exact_rule_refuses_an_allowed_alias(self):
        self.assertHelloRefused(self.EXACT, self.ALIAS, "sni_mismatch")

    def test_default_rule_refuses_an_allowed_alias(self):
        # ALIAS's rule has no sni: key, so it is exact: FRONT, though allowed, is a mismatch.
        self.assertHelloRefused(self.ALIAS, self.FRONT, "sni_mismatch")


class CertificateIdentityScopes(ListenerTestCase):
    """On a client_ca listener the certificate's CN is what users: matches."""

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.certs = {name: client_certificate(cls.pki, name) for name in ("alice", "bob")}

    @classmethod
    def policy(cls):
        test_pki = cls.pki
        return f"""\
listen:
  - address: 127.0.0.1:0
    tls:
      cert: {test_pki.server_cert}
      key: {test_pki.server_key}
      client_ca: {test_pki.ca_cert}
prefect:
  cloud: false
allow:
  - host: {ALICE_ONLY}
    ports: [{cls.origin.port}]
    private: true
    users: [alice]
dns:
  hosts:
    {ALICE_ONLY}: 127.0.0.1
"""

    def curl_as(self, name):
        crt, key = self.certs[name]
        return clients.curl(
            ["--proxy", f"https://127.0.0.1:{self.port}", "--proxy-cacert", self.pki.ca_cert,
             "--proxy-cert", crt, "--proxy-key", key, "--cacert", self.pki.ca_cert,
             f"https://{ALICE_ONLY}:{self.origin.port}/api/health"]
        )

    def test_certificate_cn_in_users_is_served(self):
        since = self.proxy.audit_mark()
        result = self.curl_as("alice")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)
        close = self.closeRecordOf(since, "alice", host=ALICE_ONLY)
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))

    def test_other_certificate_cn_is_not_in_scope(self):
        since, before = self.proxy.audit_mark(), self.origin.connections
        result = self.curl_as("bob")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"403", result.stderr)
        decision = self.proxy.wait_for(since=since, event="decision", stage="connect")
        self.assertIdentifiedRecord(decision, "bob")
        self.assertEqual((decision["decision"], decision["reason"]), ("deny", "not_in_scope"))
        close = self.closeRecordOf(since, "bob", conn=decision["conn"])
        self.assertEqual((close["status"], close["reason"]), (403, "not_in_scope"))
        self.assertEqual(self.origin.connections, before)


def run_check(text, stem):
    path = write_policy(text, stem)
    result = subprocess.run(
        [env.binary(), "check", "--config", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    return path, result


class CheckScopes(unittest.TestCase):
    def assertCheckError(self, text, stem, needle):
        path, result = run_check(text, stem)
        self.assertEqual(result.returncode, 2, result.stderr)
        # The position of the offending key, or of the rule that holds it.
        lines = (line_of(text, "- host:"), line_of(text, needle))
        self.assertRegex(result.stderr, re.escape(f"{path}:") + rf"({lines[0]}|{lines[1]}):\d+: ")
        self.assertIn(needle.rstrip(":"), result.stderr)

    def test_users_without_auth_or_client_ca_is_an_error(self):
        text = "allow:\n  - host: files.example.com\n    users: [alice]\n"
        self.assertCheckError(text, "users-without-identity", "users:")

    def test_unknown_sni_mode_is_an_error(self):
        text = "allow:\n  - host: files.example.com\n    sni: loose\n"
        self.assertCheckError(text, "sni-unknown", "sni:")

    def test_bad_clients_cidr_is_an_error(self):
        text = "allow:\n  - host: files.example.com\n    clients: [127.0.0.300/32]\n"
        self.assertCheckError(text, "clients-bad-cidr", "clients:")

    def test_users_with_a_client_ca_listener_is_accepted(self):
        test_pki = pki.get()
        text = f"""\
listen:
  - address: 127.0.0.1:0
    tls:
      cert: {test_pki.server_cert}
      key: {test_pki.server_key}
      client_ca: {test_pki.ca_cert}
allow:
  - host: files.example.com
    users: [alice]
    clients: [127.0.0.0/8]
    sni: allowlisted
"""
        _, result = run_check(text, "users-with-client-ca")
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
