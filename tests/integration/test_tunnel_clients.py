"""Real clients (curl, httpx, openssl s_client) reach an HTTPS origin through fqdngate."""

import asyncio
import json
import os
import subprocess
import unittest
from unittest import mock

import httpx
import websockets
from python_socks.sync import Proxy

from harness import clients
from harness.base import ProxyTestCase
from harness.tls_origin import HttpOrigin
from harness.waiting import wait_until
from harness.ws_origin import WebsocketEchoOrigin

HOST = "api.prefect.cloud"
MIB = 1 << 20


class TunnelClients(ProxyTestCase):
    @classmethod
    def start_servers(cls):
        cls.origin = cls.start_origin(HttpOrigin(cls.pki))
        cls.ws_origin = cls.start_origin(WebsocketEchoOrigin(cls.pki))

    @classmethod
    def policy(cls):
        return f"""\
prefect:
  cloud: false
  telemetry: block
allow:
  - host: {HOST}
    ports: [{cls.origin.port}, {cls.ws_origin.port}]
    private: true
dns:
  hosts:
    {HOST}: 127.0.0.1
"""

    def url(self, path):
        return f"https://{HOST}:{self.origin.port}{path}"

    def assertHealthBody(self, body):
        payload = json.loads(body)
        self.assertIs(payload["healthy"], True)
        self.assertEqual(payload["host"], f"{HOST}:{self.origin.port}")

    def assertTunnelAudited(self, since, origin_bytes_before, min_bytes=1):
        """Connect and TLS decisions allowed by the policy's rule; one close line whose
        bytes_up is exactly what the origin received."""
        connect = self.proxy.wait_for(since=since, event="decision", stage="connect", host=HOST)
        self.assertRecordShape(connect)
        self.assertEqual(connect["decision"], "allow")
        self.assertEqual(connect["method"], "CONNECT")
        self.assertEqual(connect["port"], self.origin.port)
        self.assertEqual(
            self._source_tail(connect["rule_source"]), self.policy_source(f"- host: {HOST}")
        )
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=connect["conn"])
        self.assertEqual(tls["decision"], "allow")
        self.assertEqual(tls["sni"], HOST)
        close = self.closeRecord(since, conn=connect["conn"])
        self.assertEqual(close["status"], 200)
        self.assertEqual(close["reason"], "closed", close)
        self.assertEqual(close["upstream"], f"127.0.0.1:{self.origin.port}")
        self.assertGreaterEqual(close["bytes_up"], min_bytes)
        self.assertGreaterEqual(close["bytes_down"], min_bytes)
        self.assertGreaterEqual(close["duration_ms"], 0)
        expected = origin_bytes_before + close["bytes_up"]
        self.assertEqual(wait_until(lambda: self.origin.bytes_received >= expected), True)
        self.assertEqual(self.origin.bytes_received, expected)
        return close

    def test_connect_answer_is_exactly_connection_established(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        sock, answer = clients.connect(self.port, f"{HOST}:{self.origin.port}")
        with sock:
            client = "%s:%d" % sock.getsockname()[:2]
            self.assertEqual(answer.head, clients.CONNECTION_ESTABLISHED)
            self.assertEqual(answer.rest, b"")
        # Closed before any ClientHello: nothing may have been forwarded.
        close = self.closeRecord(since, client=client)
        self.assertEqual(close["status"], 200)
        self.assertEqual((close["bytes_up"], close["bytes_down"]), (0, 0))
        self.assertEqual(self.origin.bytes_received, before)

    def test_curl_proxy_option_reaches_health(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        result = clients.curl(
            ["-x", self.proxy.proxy_url, "--cacert", self.pki.ca_cert, self.url("/api/health")]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertHealthBody(result.stdout)
        self.assertTunnelAudited(since, before)

    def test_curl_https_proxy_env_reaches_health(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        env = clients.clean_env(HTTPS_PROXY=self.proxy.proxy_url)
        result = clients.curl(["--cacert", self.pki.ca_cert, self.url("/api/health")], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertHealthBody(result.stdout)
        self.assertTunnelAudited(since, before)

    def test_httpx_proxies_argument_get(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        with httpx.Client(proxies=self.proxy.proxy_url, verify=self.pki.ca_cert, timeout=20) as c:
            response = c.get(self.url("/api/health"))
        self.assertEqual(response.status_code, 200)
        self.assertHealthBody(response.content)
        self.assertTunnelAudited(since, before)

    def test_httpx_https_proxy_env_with_trust_env(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        env = clients.clean_env(HTTPS_PROXY=self.proxy.proxy_url)
        with mock.patch.dict(os.environ, env, clear=True):
            with httpx.Client(verify=self.pki.ca_cert, trust_env=True, timeout=20) as c:
                response = c.get(self.url("/api/health"))
        self.assertEqual(response.status_code, 200)
        self.assertHealthBody(response.content)
        self.assertTunnelAudited(since, before)

    def test_httpx_one_mib_post_echoed_byte_for_byte(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        payload = os.urandom(MIB)
        with httpx.Client(proxies=self.proxy.proxy_url, verify=self.pki.ca_cert, timeout=30) as c:
            response = c.post(
                self.url("/echo"),
                content=payload,
                headers={"Content-Type": "application/octet-stream"},
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.content), MIB)
        self.assertTrue(response.content == payload, "echoed body differs from the upload")
        # TLS framing adds a little on top of the payload in each direction.
        self.assertTunnelAudited(since, before, min_bytes=MIB)

    def test_openssl_s_client_verifies_origin_through_proxy(self):
        since, before = self.proxy.audit_mark(), self.origin.bytes_received
        request = f"GET /api/health HTTP/1.1\r\nHost: {HOST}:{self.origin.port}\r\n"
        request += "Connection: close\r\n\r\n"
        result = subprocess.run(
            [
                "openssl",
                "s_client",
                "-proxy",
                f"127.0.0.1:{self.port}",
                "-connect",
                f"{HOST}:{self.origin.port}",
                "-servername",
                HOST,
                "-verify_hostname",
                HOST,
                "-CAfile",
                self.pki.ca_cert,
                "-verify_return_error",
                "-ign_eof",
            ],
            input=request.encode(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=30,
        )
        out = result.stdout.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertIn("HTTP/1.1 200 OK", out)
        body = out[out.index("HTTP/1.1 200 OK") :].split("\r\n\r\n", 1)[1]
        self.assertHealthBody(body[: body.index("}") + 1])
        self.assertTunnelAudited(since, before)

    def test_websocket_through_python_socks_tunnel(self):
        # The way Prefect workers reach Cloud's websocket: python-socks opens the CONNECT
        # tunnel, websockets speaks TLS + websocket over that socket.
        since = self.proxy.audit_mark()
        port = self.ws_origin.port
        sock = Proxy.from_url(self.proxy.proxy_url).connect(HOST, port, timeout=10)
        messages = [os.urandom(100_000), "ping from a worker"]

        async def exchange():
            async with websockets.connect(
                f"wss://{HOST}:{port}/api/events/in",
                sock=sock,
                ssl=self.pki.client_context(),
                server_hostname=HOST,
                open_timeout=10,
            ) as ws:
                replies = []
                for message in messages:
                    await ws.send(message)
                    replies.append(await asyncio.wait_for(ws.recv(), 10))
                return replies

        self.assertEqual(asyncio.run(exchange()), messages)
        self.assertEqual(self.ws_origin.payload_bytes, sum(len(m) for m in messages))
        connect = self.proxy.wait_for(since=since, event="decision", stage="connect", port=port)
        self.assertEqual(connect["decision"], "allow")
        tls = self.proxy.wait_for(since=since, event="decision", stage="tls", conn=connect["conn"])
        self.assertEqual((tls["decision"], tls["sni"]), ("allow", HOST))
        close = self.closeRecord(since, conn=connect["conn"])
        self.assertEqual(close["status"], 200)
        self.assertGreater(close["bytes_up"], 100_000)
        self.assertGreater(close["bytes_down"], 100_000)


if __name__ == "__main__":
    unittest.main()
