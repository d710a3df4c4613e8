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
"""
import asyncio
import email
import email.policy
import os
import ssl
import subprocess
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

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


class _Handler:
    def __init__(self, server):
        self.server = server

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
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append((envelope, msg))
        return "250 2.0.0 queued as %d" % len(self.server.messages)


class SmtpServer:
    def __init__(self, directory, starttls=True, implicit_tls=False, auth=True,
                 port=0, cert=None):
        self.directory = directory
        self.messages = []
        self.rcpt_replies = []
        self.data_replies = []
        self.logins = []
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
        self.controller = Controller(_Handler(self), hostname="127.0.0.1",
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
