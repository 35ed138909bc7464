"""Proxy authentication (auth:): Basic credentials from a file written by `fqdngate passwd`.
No or bad credentials get 407 with a Proxy-Authenticate challenge and reach nothing; good ones
put the user in every later audit line. `fqdngate passwd` and `check` on credentials files."""

import base64
import json
import os
import re
import socket
import stat
import subprocess
import unittest
from urllib.parse import quote

import httpx

from harness import clients, credentials, env, pki
from harness.proxy_process import write_policy
from harness.tls_origin import HttpOrigin
from harness.tls_proxy import ListenerTestCase
from harness.waiting import wait_until

HOST = "api.prefect.cloud"
PASSWORD = "correct horse battery staple"
PBKDF2_PASSWORD = "pbkdf2 pass: with colon"
BOB_PASSWORD = "bob's password"
CHALLENGE = 'Basic realm="fqdngate", charset="UTF-8"'
SCRYPT_LINE_RE = r"\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*"
PBKDF2_LINE_RE = r"\$pbkdf2-sha256\$i=600000\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*"


def run(*args):
    return subprocess.run(
        [env.binary(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )


def cleartext_warnings(stderr):
    """The start-up warnings about passwords crossing the network in clear (there may be others,
    e.g. about running as root)."""
    return [line for line in stderr.splitlines() if "warning" in line and "clear" in line]


class ProxyAuth(ListenerTestCase):
    # A plain listener named by the policy (not --listen), like a deployment would.
    listener_count = 1

    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.passwd_path = credentials.make_file(
            cls.__name__,
            {"alice": "old password", "bob": BOB_PASSWORD, "carol": PBKDF2_PASSWORD},
            pbkdf2_users=("carol",),
        )
        # Replaces alice's line: only the new password may work. dave's password is the first
        # line of stdin only.
        for user, stdin in (("alice", PASSWORD), ("dave", "dave's password\nsecond line")):
            result = credentials.passwd(cls.passwd_path, user, stdin)
            if result.returncode != 0:
                raise AssertionError(result.stderr)

    @classmethod
    def policy(cls):
        return f"""\
listen:
  - 127.0.0.1:0
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
        self.connections_before = self.origin.connections

    def target(self):
        return f"{HOST}:{self.origin.port}"

    def url(self, path):
        return f"https://{HOST}:{self.origin.port}{path}"

    def refused(self, headers, reason):
        """CONNECT with headers; asserts the 407 and its audit lines; returns the decision."""
        sock = clients.open_connect(self.port, self.target(), headers=headers)
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
            answer = clients.read_answer(sock)
        self.assertErrorAnswer(answer, reason)
        self.assertEqual(answer.status, 407)
        self.assertEqual(answer.reason_phrase, "Proxy Authentication Required")
        self.assertEqual(answer.header("Proxy-Authenticate"), CHALLENGE, answer.head)
        decision = self.proxy.wait_for(since=self.since, event="decision", client=client)
        self.assertIdentifiedRecord(decision, None)
        self.assertEqual(
            (decision["stage"], decision["decision"], decision["reason"]), ("auth", "deny", reason)
        )
        self.assertIsNone(decision["upstream"])
        close = self.closeRecordOf(self.since, None, client=client)
        self.assertEqual((close["status"], close["reason"]), (407, reason))
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        # No other decision for this connection: it never got to the policy or the origin.
        decisions = self.proxy.matching(since=self.since, conn=close["conn"], event="decision")
        self.assertEqual([d["stage"] for d in decisions], ["auth"])
        self.assertEqual(self.origin.connections, self.connections_before)
        return decision

    def assertAuthenticatedTunnel(self, user):
        """Auth allowed with the user set; every later line of the connection names the user."""
        auth = self.proxy.wait_for(
            since=self.since, event="decision", stage="auth", reason="authenticated"
        )
        self.assertIdentifiedRecord(auth, user)
        self.assertEqual(auth["decision"], "allow")
        connect = self.proxy.wait_for(
            since=self.since, event="decision", stage="connect", conn=auth["conn"]
        )
        self.assertIdentifiedRecord(connect, user)
        self.assertEqual((connect["decision"], connect["host"]), ("allow", HOST))
        tls = self.proxy.wait_for(
            since=self.since, event="decision", stage="tls", conn=auth["conn"]
        )
        self.assertIdentifiedRecord(tls, user)
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", HOST))
        close = self.closeRecordOf(self.since, user, conn=auth["conn"])
        self.assertEqual((close["status"], close["reason"]), (200, "closed"))
        self.assertGreater(close["bytes_up"], 0)
        self.assertGreater(close["bytes_down"], 0)
        return close

    def curl_health(self, *proxy_args):
        result = clients.curl(
            ["-x", self.proxy.proxy_url, *proxy_args, "--cacert", self.pki.ca_cert,
             self.url("/api/health")]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)

    def test_loopback_listener_with_auth_prints_no_cleartext_warning(self):
        self.assertEqual(cleartext_warnings(self.proxy.stderr_text()), [])

    def test_no_credentials_is_407_auth_required(self):
        self.refused((), "auth_required")

    def test_wrong_password_is_auth_failed_naming_the_user_in_detail(self):
        decision = self.refused([credentials.basic("alice", "not the password")], "auth_failed")
        self.assertIn("alice", decision.get("detail", ""), decision)

    def test_replaced_password_no_longer_works(self):
        decision = self.refused([credentials.basic("alice", "old password")], "auth_failed")
        self.assertIn("alice", decision.get("detail", ""), decision)

    def test_unknown_user_is_auth_failed_naming_the_user_in_detail(self):
        decision = self.refused([credentials.basic("mallory", PASSWORD)], "auth_failed")
        self.assertIn("mallory", decision.get("detail", ""), decision)

    def test_non_basic_scheme_is_auth_failed(self):
        token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        self.refused([f"Proxy-Authorization: Bearer {token}"], "auth_failed")

    def test_bad_base64_is_auth_failed(self):
        self.refused(["Proxy-Authorization: Basic !!not*base64!!"], "auth_failed")

    def test_credentials_without_colon_are_auth_failed(self):
        token = base64.b64encode(b"alice").decode()
        self.refused([f"Proxy-Authorization: Basic {token}"], "auth_failed")

    def test_raw_connect_with_good_credentials_is_established(self):
        sock = clients.open_connect(
            self.port, self.target(), headers=[credentials.basic("alice", PASSWORD)]
        )
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
            answer = clients.read_answer(sock)
        self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
        auth = self.proxy.wait_for(since=self.since, event="decision", client=client, stage="auth")
        self.assertIdentifiedRecord(auth, "alice")
        self.assertEqual((auth["decision"], auth["reason"]), ("allow", "authenticated"))
        close = self.closeRecordOf(self.since, "alice", client=client)
        self.assertEqual(close["status"], 200)
        # The proxy connects upstream before its 200: let the origin count that connection now,
        # so it is not taken for one of the next test's.
        self.assertTrue(wait_until(lambda: self.origin.connections > self.connections_before))

    def test_curl_proxy_user(self):
        self.curl_health("--proxy-user", f"alice:{PASSWORD}")
        self.assertAuthenticatedTunnel("alice")

    def test_curl_proxy_user_pbkdf2_entry(self):
        self.curl_health("--proxy-user", f"carol:{PBKDF2_PASSWORD}")
        self.assertAuthenticatedTunnel("carol")

    def test_passwd_takes_the_first_line_of_stdin_as_the_password(self):
        self.curl_health("--proxy-user", "dave:dave's password")
        self.assertAuthenticatedTunnel("dave")

    def test_curl_without_proxy_user_sees_407(self):
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert, self.url("/api/health")]
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"407", result.stderr)
        self.assertEqual(self.origin.connections, self.connections_before)

    def test_httpx_proxy_url_with_userinfo(self):
        proxy = f"http://bob:{quote(BOB_PASSWORD, safe='')}@127.0.0.1:{self.port}"
        with httpx.Client(proxies=proxy, verify=self.pki.ca_cert, timeout=20) as c:
            response = c.get(self.url("/api/health"))
        self.assertEqual(response.status_code, 200)
        self.assertIs(response.json()["healthy"], True)
        self.assertAuthenticatedTunnel("bob")

    def test_httpx_without_credentials_is_proxy_error(self):
        with httpx.Client(proxies=self.proxy.proxy_url, verify=self.pki.ca_cert, timeout=20) as c:
            with self.assertRaises(httpx.ProxyError) as raised:
                c.get(self.url("/api/health"))
        self.assertIn("407", str(raised.exception))
        self.assertEqual(self.origin.connections, self.connections_before)

    def test_refusals_leave_authenticated_clients_served(self):
        for header in ((), [credentials.basic("alice", "wrong")], ["Proxy-Authorization: x"]):
            sock = clients.open_connect(self.port, self.target(), headers=header)
            with sock:
                self.assertEqual(clients.read_answer(sock).status, 407)
        self.assertEqual(self.origin.connections, self.connections_before)
        self.since = self.proxy.audit_mark()
        self.curl_health("--proxy-user", f"alice:{PASSWORD}")
        self.assertAuthenticatedTunnel("alice")


class PasswdCommand(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(env.scratch_dir(), f"passwd-{os.getpid()}-{self.id()}.txt")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.addCleanup(lambda: os.path.exists(self.path) and os.unlink(self.path))

    def lines(self):
        with open(self.path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if line]

    def test_writes_scrypt_entry_in_a_0600_file(self):
        result = credentials.passwd(self.path, "build-runner", PASSWORD)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        (line,) = self.lines()
        self.assertRegex(line, "^build-runner:" + SCRYPT_LINE_RE + "$")
        with open(self.path, encoding="utf-8") as f:
            self.assertNotIn(PASSWORD, f.read())

    def test_pbkdf2_option_writes_pbkdf2_entry(self):
        result = credentials.passwd(self.path, "worker", PASSWORD, "--pbkdf2")
        self.assertEqual(result.returncode, 0, result.stderr)
        (line,) = self.lines()
        self.assertRegex(line, "^worker:" + PBKDF2_LINE_RE + "$")

    def test_replaces_an_existing_users_line_and_keeps_the_others(self):
        for user, password in (("alice", "one"), ("bob", "two"), ("alice", "three")):
            result = credentials.passwd(self.path, user, password)
            self.assertEqual(result.returncode, 0, result.stderr)
            if (user, password) == ("bob", "two"):
                first = self.lines()
        final = self.lines()
        self.assertEqual(sorted(line.split(":", 1)[0] for line in final), ["alice", "bob"])
        bob_line = [line for line in first if line.startswith("bob:")]
        self.assertEqual([line for line in final if line.startswith("bob:")], bob_line)
        old_alice = [line for line in first if line.startswith("alice:")]
        new_alice = [line for line in final if line.startswith("alice:")]
        self.assertEqual(len(new_alice), 1)
        self.assertNotEqual(new_alice, old_alice)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)

    def test_salts_differ_for_the_same_password(self):
        other = self.path + ".2"
        self.addCleanup(lambda: os.path.exists(other) and os.unlink(other))
        for path in (self.path, other):
            result = credentials.passwd(path, "alice", PASSWORD)
            self.assertEqual(result.returncode, 0, result.stderr)
        with open(other, encoding="utf-8") as f:
            self.assertNotEqual(self.lines(), f.read().split())

    def test_user_name_of_64_bytes_is_accepted(self):
        result = credentials.passwd(self.path, "u" * 64, PASSWORD)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_bad_user_names_exit_2(self):
        for user in ("", "al:ice", "al\x01ice", "tab\there", "u" * 65):
            with self.subTest(user=user):
                result = credentials.passwd(self.path, user, PASSWORD)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertNotEqual(result.stderr.strip(), "")
                self.assertFalse(os.path.exists(self.path) and self.lines())

    def test_empty_password_exits_2(self):
        result = credentials.passwd(self.path, "alice", "")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotEqual(result.stderr.strip(), "")
        self.assertFalse(os.path.exists(self.path) and self.lines())


class CleartextWarning(unittest.TestCase):
    """auth: with a plain listener off loopback warns that passwords cross the network in clear.
    The address is one this host does not have: the warning comes before the bind fails, so
    nothing ever listens off loopback."""

    NOT_LOCAL = "198.51.100.1"  # TEST-NET-2

    @classmethod
    def setUpClass(cls):
        try:
            with socket.socket() as probe:
                probe.bind((cls.NOT_LOCAL, 0))
        except OSError:
            pass
        else:
            raise unittest.SkipTest(f"{cls.NOT_LOCAL} is an address of this host")
        cls.passwd_path = credentials.make_file(cls.__name__, {"alice": PASSWORD})

    def run_with_listener(self, listener, stem):
        text = f"""\
listen:
{listener}
clients:
  allow: [127.0.0.1/32]
auth:
  credentials: {self.passwd_path}
allow:
  - files.example.com
"""
        result = run("--config", write_policy(text, stem))
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{self.NOT_LOCAL}:0", result.stderr)
        self.assertNotIn("listening on", result.stderr)
        return result

    def test_plain_listener_off_loopback_warns(self):
        result = self.run_with_listener(f"  - {self.NOT_LOCAL}:0", "cleartext-plain")
        warnings = cleartext_warnings(result.stderr)
        self.assertEqual(len(warnings), 1, result.stderr)
        self.assertIn(f"{self.NOT_LOCAL}:0", warnings[0])

    def test_tls_listener_off_loopback_does_not_warn(self):
        test_pki = pki.get()
        listener = f"""\
  - address: {self.NOT_LOCAL}:0
    tls:
      cert: {test_pki.server_cert}
      key: {test_pki.server_key}"""
        result = self.run_with_listener(listener, "cleartext-tls")
        self.assertEqual(cleartext_warnings(result.stderr), [])


class CheckCredentials(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.good = credentials.make_file(cls.__name__, {"alice": PASSWORD})

    def policy_with(self, credentials_path, stem):
        text = f"""\
auth:
  credentials: {credentials_path}
allow:
  - files.example.com
"""
        return text, write_policy(text, stem)

    def test_valid_credentials_file_passes(self):
        _, path = self.policy_with(self.good, "auth-good")
        result = run("check", "--config", path)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_relative_credentials_path_is_relative_to_the_policy(self):
        # write_policy puts the policy in the scratch directory, next to the credentials file.
        self.assertEqual(os.path.dirname(self.good), env.scratch_dir())
        _, path = self.policy_with(os.path.basename(self.good), "auth-relative")
        result = subprocess.run(
            [env.binary(), "check", "--config", path],
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_malformed_credentials_line_names_credentials_file_and_line(self):
        bad = os.path.join(env.scratch_dir(), f"malformed-{os.getpid()}.passwd")
        with open(self.good, encoding="utf-8") as f:
            good_line = f.read().strip()
        with open(bad, "w", encoding="utf-8") as f:
            f.write(f"# proxy users\n{good_line}\nbob:$scrypt$not-a-hash\n")
        self.addCleanup(os.unlink, bad)
        _, path = self.policy_with(bad, "auth-malformed")
        result = run("check", "--config", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"{bad}:3", result.stderr)

    def test_missing_credentials_file_names_the_policy_line(self):
        missing = os.path.join(env.scratch_dir(), f"missing-{os.getpid()}.passwd")
        text, path = self.policy_with(missing, "auth-missing")
        result = run("check", "--config", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        line = text.splitlines().index(f"  credentials: {missing}") + 1
        self.assertRegex(result.stderr, re.escape(f"{path}:{line}:") + r"\d+: ")
        self.assertIn(missing, result.stderr)


if __name__ == "__main__":
    unittest.main()
