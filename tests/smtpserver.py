"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 with a certificate
from a private CA made by openssl at test time, STARTTLS required (or
implicit TLS), AUTH required over TLS only, and scripted faults: replies to
RCPT or DATA (421, 451, 550 ...), a dropped connection, a stall.

    srv = SmtpServer(tmpdir)            # starts; srv.port, srv.ca_file
    srv.rcpt_replies = ["451 4.3.0 later"]  # consumed one per RCPT
    srv.data_replies = ["550 5.1.1 no"]     # consumed one per DATA
    ... run eschool ...
    srv.messages  -> list of (envelope, email.message.EmailMessage)
    srv.stop()

For crash campaigns (tests/faults):
    srv.set_data_fail_rate(0.1, seed)   # 451 to that fraction of DATA, seeded
    srv.connections -> list of Connection: the Message-IDs accepted on each
                       connection, in order, and whether it ended with QUIT
                       or was cut (the client died)
"""
import asyncio
import email
import email.policy
import itertools
import os
import random
import ssl
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER = "school@school.example"
PASSWORD = "s3cret-app-password"


def make_ca(directory):
    """A private CA and a server certificate for localhost/127.0.0.1.
    Returns (ca_file, cert_file, key_file)."""
    ca_key = os.path.join(directory, "ca.key")
    ca_crt = os.path.join(directory, "ca.crt")
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    crt = os.path.join(directory, "server.crt")
    ext = os.path.join(directory, "server.ext")

    def run(*argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "400", "-subj", "/CN=eschool test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "400", "-extfile", ext)
    return ca_crt, crt, key


class Connection:
    """One client connection as the server saw it."""

    def __init__(self, ident):
        self.id = ident
        self.started = time.monotonic()
        self.accepted = []   # Message-IDs accepted (250 after DATA), in order
        self.indexes = []    # ... and their places in SmtpServer.messages
        self.quit = False    # the client said QUIT
        self.ended = False   # the connection is closed (by QUIT or cut)

    @property
    def cut(self):
        """Ended without QUIT: the client died or dropped the connection."""
        return self.ended and not self.quit

    def __repr__(self):
        return (f"<conn {self.id} accepted={len(self.accepted)} quit={self.quit} "
                f"ended={self.ended}>")


class _SMTP(SMTP):
    """aiosmtpd's protocol, one per TCP connection (STARTTLS keeps it):
    it carries the connection's record and notes when the connection ends."""

    def __init__(self, handler, *args, owner=None, **kwargs):
        super().__init__(handler, *args, **kwargs)
        self.es_conn = owner._new_connection()

    def connection_lost(self, error):
        try:
            super().connection_lost(error)
        finally:
            self.es_conn.ended = True


class _Controller(Controller):
    def __init__(self, owner, *args, **kwargs):
        self.owner = owner
        super().__init__(*args, **kwargs)

    def factory(self):
        return _SMTP(self.handler, owner=self.owner, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_QUIT(self, smtp, session, envelope):
        conn = getattr(smtp, "es_conn", None)
        if conn is not None:
            conn.quit = True
        return "221 Bye"

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        reply = self.server._next("rcpt_replies")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        reply = self.server._next("data_replies")
        if reply == "DROP":
            smtp.transport.close()  # the connection dies in the middle
            return "421 closing"
        if reply == "STALL":
            await asyncio.sleep(3600)
        if reply:
            return reply
        if self.server._data_fails():
            return "451 4.3.0 try again later (random fault)"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append((envelope, msg))
            conn = getattr(smtp, "es_conn", None)
            n = len(self.server.messages)
            if conn is not None:
                conn.accepted.append(str(msg.get("Message-ID", "")).strip())
                conn.indexes.append(n - 1)
        return "250 2.0.0 queued as %d" % n


class SmtpServer:
    def __init__(self, directory, starttls=True, implicit_tls=False, auth=True,
                 port=0, cert=None):
        self.directory = directory
        self.messages = []
        self.rcpt_replies = []
        self.data_replies = []
        self.logins = []
        self.connections = []
        self.data_fail_rate = 0.0
        self._rng = random.Random(0)
        self._conn_ids = itertools.count(1)
        self.lock = threading.Lock()
        if cert is None:
            cert = make_ca(directory)
        self.ca_file, crt, key = cert
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(crt, key)
        kwargs = dict(auth_required=auth, auth_require_tls=True,
                      authenticator=self._authenticate)
        if implicit_tls:
            # the whole connection is TLS; aiosmtpd does not see it as such,
            # so AUTH must not wait for a STARTTLS that will never come
            kwargs.update(ssl_context=ctx, auth_require_tls=False)
        elif starttls:
            kwargs.update(tls_context=ctx, require_starttls=True)
        self.controller = _Controller(self, _Handler(self), hostname="127.0.0.1",
                                      port=port or _free_port(), **kwargs)
        self.controller.start()
        self.port = self.controller.port

    def _authenticate(self, smtp, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            ok = login == USER and auth_data.password.decode() == PASSWORD
            with self.lock:
                self.logins.append((login, ok))
            # handled=False: aiosmtpd sends the 535 itself
            return AuthResult(success=ok, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def set_data_fail_rate(self, rate, seed=0):
        """Answers 451 to `rate` of the DATA commands from now on, drawn
        from a generator seeded with `seed` (a campaign can be replayed)."""
        with self.lock:
            self.data_fail_rate = rate
            self._rng = random.Random(seed)

    def _data_fails(self):
        with self.lock:
            return self.data_fail_rate > 0 and self._rng.random() < self.data_fail_rate

    def _new_connection(self):
        with self.lock:
            conn = Connection(next(self._conn_ids))
            self.connections.append(conn)
            return conn

    def _next(self, name):
        with self.lock:
            queue = getattr(self, name)
            return queue.pop(0) if queue else None

    def stop(self):
        self.controller.stop()


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
