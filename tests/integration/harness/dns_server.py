"""A tiny authoritative UDP DNS server on 127.0.0.1, port 0.

A queries for configured names get their IPv4 addresses; other types for a configured name get
an empty NOERROR answer (NODATA); every other name gets NXDOMAIN. Queries are recorded so tests
can assert that the proxy really asked this server.
"""

import socket
import struct
import threading

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_NXDOMAIN = 3
TYPE_A = 1
CLASS_IN = 1


class DnsServer:
    def __init__(self, records):
        """records: {"name.example": "127.0.0.1" or ["127.0.0.1", ...]}"""
        self._records = {
            name.lower().rstrip("."): [addrs] if isinstance(addrs, str) else list(addrs)
            for name, addrs in records.items()
        }
        self._lock = threading.Lock()
        self._queries = []
        self._stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def queries(self):
        """[(name, qtype)] in arrival order."""
        with self._lock:
            return list(self._queries)

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _loop(self):
        while not self._stopping.is_set():
            try:
                packet, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(packet)
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _answer(self, packet):
        if len(packet) < 12:
            return None
        qid, flags, qdcount = struct.unpack(">HHH", packet[:6])
        parsed = _parse_question(packet) if qdcount == 1 else None
        if parsed is None:
            formerr = 0x8000 | (flags & 0x0100) | RCODE_FORMERR
            return struct.pack(">HHHHHH", qid, formerr, 0, 0, 0, 0)
        name, qtype, question = parsed
        with self._lock:
            self._queries.append((name, qtype))
        addresses = self._records.get(name)
        answers = []
        if addresses is not None and qtype == TYPE_A:
            for addr in addresses:
                # Name compressed as a pointer to the question at offset 12; TTL 5 s.
                answers.append(
                    struct.pack(">HHHIH", 0xC00C, TYPE_A, CLASS_IN, 5, 4) + socket.inet_aton(addr)
                )
        rcode = RCODE_NOERROR if addresses is not None else RCODE_NXDOMAIN
        # QR, AA, RD copied, RA.
        out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        header = struct.pack(">HHHHHH", qid, out_flags, 1, len(answers), 0, 0)
        return header + question + b"".join(answers)


def _parse_question(packet):
    """(lower-case name, qtype, raw question bytes) or None if malformed."""
    pos = 12
    labels = []
    for _ in range(128):
        if pos >= len(packet):
            return None
        length = packet[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0:
            return None
        labels.append(packet[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    else:
        return None
    if pos + 4 > len(packet):
        return None
    qtype, _qclass = struct.unpack(">HH", packet[pos : pos + 4])
    return ".".join(labels).lower(), qtype, packet[12 : pos + 4]
