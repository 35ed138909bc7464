"""Started as root with --user, fqdngate binds its listener, then runs as that user: uid, gid and
groups all dropped, and it still serves tunnels and stops cleanly."""

import json
import os
import pwd
import unittest

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin

HOST = "api.prefect.cloud"
USER = "nobody"


def proc_ids(pid):
    """{'Uid': [...], 'Gid': [...], 'Groups': [...]} from /proc/PID/status."""
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = [int(v) for v in value.split()]
    return ids


@unittest.skipUnless(os.geteuid() == 0, "needs root to test dropping it")
class DropToUser(ProxyTestCase):
    proxy_args = ("--user", USER)
    # LeakSanitizer cannot inspect a process that changed its uid (it is no longer dumpable);
    # leaks are checked by every other test.
    proxy_env = {"ASAN_OPTIONS": "detect_leaks=0"}

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

    def test_runs_as_the_user_after_binding(self):
        account = pwd.getpwnam(USER)
        ids = proc_ids(self.proxy.proc.pid)
        self.assertEqual(ids["Uid"], [account.pw_uid] * 4)
        self.assertEqual(ids["Gid"], [account.pw_gid] * 4)
        self.assertNotIn(0, ids["Groups"])
        self.assertNotIn("running as root", self.proxy.stderr_text())

    def test_still_serves_tunnels(self):
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{HOST}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)


if __name__ == "__main__":
    unittest.main()
