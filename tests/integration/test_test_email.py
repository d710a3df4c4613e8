"""eschool test-email against a real SMTP server (tests/smtpserver.py:
aiosmtpd, private CA, STARTTLS and AUTH required): the mail arrives and is
well formed; each failing step is named; TLS is never optional."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail  # noqa: E402
from smtpserver import PASSWORD, USER, SmtpServer  # noqa: E402


def configure(sb, port, ca_file=None, security="starttls", password=PASSWORD, user=USER):
    configure_mail(sb, port, ca_file, security=security, password=password, user=user)


def test_mail_arrives_well_formed(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    before = len(srv.messages)
    p = sandbox.eschool("test-email", "me@school.example")
    assert p.returncode == 0, p.stdout + p.stderr
    for word in ("connected", "TLS", f"logged in as {USER}", "accepted: 250"):
        assert word in p.stdout, p.stdout
    assert len(srv.messages) == before + 1
    envelope, msg = srv.messages[-1]
    assert envelope.mail_from == "noreply@school.example"
    assert envelope.rcpt_tos == ["me@school.example"]
    assert msg["X-Eschool-Kind"] == "test"
    assert "Lycée Exemple" in msg["Subject"]
    assert msg["Message-ID"].endswith("@school.example>")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Lycée Exemple" in text and "Lycée Exemple" in html
    assert srv.logins[-1] == (USER, True)


def test_json(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    p = sandbox.eschool("--json", "test-email", "me@school.example")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert obj["accepted"] and obj["tls"] and obj["authenticated"]
    assert obj["code"] == 250 and obj["failed_step"] is None


def test_wrong_password_is_named(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file, password="wrong")
    before = len(srv.messages)
    p = sandbox.eschool("--json", "test-email", "me@school.example")
    assert p.returncode == 69
    obj = json.loads(p.stdout)
    assert obj["failed_step"] == "login" and obj["tls"] and not obj["authenticated"]
    assert obj["code"] == 535
    assert len(srv.messages) == before
    p = sandbox.eschool("test-email", "me@school.example")
    assert "login refused" in p.stdout and "535" in p.stdout
    assert "wrong" not in p.stdout + p.stderr  # the password is never shown


def test_server_without_starttls_is_refused(sandbox, srv, tmp_path):
    d = os.path.dirname(srv.ca_file)
    plain = SmtpServer(str(tmp_path), starttls=False,
                       cert=(srv.ca_file, os.path.join(d, "server.crt"),
                             os.path.join(d, "server.key")))
    try:
        configure(sandbox, plain.port, srv.ca_file)
        p = sandbox.eschool("--json", "test-email", "me@school.example")
        assert p.returncode == 69
        obj = json.loads(p.stdout)
        assert obj["failed_step"] == "tls" and not obj["tls"]
        assert plain.logins == [] and plain.messages == []  # no password in clear
    finally:
        plain.stop()


def test_unknown_ca_is_refused(sandbox, srv):
    configure(sandbox, srv.port, ca_file=None)  # system CAs only
    before = len(srv.logins)
    p = sandbox.eschool("--json", "test-email", "me@school.example")
    assert p.returncode == 69
    assert json.loads(p.stdout)["failed_step"] == "tls"
    assert len(srv.logins) == before


def test_implicit_tls(sandbox, srv, tmp_path):
    d = os.path.dirname(srv.ca_file)
    smtps = SmtpServer(str(tmp_path), implicit_tls=True,
                       cert=(srv.ca_file, os.path.join(d, "server.crt"),
                             os.path.join(d, "server.key")))
    try:
        configure(sandbox, smtps.port, srv.ca_file, security="tls")
        p = sandbox.eschool("test-email", "me@school.example")
        assert p.returncode == 0, p.stdout + p.stderr
        assert len(smtps.messages) == 1
    finally:
        smtps.stop()


def test_rejected_recipient(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    srv.rcpt_replies.append("550 5.1.1 no such mailbox")
    p = sandbox.eschool("--json", "test-email", "nobody@school.example")
    assert p.returncode == 69
    obj = json.loads(p.stdout)
    assert obj["failed_step"] == "recipient" and obj["code"] == 550
    assert "no such mailbox" in obj["reply"]


def test_login_in_clear_text_refused(sandbox, srv):
    configure(sandbox, srv.port, security="none")
    p = sandbox.eschool("test-email", "me@school.example")
    assert p.returncode == 78
    assert "cleartext" in p.stderr
