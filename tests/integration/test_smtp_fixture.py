"""The test SMTP server itself (tests/smtpserver.py), checked with Python's
smtplib, so that the mail tests stand on a server known to be strict:
STARTTLS required, AUTH only over TLS, certificates from a private CA,
scripted 4xx/5xx replies."""
import os
import smtplib
import ssl
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from smtpserver import PASSWORD, USER, SmtpServer  # noqa: E402

MSG = ("From: a@school.example\r\nTo: b@school.example\r\nSubject: t\r\n"
       "Message-ID: <1@school.example>\r\n\r\nhello\r\n")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = SmtpServer(str(tmp_path_factory.mktemp("smtp")))
    yield s
    s.stop()


def tls(srv):
    return ssl.create_default_context(cafile=srv.ca_file)


def test_starttls_required(srv):
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        code, _ = c.mail("a@school.example")
        assert code == 530  # must issue STARTTLS first


def test_auth_required_and_checked(srv):
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as c:
        c.starttls(context=tls(srv))
        c.ehlo()
        code, _ = c.mail("a@school.example")
        assert code == 530  # authentication required
        with pytest.raises(smtplib.SMTPAuthenticationError):
            c.login(USER, "wrong")
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as c:
        c.starttls(context=tls(srv))
        c.login(USER, PASSWORD)
        c.sendmail("a@school.example", ["b@school.example"], MSG)
    envelope, msg = srv.messages[-1]
    assert envelope.rcpt_tos == ["b@school.example"]
    assert msg["Subject"] == "t"


def test_certificate_is_verified_against_the_private_ca(srv):
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as c:
        with pytest.raises(ssl.SSLCertVerificationError):
            c.starttls(context=ssl.create_default_context())  # system CAs only


def test_scripted_replies(srv):
    srv.rcpt_replies.append("451 4.3.0 try again later")
    srv.data_replies.append("550 5.1.1 mailbox unavailable")
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as c:
        c.starttls(context=tls(srv))
        c.login(USER, PASSWORD)
        c.mail("a@school.example")
        assert c.rcpt("b@school.example")[0] == 451
        assert c.rcpt("b@school.example")[0] == 250
        assert c.data(MSG.encode())[0] == 550


def test_implicit_tls_and_a_server_without_starttls(tmp_path, srv):
    cert = (srv.ca_file, os.path.join(os.path.dirname(srv.ca_file), "server.crt"),
            os.path.join(os.path.dirname(srv.ca_file), "server.key"))
    smtps = SmtpServer(str(tmp_path), implicit_tls=True, cert=cert)
    try:
        with smtplib.SMTP_SSL("127.0.0.1", smtps.port, timeout=10, context=tls(srv)) as c:
            c.login(USER, PASSWORD)
            c.sendmail("a@school.example", ["b@school.example"], MSG)
        assert len(smtps.messages) == 1
    finally:
        smtps.stop()
    plain = SmtpServer(str(tmp_path), starttls=False, cert=cert)
    try:
        with smtplib.SMTP("127.0.0.1", plain.port, timeout=10) as c:
            c.ehlo()
            assert not c.has_extn("starttls")
            assert not c.has_extn("auth")  # never offered in clear text
    finally:
        plain.stop()
