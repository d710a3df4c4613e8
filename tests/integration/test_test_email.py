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


def test_each_step_reports_its_own_outcome(sandbox, srv, tmp_path):
    """A certificate the system does not trust is a TLS failure, said at the
    TLS step with the fix (ca_file) — never "✓ TLS" then "✗ login refused"."""
    configure(sandbox, srv.port, ca_file=None)
    l0 = len(srv.logins)
    p = sandbox.eschool("test-email", "me@school.example")
    assert p.returncode == 69, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert "  ✓ connected" in lines, p.stdout
    tls = [l for l in lines if l.startswith("  ") and "TLS" in l]
    assert tls and tls[0].startswith("  ✗ TLS"), p.stdout
    assert "not trusted" in tls[0] and "ca_file" in p.stdout and "[mail]" in p.stdout, p.stdout
    assert "✓ TLS" not in p.stdout and "login" not in p.stdout, p.stdout
    assert len(srv.logins) == l0
    obj = json.loads(sandbox.eschool("--json", "test-email", "me@school.example").stdout)
    assert obj["connected"] and not obj["tls"] and not obj["authenticated"]
    assert obj["failed_step"] == "tls"
    # the same with implicit TLS: connected, then the certificate refused
    d = os.path.dirname(srv.ca_file)
    smtps = SmtpServer(str(tmp_path), implicit_tls=True,
                       cert=(srv.ca_file, os.path.join(d, "server.crt"),
                             os.path.join(d, "server.key")))
    try:
        configure(sandbox, smtps.port, ca_file=None, security="tls")
        p = sandbox.eschool("test-email", "me@school.example")
        assert p.returncode == 69
        assert "  ✓ connected" in p.stdout and "  ✗ TLS" in p.stdout, p.stdout
        assert "ca_file" in p.stdout and "login" not in p.stdout, p.stdout
        assert smtps.logins == [] and smtps.messages == []
    finally:
        smtps.stop()
    # a wrong password: TLS worked, the login did not
    configure(sandbox, srv.port, srv.ca_file, password="wrong")
    p = sandbox.eschool("test-email", "me@school.example")
    assert p.returncode == 69
    assert "  ✓ connected" in p.stdout and "  ✓ TLS (certificate verified)" in p.stdout
    assert f"  ✗ login refused for {USER}" in p.stdout, p.stdout
    assert "accepted" not in p.stdout
    # all good: every step ✓, none ✗
    configure(sandbox, srv.port, srv.ca_file)
    p = sandbox.eschool("test-email", "me@school.example")
    assert p.returncode == 0, p.stdout
    steps = [l for l in p.stdout.splitlines() if l.startswith("  ")]
    assert len(steps) == 4 and all(l.startswith("  ✓") for l in steps), p.stdout
