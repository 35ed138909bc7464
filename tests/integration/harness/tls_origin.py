"""Origins the proxy tunnels to: threaded servers on 127.0.0.1, port 0.

Every origin counts the TCP connections it accepted and the raw bytes it received, so a test
can assert that a denied request reached nothing at all (0 connections) or that a refused tunnel
forwarded nothing (0 bytes; a TCP connect and close may still be seen).
"""

import json
import socket
import struct
import threading

from .tls_stream import TLSStream

IO_TIMEOUT = 15.0


class Origin:
    """Accept loop plus one thread per connection; subclasses implement serve(sock)."""

    def __init__(self, name="origin"):
        self.name = name
        self._lock = threading.Lock()
        self._connections = 0
        self._bytes_received = 0
        self._stopping = threading.Event()
        self._threads = []
        self._open = set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    @property
    def connections(self):
        with self._lock:
            return self._connections

    @property
    def bytes_received(self):
        with self._lock:
            return self._bytes_received

    def count_received(self, n):
        with self._lock:
            self._bytes_received += n

    def stop(self):
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self.listener.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes handlers blocked in recv
            except OSError:
                pass
        for t in list(self._threads):
            t.join(timeout=5)

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._connections += 1
                self._open.add(sock)
            t = threading.Thread(target=self._serve_and_close, args=(sock,), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _serve_and_close(self, sock):
        sock.settimeout(IO_TIMEOUT)
        try:
            self.serve(sock)
        except (OSError, ValueError, TimeoutError):
            pass  # peers that vanish or are refused mid-way are part of what is tested
        finally:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    def serve(self, sock):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _TLSOrigin(Origin):
    def __init__(self, pki, name):
        self._ctx = pki.server_context()
        super().__init__(name)

    def serve(self, sock):
        stream = TLSStream(
            self._ctx, server_side=True, timeout=IO_TIMEOUT, on_raw_recv=self.count_received
        )
        stream.attach(sock)
        try:
            stream.handshake()
            self.serve_tls(stream)
        except OSError:
            pass
        finally:
            stream.close()

    def serve_tls(self, stream):
        raise NotImplementedError


class HttpOrigin(_TLSOrigin):
    """HTTPS/1.1: GET /api/health answers JSON naming the Host header; POST /echo echoes."""

    MAX_REQUESTS_PER_CONNECTION = 100

    def __init__(self, pki, name="https-origin"):
        super().__init__(pki, name)

    def serve_tls(self, stream):
        reader = _Reader(stream)
        for _ in range(self.MAX_REQUESTS_PER_CONNECTION):
            head = reader.read_head()
            if head is None:
                return
            method, path, headers = _parse_head(head)
            body = reader.read_body(headers)
            if method == "GET" and path == "/api/health":
                payload = {"healthy": True, "host": headers.get("host", ""), "origin": self.name}
                status, ctype, out = 200, "application/json", json.dumps(payload).encode()
            elif method == "POST" and path == "/echo":
                status, ctype, out = 200, "application/octet-stream", body
            else:
                status, ctype, out = 404, "text/plain", b"not found\n"
            close = headers.get("connection", "").lower() == "close"
            stream.sendall(
                (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(out)}\r\n"
                    f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
                ).encode()
                + out
            )
            if close:
                return


class TLSEchoOrigin(_TLSOrigin):
    """Raw TLS: each message is an 8-byte big-endian length and that many bytes; the whole
    message is read before it is echoed, so a client may send everything, then read."""

    MAX_MESSAGES = 100

    def __init__(self, pki, name="tls-echo-origin"):
        super().__init__(pki, name)

    def serve_tls(self, stream):
        for _ in range(self.MAX_MESSAGES):
            prefix = stream.recv_exactly(8)
            if len(prefix) < 8:
                return
            (length,) = struct.unpack(">Q", prefix)
            data = stream.recv_exactly(length)
            if len(data) < length:
                return
            stream.sendall(data)


def echo_message(payload):
    """Frames payload for TLSEchoOrigin."""
    return struct.pack(">Q", len(payload)) + payload


class TcpCountOrigin(Origin):
    """Plain TCP: reads until the client half-closes, answers b"<count>\\n", then closes."""

    def __init__(self, name="tcp-count-origin"):
        super().__init__(name)

    def serve(self, sock):
        total = 0
        for _ in range(1 << 20):
            chunk = sock.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            self.count_received(len(chunk))
        sock.sendall(f"{total}\n".encode())


class _Reader:
    """Buffered reads of HTTP/1.1 heads and bodies from a TLSStream."""

    MAX_HEAD = 65536

    def __init__(self, stream):
        self.stream = stream
        self.buf = b""

    def _more(self):
        chunk = self.stream.recv()
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > self.MAX_HEAD or not self._more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def read_exactly(self, n):
        while len(self.buf) < n:
            if not self._more():
                raise ValueError("body cut short")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > self.MAX_HEAD or not self._more():
                raise ValueError("line cut short")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_body(self, headers):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            for _ in range(1 << 20):
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    self.read_line()
                    return b"".join(parts)
                parts.append(self.read_exactly(size))
                self.read_line()
            raise ValueError("too many chunks")
        return self.read_exactly(int(headers.get("content-length", "0")))


def _parse_head(head):
    lines = head.split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return method, path, headers
