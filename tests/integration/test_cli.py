"""The command line: help, version, print-default | check, check errors with file:line:column,
explain, and running with the embedded default policy."""

import os
import re
import subprocess
import unittest

from harness import clients, env
from harness.base import ProxyTestCase
from harness.proxy_process import line_of, write_policy

EXPLAIN_POLICY = """\
prefect:
  cloud: false
allow:
  - files.example.com
  - host: registry.example.com
    ports: [5000]
deny:
  - evil.example.com
"""


def run(*args, stdin=None):
    return subprocess.run(
        [env.binary(), *args],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=30,
    )


def field(output, name):
    """The value of the `name: value` line in explain's output."""
    match = re.search(rf"^\s*{name}:\s*(.*)$", output, re.MULTILINE)
    return match.group(1).strip() if match else None


class CommandLine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.explain_policy = write_policy(EXPLAIN_POLICY, "explain")
        cls.explain_name = os.path.basename(cls.explain_policy)

    def explain(self, *args):
        return run("explain", "--config", self.explain_policy, *args)

    def test_help_exits_zero_and_lists_commands(self):
        result = run("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout + result.stderr
        for word in ("--config", "--listen", "check", "explain", "print-default"):
            self.assertIn(word, text)

    def test_version(self):
        result = run("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "fqdngate 0.1.0")

    def test_unknown_option_is_usage_error(self):
        result = run("--no-such-option")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--no-such-option", result.stderr)

    def test_print_default_is_accepted_by_check(self):
        printed = run("print-default")
        self.assertEqual(printed.returncode, 0, printed.stderr)
        self.assertIn("telemetry: block", printed.stdout)
        path = write_policy(printed.stdout, "printed-default")
        checked = run("check", "--config", path)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        for host in ("api.prefect.cloud", "app.prefect.cloud", "auth.workos.com",
                     "api2.amplitude.com", "sens-o-matic.prefect.io"):
            self.assertIn(host, checked.stdout)

    def test_check_bad_port_names_file_line_and_column(self):
        text = "allow:\n  - host: files.example.com\n    ports: [http]\n"
        path = write_policy(text, "bad-port")
        result = run("check", "--config", path)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.returncode, 2)
        line = line_of(text, "[http]")
        self.assertRegex(result.stderr, re.escape(f"{path}:{line}:") + r"\d+: ")
        self.assertIn("http", result.stderr)

    def test_check_yaml_syntax_error_names_file_and_line(self):
        text = "allow:\n  - files.example.com\n  - [unclosed\n"
        path = write_policy(text, "bad-syntax")
        result = run("check", "--config", path)
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr, re.escape(path) + r":\d+:\d+: ")

    def test_explain_allow_names_rule_line(self):
        result = self.explain("files.example.com")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(field(result.stdout, "decision"), "allow")
        self.assertEqual(field(result.stdout, "reason"), "allowlisted")
        line = line_of(EXPLAIN_POLICY, "- files.example.com")
        self.assertIn(f"{self.explain_name}:{line}", field(result.stdout, "rule"))

    def test_explain_port_of_structured_rule(self):
        allowed = self.explain("registry.example.com:5000")
        self.assertEqual(allowed.returncode, 0, allowed.stdout + allowed.stderr)
        line = line_of(EXPLAIN_POLICY, "- host: registry.example.com")
        self.assertIn(f"{self.explain_name}:{line}", field(allowed.stdout, "rule"))
        denied = self.explain("registry.example.com:443")
        self.assertEqual(denied.returncode, 1)
        self.assertEqual(field(denied.stdout, "reason"), "port_not_allowed")

    def test_explain_deny_rule_and_default_deny(self):
        denied = self.explain("evil.example.com:443")
        self.assertEqual(denied.returncode, 1, denied.stdout + denied.stderr)
        self.assertEqual(field(denied.stdout, "decision"), "deny")
        self.assertEqual(field(denied.stdout, "reason"), "denylisted")
        line = line_of(EXPLAIN_POLICY, "- evil.example.com")
        self.assertIn(f"{self.explain_name}:{line}", field(denied.stdout, "rule"))

        unlisted = self.explain("example.org")
        self.assertEqual(unlisted.returncode, 1)
        self.assertEqual(field(unlisted.stdout, "decision"), "deny")
        self.assertEqual(field(unlisted.stdout, "reason"), "not_allowlisted")

    def test_explain_sni_mismatch(self):
        result = self.explain("files.example.com", "--sni", "evil.example.com")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(field(result.stdout, "decision"), "deny")
        self.assertEqual(field(result.stdout, "reason"), "sni_mismatch")


class ShippedPolicies(unittest.TestCase):
    def test_every_example_policy_in_deploy_passes_check(self):
        folder = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "policies")
        names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml"))
        self.assertGreater(len(names), 0)
        for name in names:
            with self.subTest(policy=name):
                result = run("check", "--config", os.path.join(folder, name))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("policy OK", result.stdout)


class DefaultPolicyRun(ProxyTestCase):
    """No --config: the embedded Prefect Cloud policy with telemetry blocked."""

    @classmethod
    def policy(cls):
        return None

    def refuse(self, target):
        sock, answer = clients.connect(self.port, target)
        sock.close()
        return answer

    def test_unlisted_host_is_denied(self):
        since = self.proxy.audit_mark()
        answer = self.refuse("example.com:443")
        self.assertErrorAnswer(answer, "not_allowlisted", rule_text="default deny")
        self.assertRefusalAudited(since, "example.com", "not_allowlisted")

    def test_telemetry_is_denylisted(self):
        since = self.proxy.audit_mark()
        answer = self.refuse("api2.amplitude.com:443")
        self.assertErrorAnswer(answer, "denylisted", rule_text="prefect.telemetry")
        decision, _ = self.assertRefusalAudited(since, "api2.amplitude.com", "denylisted")
        self.assertIn("prefect.telemetry", decision["rule"])
        self.assertTrue(decision["rule_source"].startswith("<default>"), decision)

    def test_prefect_cloud_endpoints_are_allowed(self):
        # Checked with explain: a live tunnel would resolve api.prefect.cloud through the
        # system resolver, and tests send no traffic beyond loopback.
        for host in ("api.prefect.cloud", "app.prefect.cloud", "auth.workos.com"):
            result = run("explain", f"{host}:443")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(field(result.stdout, "decision"), "allow")
            self.assertEqual(field(result.stdout, "reason"), "allowlisted")
            self.assertIn("(prefect.cloud) at <default>:", field(result.stdout, "rule"))
        result = run("explain", "api.prefect.cloud:80")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(field(result.stdout, "reason"), "port_not_allowed")

if __name__ == "__main__":
    unittest.main()
