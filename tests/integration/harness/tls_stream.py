"""TLS over a plain socket through ssl.MemoryBIO.

Used on both sides because it lets a test see the raw bytes: origins count exactly what reached
them (to prove that nothing did), and clients can take their ClientHello as bytes, send it in
odd pieces or glued to the CONNECT head, and then finish the handshake over the same socket.
"""

import socket
import ssl
import time


class TLSStream:
    def __init__(self, ctx, server_side, server_hostname=None, timeout=10.0, on_raw_recv=None):
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(
            self._in, self._out, server_side=server_side, server_hostname=server_hostname
        )
        self.sock = None
        self.timeout = timeout
        self._on_raw_recv = on_raw_recv

    def first_flight(self):
        """The client's first handshake bytes (the ClientHello), before any socket is attached."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self._out.read()

    def attach(self, sock):
        self.sock = sock

    def feed(self, data):
        """Hands raw bytes that were already read from the socket (e.g. after a proxy answer)."""
        if data:
            self._in.write(data)

    def handshake(self):
        self._run(self.tls.do_handshake)

    def recv(self, n=65536):
        """Up to n plaintext bytes; b"" at a clean or unclean end of stream."""
        try:
            return self._run(self.tls.read, n)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return b""

    def sendall(self, data):
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view and time.monotonic() < deadline:
            written = self._run(self.tls.write, view[:16384])
            view = view[written:]
        if view:
            raise TimeoutError("TLS write did not finish")

    def recv_exactly(self, n):
        chunks = []
        got = 0
        deadline = time.monotonic() + self.timeout
        while got < n and time.monotonic() < deadline:
            chunk = self.recv(min(65536, n - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def close(self, drain_timeout=5.0):
        """Graceful end: close_notify, FIN, then read until the peer closes too, so neither side
        sees a reset for bytes still in flight (the proxy reports that as a failure)."""
        if self.sock is None:
            return
        try:
            self.tls.unwrap()
        except (ssl.SSLError, OSError):
            pass
        try:
            self._flush()
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + drain_timeout
            for _ in range(1 << 16):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.sock.settimeout(remaining)
                data = self.sock.recv(65536)
                if self._on_raw_recv is not None:
                    self._on_raw_recv(len(data))
                if not data:
                    break
        except OSError:
            pass
        finally:
            self.sock.close()

    def _flush(self):
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no TLS bytes from peer before the deadline")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if self._on_raw_recv is not None:
            self._on_raw_recv(len(data))
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    def _run(self, op, *args):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                result = op(*args)
            except ssl.SSLWantReadError:
                self._flush()
                self._fill(deadline)
                continue
            self._flush()
            return result


def connect_tls(sock, ctx, hostname, timeout=10.0):
    """Client TLS over an already connected (e.g. tunnelled) socket; returns a TLSStream."""
    stream = TLSStream(ctx, server_side=False, server_hostname=hostname, timeout=timeout)
    stream.attach(sock)
    stream.handshake()
    return stream


def shutdown_write(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
