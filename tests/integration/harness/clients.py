"""Client helpers: raw CONNECT over a socket, and the curl / openssl command-line clients."""

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field

IO_TIMEOUT = 10.0
MAX_HEAD = 65536
CONNECTION_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


@dataclass
class ProxyAnswer:
    status: int
    reason_phrase: str
    headers: dict = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    head: bytes = b""  # the raw status line and headers, with the blank line
    rest: bytes = b""  # bytes read after the head (the tunnel's first bytes, for a 200)

    def header(self, name):
        return self.headers.get(name.lower())


def open_connect(port, target, extra=b"", headers=(), timeout=IO_TIMEOUT):
    """Connects to the proxy and sends `CONNECT target` (plus `extra` in the same write)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", *headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + extra)
    return sock


def read_head(sock, deadline):
    """(head bytes including the blank line, bytes after it); raises if none arrives."""
    buf = b""
    for _ in range(MAX_HEAD):
        if b"\r\n\r\n" in buf:
            head, _, rest = buf.partition(b"\r\n\r\n")
            return head + b"\r\n\r\n", rest
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete answer head; got {buf!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection closed before a complete answer head; got {buf!r}")
        buf += chunk
    raise ValueError("answer head too long")


def read_answer(sock, timeout=IO_TIMEOUT):
    """Reads the proxy's answer: for errors the body too (by Content-Length)."""
    deadline = time.monotonic() + timeout
    head, rest = read_head(sock, deadline)
    lines = head.decode("latin-1").split("\r\n")
    _, status, phrase = (lines[0].split(" ", 2) + [""])[:3]
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    answer = ProxyAnswer(int(status), phrase, headers, head=head, rest=rest)
    if answer.status != 200:
        length = int(headers.get("content-length", "0"))
        body = rest
        for _ in range(MAX_HEAD):
            if len(body) >= length:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        answer.body, answer.rest = body[:length], body[length:]
    return answer


def read_until_closed(sock, timeout=IO_TIMEOUT):
    """Everything the peer sends until it closes (or resets); raises TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    data = b""
    for _ in range(1 << 20):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"peer did not close; got {data!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return data


def send_raw(port, data, timeout=IO_TIMEOUT):
    """Sends arbitrary bytes to the proxy and returns its parsed answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock, timeout)


def connect(port, target, timeout=IO_TIMEOUT):
    """CONNECT and read the answer; returns (socket, answer). The caller closes the socket."""
    sock = open_connect(port, target, timeout=timeout)
    try:
        return sock, read_answer(sock, timeout)
    except BaseException:
        sock.close()
        raise


def clean_env(**extra):
    """The environment for client subprocesses: no proxy settings but the ones a test gives."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(extra)
    return env


def curl(args, env=None, timeout=30):
    """Runs curl; returns the CompletedProcess (bytes stdout/stderr)."""
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "20", *args],
        env=env if env is not None else clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
    )
