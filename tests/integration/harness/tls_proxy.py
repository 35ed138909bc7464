"""The proxy with the listeners its policy names (`listen:`), some of them TLS listeners.

ListenerProxyProcess starts fqdngate without --listen and waits for one "listening on" line per
listener (policy entries use port 0, so each line carries the port the kernel picked);
ListenerTestCase is ProxyTestCase with that process. The helpers open CONNECTs over TLS to
the proxy and check audit lines that carry an identity.
"""

import asyncio
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from unittest import mock

import httpx

from . import clients, env, pki
from .base import TIME_RE, ProxyTestCase
from .proxy_process import START_TIMEOUT, STOP_TIMEOUT, ProxyProcess
from .tls_stream import TLSStream

LISTENING_RE = re.compile(r"^fqdngate: listening on 127\.0\.0\.1:(\d+)( tls)? \(policy ")


class ListenerProxyProcess(ProxyProcess):
    def __init__(self, policy_text, listener_count, **kwargs):
        """listener_count: how many "listening on" lines to wait for (the policy's listen:)."""
        super().__init__(policy_text, **kwargs)
        self.listener_count = listener_count
        self.listeners = []  # [(port, is_tls)] in the order the proxy printed them

    def start(self):
        self.proc = subprocess.Popen(
            [env.binary(), "--config", self.policy_path, *self.extra_args],
            stdin=subprocess.DEVNULL,
            env=self.env,
            preexec_fn=self._limit_files if self.max_open_files else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        for target in (self._read_stdout, self._read_stderr):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._readers.append(t)
        if not self._ready.wait(START_TIMEOUT) or len(self.listeners) < self.listener_count:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(
                f"fqdngate did not print {self.listener_count} 'fqdngate: listening on "
                "127.0.0.1:PORT [tls] (policy ...)' lines; stderr:\n" + self.stderr_text()
            )
        return self

    def ports(self, tls):
        return [port for port, is_tls in self.listeners if is_tls == tls]

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self._cond:
                self._stderr.append(line)
                match = LISTENING_RE.match(line)
                if match:
                    self.listeners.append((int(match.group(1)), match.group(2) is not None))
                    if self.port is None:
                        self.port = int(match.group(1))
                    if len(self.listeners) == self.listener_count:
                        self._ready.set()
        self._ready.set()  # EOF before all ready lines: let start() fail fast


class ListenerTestCase(ProxyTestCase):
    """ProxyTestCase whose proxy listens where the policy says; listener_count must match the
    policy's listen: list. self.port is the first listener."""

    listener_count = 1

    @classmethod
    def setUpClass(cls):
        cls.pki = pki.get()
        cls.start_servers()
        cls.policy_text = cls.policy()
        cls.proxy = ListenerProxyProcess(
            cls.policy_text,
            cls.listener_count,
            stem=cls.__name__,
            extra_args=cls.proxy_args,
            extra_env=cls.proxy_env,
            max_open_files=cls.max_open_files,
        )
        cls.proxy.start()
        cls.addClassCleanup(cls.proxy.stop)

    def assertIdentifiedRecord(self, record, user):
        """assertRecordShape, but for a line that carries an identity (or None)."""
        self.assertRegex(record["time"], TIME_RE)
        self.assertIn(record["event"], ("decision", "close"))
        self.assertIsInstance(record["conn"], int)
        self.assertRegex(record["client"], r"^127\.0\.0\.\d+:\d+$")
        self.assertIn("user", record)
        self.assertEqual(record["user"], user, record)
        self.assertIn("policy_version", record)

    def closeRecordOf(self, since, user, **fields):
        """closeRecord for connections that may carry an identity."""
        record = self.proxy.wait_for(since=since, event="close", **fields)
        self.assertIdentifiedRecord(record, user)
        self.assertEqual(len(self.proxy.matching(conn=record["conn"], event="close")), 1)
        return record


def client_certificate(pki, name, other_ca=False):
    """(NAME.crt, NAME.key) with CN=NAME from certs/make-client-cert.sh, signed by the test CA
    (or, with other_ca, by an unrelated CA the proxy does not trust), next to the test PKI."""
    script = os.path.join(os.path.dirname(env.certs_script()), "make-client-cert.sh")
    out = os.path.dirname(pki.ca_cert)
    subprocess.run(
        [script, *(["--other-ca"] if other_ca else []), out, name],
        check=True,
        timeout=60,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return os.path.join(out, f"{name}.crt"), os.path.join(out, f"{name}.key")


def httpx_through_tls_proxy(pki, proxy_url, method, url, **kwargs):
    """One httpx request through an https:// proxy URL, trusting the test CA for both the proxy
    and the origin; returns the response (body read).

    httpx 0.23 (Debian 12) can only nest TLS in TLS with its async client, and it verifies the
    proxy with ssl.create_default_context(), which honours SSL_CERT_FILE; newer httpx takes
    httpx.Proxy(url, ssl_context=...) instead."""

    async def request():
        async with httpx.AsyncClient(proxies=proxy_url, verify=pki.ca_cert, timeout=30) as c:
            return await c.request(method, url, **kwargs)

    with mock.patch.dict(os.environ, {"SSL_CERT_FILE": pki.ca_cert}):
        return asyncio.run(request())


def client_context(pki, cert=None, key=None):
    """Verifying context for the TLS to the proxy: trusts the test CA only, optionally presents
    a client certificate."""
    ctx = pki.client_context()
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def tls_to_proxy(port, ctx, timeout=clients.IO_TIMEOUT):
    """(TLS socket to the proxy's TLS listener, "ip:port" of the client side). The handshake is
    done; with TLS 1.3 a refused client certificate shows only on the first read."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    client = "%s:%d" % raw.getsockname()[:2]
    try:
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1"), client
    except BaseException:
        raw.close()
        raise


def connect_over_tls(port, ctx, target, headers=(), timeout=clients.IO_TIMEOUT):
    """CONNECT through a TLS listener; returns (TLS socket, client "ip:port", answer). The caller
    closes the socket."""
    sock, client = tls_to_proxy(port, ctx, timeout)
    try:
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", *headers]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock, client, clients.read_answer(sock, timeout)
    except BaseException:
        sock.close()
        raise


def refused_handshake(port, ctx, target, timeout=clients.IO_TIMEOUT):
    """Tries TLS + CONNECT on a client_ca listener that must refuse the client; returns (client
    "ip:port", the exception that ended it). Fails if a CONNECT answer arrives."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    client = "%s:%d" % raw.getsockname()[:2]
    deadline = time.monotonic() + timeout
    sock = raw
    try:
        sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        # TLS 1.3: the server checks the client's certificate after the client's handshake is
        # done, so the refusal (an alert, or just the close) arrives on the first read.
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        answer = clients.read_answer(sock, max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        raise
    except OSError as exc:  # ssl.SSLError, resets, or the close before any answer
        return client, exc
    finally:
        sock.close()
        raw.close()
    raise AssertionError(f"the proxy answered a refused client: {answer.head!r}")


class ProxyTLSStream(TLSStream):
    """The client's TLS to a TLS listener over a raw socket, with a half-close: close_notify
    goes out (the proxy's end-of-stream from this client) while reading goes on."""

    def shutdown_send(self):
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # close_notify is written; the peer's comes later
        self._flush()

    def read_head(self, timeout=clients.IO_TIMEOUT):
        """The proxy's answer head (through the blank line) and any bytes after it."""
        deadline = time.monotonic() + timeout
        buf = b""
        for _ in range(clients.MAX_HEAD):
            if b"\r\n\r\n" in buf or time.monotonic() > deadline:
                break
            chunk = self.recv()
            if not chunk:
                break
            buf += chunk
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            raise ConnectionError(f"no complete answer head; got {buf!r}")
        return head + sep, rest

    def read_until_closed(self, timeout=clients.IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        data = b""
        for _ in range(1 << 20):
            if time.monotonic() > deadline:
                raise TimeoutError(f"peer did not close; got {data!r}")
            chunk = self.recv()
            if not chunk:
                return data
            data += chunk
        return data
