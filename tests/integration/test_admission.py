"""Who may use the gate: clients.allow admits source networks (loopback only by default), and a
listener that would make fqdngate an open proxy is refused at start-up."""

import json
import socket
import subprocess
import unittest

from harness import clients, env
from harness.base import ProxyTestCase
from harness.proxy_process import write_policy
from harness.tls_origin import HttpOrigin

HOST = "api.prefect.cloud"
ADMITTED = "127.0.0.2"  # the only admitted client address; 127.0.0.1 is refused


class ClientsAllow(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
clients:
  allow: ["{ADMITTED}/32"]
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

    def test_client_outside_clients_allow_gets_403_and_nothing_is_contacted(self):
        since = self.proxy.audit_mark()
        before = self.origin.connections
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=clients.IO_TIMEOUT)
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(f"CONNECT {HOST}:{self.origin.port} HTTP/1.1\r\n\r\n".encode())
            answer = clients.read_answer(sock)
        self.assertErrorAnswer(answer, "client_not_allowed")
        decision = self.proxy.wait_for(since=since, event="decision", stage="admit", client=client)
        self.assertEqual((decision["decision"], decision["reason"]), ("deny", "client_not_allowed"))
        close = self.closeRecord(since, client=client)
        self.assertEqual((close["status"], close["reason"]), (403, "client_not_allowed"))
        # Refused before its request was read: the CONNECT host was never looked at.
        self.assertIsNone(close["host"])
        self.assertEqual(self.origin.connections, before)

    def test_client_inside_clients_allow_is_served(self):
        result = clients.curl(
            ["--interface", ADMITTED, "-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert,
             f"https://{HOST}:{self.origin.port}/api/health"]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIs(json.loads(result.stdout)["healthy"], True)


class OpenProxyRefused(unittest.TestCase):
    def run_proxy(self, *args):
        # Refused before any socket is bound, so this never listens on a public interface.
        return subprocess.run([env.binary(), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30)

    def test_listen_flag_on_all_interfaces_without_clients_allow(self):
        result = self.run_proxy("--listen", "0.0.0.0:0")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--listen 0.0.0.0:0: not a loopback address", result.stderr)
        self.assertIn("clients.allow", result.stderr)
        self.assertNotIn("listening on", result.stderr)

    def test_listen_key_on_all_interfaces_without_clients_allow(self):
        path = write_policy('listen: ["0.0.0.0:0"]\n', "open-proxy")
        result = self.run_proxy("--config", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"{path}:1:10: listen[0]:", result.stderr)
        self.assertIn("open proxy", result.stderr)
        self.assertNotIn("listening on", result.stderr)


if __name__ == "__main__":
    unittest.main()
