"""A TestCase base: one fresh proxy per test class, plus the assertions every suite shares."""

import os
import re
import unittest

from . import pki
from .proxy_process import ProxyProcess, line_of

ERROR_STATUS = {
    "denylisted": 403,
    "not_allowlisted": 403,
    "port_not_allowed": 403,
    "ip_literal": 403,
    "private_address": 403,
    "client_not_allowed": 403,
    "not_in_scope": 403,
    "auth_required": 407,
    "auth_failed": 407,
    "too_many_connections": 503,
    "bad_request": 400,
    "method_not_allowed": 405,
    "header_timeout": 408,
    "header_too_large": 431,
    "dns_failure": 502,
    "upstream_refused": 502,
    "upstream_unreachable": 502,
    "dns_timeout": 504,
    "upstream_timeout": 504,
}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class ProxyTestCase(unittest.TestCase):
    """Subclasses override start_servers() (origins, DNS; register stops with addClassCleanup)
    and policy() (YAML text, may use what start_servers() made)."""

    proxy_args = ()
    proxy_env = None  # extra environment variables for the proxy process
    max_open_files = None  # RLIMIT_NOFILE for the proxy

    @classmethod
    def start_servers(cls):
        pass

    @classmethod
    def policy(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.pki = pki.get()
        cls.start_servers()
        cls.policy_text = cls.policy()
        cls.proxy = ProxyProcess(
            cls.policy_text,
            stem=cls.__name__,
            extra_args=cls.proxy_args,
            extra_env=cls.proxy_env,
            max_open_files=cls.max_open_files,
        )
        cls.proxy.start()
        # Registered last so it runs first: the proxy stops (and must exit 0) before origins.
        cls.addClassCleanup(cls.proxy.stop)

    @classmethod
    def start_origin(cls, origin):
        cls.addClassCleanup(origin.stop)
        return origin

    @property
    def port(self):
        return self.proxy.port

    # Assertions.

    def assertErrorAnswer(self, answer, reason, rule_text=None):
        """A refusal exactly as specified: status, headers, and a short body naming the reason."""
        status = ERROR_STATUS[reason]
        self.assertEqual(answer.status, status, answer.head)
        self.assertEqual(answer.header("X-Fqdngate-Reason"), reason, answer.head)
        media_type = answer.header("Content-Type").split(";")[0].strip()
        self.assertEqual(media_type, "text/plain", answer.head)
        self.assertEqual(answer.header("Connection"), "close", answer.head)
        self.assertEqual(int(answer.header("Content-Length")), len(answer.body), answer.head)
        text = answer.body.decode("utf-8")
        lines = text.rstrip("\n").split("\n")
        self.assertLessEqual(len(lines), 2, text)
        self.assertTrue(text.startswith("fqdngate: "), text)
        self.assertIn(reason, text)
        if rule_text is not None:
            self.assertIn(rule_text, text)

    def assertRecordShape(self, record):
        self.assertRegex(record["time"], TIME_RE)
        self.assertIn(record["event"], ("decision", "close"))
        self.assertIsInstance(record["conn"], int)
        self.assertRegex(record["client"], r"^127\.0\.0\.1:\d+$")
        self.assertIsNone(record["user"])
        self.assertIn("policy_version", record)

    def closeRecord(self, since, **fields):
        """The one close line matching fields (waits for it); fails if there are two."""
        record = self.proxy.wait_for(since=since, event="close", **fields)
        self.assertRecordShape(record)
        self.assertEqual(len(self.proxy.matching(conn=record["conn"], event="close")), 1)
        return record

    def assertRefusalAudited(self, since, host, reason, rule_source=None):
        """Decision line at stage connect plus the single close line, for a refused CONNECT."""
        decision = self.proxy.wait_for(since=since, event="decision", host=host, reason=reason)
        self.assertRecordShape(decision)
        self.assertEqual(decision["decision"], "deny")
        self.assertIsNone(decision["upstream"])
        if rule_source is not None:
            self.assertEqual(self._source_tail(decision["rule_source"]), rule_source)
        close = self.closeRecord(since, conn=decision["conn"])
        self.assertEqual(close["status"], ERROR_STATUS[reason])
        self.assertEqual(close["reason"], reason)
        self.assertEqual(close["bytes_up"], 0)
        self.assertEqual(close["bytes_down"], 0)
        return decision, close

    def policy_source(self, needle):
        """The rule_source a rule on the line containing needle must carry ("file:line")."""
        return f"{os.path.basename(self.proxy.policy_path)}:{line_of(self.policy_text, needle)}"

    @staticmethod
    def _source_tail(rule_source):
        """rule_source with any directory removed, so tests need not know how the path is shown."""
        if rule_source is None:
            return None
        return rule_source.rsplit("/", 1)[-1]
