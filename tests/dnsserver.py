"""A small authoritative DNS server for the tests, on loopback, over UDP and
TCP on the same port, for what dnsmasq will not serve: TXT answers larger
than a UDP reply. A UDP answer over 512 bytes (the limit without EDNS,
which glibc's resolver does not ask for by default) goes out truncated,
with TC set and no records, as RFC 1035 4.2.1 says; the client then asks
again over TCP and gets the whole answer.

    srv = DnsServer({"big.example": ["v=spf1 ...", ["chunk1", "chunk2"], ...]})
    srv.port          # UDP and TCP
    srv.queries       # (transport, name, qtype) of every query, in order
    srv.stop()

A record is a str (split into 255-byte character-strings) or a list of
character-strings. Names not in the table are NXDOMAIN; other types of a
known name are an empty NOERROR answer."""
import socket
import struct
import threading

TXT = 16
UDP_LIMIT = 512


def _strings(record):
    if isinstance(record, str):
        raw = record.encode()
        return [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return [s.encode() if isinstance(s, str) else s for s in record]


def _name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def _parse_question(query):
    """(id, flags, labels, qtype, qclass, end of question) of a query."""
    qid, flags, qd = struct.unpack(">HHH", query[:6])
    if qd != 1:
        raise ValueError("one question expected")
    pos, labels = 12, []
    while query[pos]:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n])
        pos += 1 + n
    qtype, qclass = struct.unpack(">HH", query[pos + 1:pos + 5])
    return qid, flags, labels, qtype, qclass, pos + 5


class DnsServer:
    def __init__(self, records, host="127.0.0.1"):
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.queries = []
        self.udp, self.tcp = self._bind(host)
        self.port = self.udp.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _bind(host):
        # the same free port for both transports
        for _ in range(50):
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((host, 0))
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((host, tcp.getsockname()[1]))
            except OSError:
                tcp.close()
                udp.close()
                continue
            tcp.listen(16)
            tcp.settimeout(0.2)
            udp.settimeout(0.2)
            return udp, tcp
        raise RuntimeError("no free port for both UDP and TCP")

    def answer(self, query, transport):
        """The reply to one query; over UDP, truncated past 512 bytes."""
        qid, flags, labels, qtype, qclass, end = _parse_question(query)
        name = b".".join(labels).decode("ascii", "replace").lower()
        self.queries.append((transport, name, qtype))
        question = query[12:end]
        rd = flags & 0x0100
        records = self.records.get(name)
        rcode = 3 if records is None else 0  # NXDOMAIN
        answers = []
        if records is not None and qtype == TXT:
            for record in records:
                rdata = b"".join(bytes([len(s)]) + s for s in _strings(record))
                # the question's name by pointer (offset 12), class IN, TTL 60
                answers.append(struct.pack(">HHHIH", 0xC00C, TXT, 1, 60, len(rdata)) + rdata)
        head = struct.pack(">HHHHHH", qid, 0x8400 | rd | rcode, 1, len(answers), 0, 0)
        reply = head + question + b"".join(answers)
        if transport == "udp" and len(reply) > UDP_LIMIT:
            # TC, and no partial RRset: the client must ask over TCP
            head = struct.pack(">HHHHHH", qid, 0x8600 | rd | rcode, 1, 0, 0, 0)
            reply = head + question
        return reply

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                query, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.udp.sendto(self.answer(query, "udp"), peer)
            except (ValueError, IndexError, struct.error):
                continue

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_client, args=(conn,), daemon=True).start()

    @staticmethod
    def _recv(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _tcp_client(self, conn):
        conn.settimeout(5)
        with conn:
            try:
                while True:
                    (n,) = struct.unpack(">H", self._recv(conn, 2))
                    reply = self.answer(self._recv(conn, n), "tcp")
                    conn.sendall(struct.pack(">H", len(reply)) + reply)
            except (EOFError, OSError, ValueError, IndexError, struct.error):
                return

    def stop(self):
        self._stop.set()
        self.udp.close()
        self.tcp.close()
        for t in self._threads:
            t.join(timeout=2)
