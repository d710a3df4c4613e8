"""Production mode for add and reset against a real SMTP server
(tests/smtpserver.py): the credentials mail is queued, sent at once, and
its password opens the account; when sending fails the password is shown
(fallback) and the mail stays queued until `queue run` delivers it once."""
import json
import os
import re
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, json_lines, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402

ADD = ["add", "alice", "--email", "alice@school.example", "--name", "Alice Martin"]


def configure(sb, port, ca_file):
    configure_mail(sb, port, ca_file, mode="production")


def mailed_password(msg):
    text = msg.get_body(("plain",)).get_content()
    m = re.search(r"(?:Mot de passe provisoire|Temporary password) ?: +(\S+)", text)
    assert m, text
    return m.group(1)


def queue(sb):
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    return json_lines(p.stdout)


def test_add_mails_the_credentials(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", *ADD)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj == {"username": "alice", "delivery": "sent"}  # no password shown
    assert len(srv.messages) == n0 + 1
    envelope, msg = srv.messages[-1]
    assert envelope.rcpt_tos == ["alice@school.example"]
    assert msg["X-Eschool-Kind"] == "welcome-student"
    assert msg["Subject"] == "Votre compte informatique au Lycée Exemple"
    assert "Alice Martin" in msg["To"]
    assert password_ok(sandbox, "alice", mailed_password(msg))
    assert queue(sandbox) == []
    assert sandbox.state("alice")["delivery"] == "sent"
    # nothing of the password anywhere on disk but the hash
    pw = mailed_password(msg)
    assert sandbox.cmd(["grep", "-r", "-F", pw, "/var/lib/eschool", "/var/spool",
                        "/var/log"]).returncode == 1


def test_fallback_then_queue_run_delivers_once(sandbox, srv):
    configure(sandbox, 1, srv.ca_file)  # nobody listens: connection refused
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", *ADD)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["delivery"] == "fallback"
    assert password_ok(sandbox, "alice", obj["password"])
    assert "could not be sent" in p.stderr
    (m,) = queue(sandbox)
    assert m["state"] == "deferred" and m["kind"] == "welcome-student"
    assert sandbox.state("alice")["delivery"] == "fallback"
    # the queued file holds the password: root only
    p2 = sandbox.cmd(["stat", "-c", "%a %U", f"/var/spool/eschool/new/{m['id']}"])
    assert p2.stdout.split() == ["600", "root"]
    # the server is back; later, the timer's queue run delivers it, once
    configure(sandbox, srv.port, srv.ca_file)
    p = sandbox.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    assert len(srv.messages) == n0 + 1
    assert mailed_password(srv.messages[-1][1]) == obj["password"]
    assert queue(sandbox) == []
    p = sandbox.cmd(["faketime", "-f", "+1d", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert len(srv.messages) == n0 + 1


def test_rejected_address_fails_for_good(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    srv.rcpt_replies.append("550 5.1.1 no such mailbox")
    p = sandbox.eschool("--json", *ADD)
    assert p.returncode == 0
    (obj,) = json_lines(p.stdout)
    assert obj["delivery"] == "fallback" and password_ok(sandbox, "alice", obj["password"])
    (m,) = queue(sandbox)
    assert m["state"] == "failed" and "550" in m["last_error"]


def test_reset_mails_a_reset(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    assert sandbox.eschool(*ADD).returncode == 0
    p = sandbox.eschool("reset", "alice")
    assert p.returncode == 0, p.stderr
    assert "credentials mailed to alice@school.example" in p.stdout
    assert "Password" not in p.stdout
    msg = srv.messages[-1][1]
    assert msg["X-Eschool-Kind"] == "reset"
    assert password_ok(sandbox, "alice", mailed_password(msg))


def test_queue_runner_busy_leaves_the_mail_queued(sandbox, srv):
    """While a `queue run` holds the queue, add does not send beside it (the
    same mail could go twice): the mail is left to the runner."""
    configure(sandbox, srv.port, srv.ca_file)
    sandbox.cmd(["mkdir", "-p", "-m", "700", "/var/spool/eschool"], check=True)
    holder = sandbox.popen(["flock", "-x", "/var/spool/eschool", "sleep", "60"],
                           start_new_session=True)
    try:
        for _ in range(100):  # until the lock is held (no timing assumption)
            if sandbox.cmd(["flock", "-n", "/var/spool/eschool", "true"]).returncode != 0:
                break
        else:
            pytest.fail("the lock holder did not start")
        n0 = len(srv.messages)
        p = sandbox.eschool("--json", *ADD)
        assert p.returncode == 0, p.stderr
        (obj,) = json_lines(p.stdout)
        assert obj == {"username": "alice", "delivery": "queued"}
        assert len(srv.messages) == n0
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and its sleep, which holds the lock
        holder.wait()
    (m,) = queue(sandbox)
    assert m["state"] == "queued"
    assert sandbox.eschool("queue", "run").returncode == 0
    assert password_ok(sandbox, "alice", mailed_password(srv.messages[-1][1]))


def test_parent_notice_without_the_password(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", *ADD, "--parent-email", "parent@home.example",
                        "--class", "2nde A")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["delivery"] == "sent"
    kinds = [(m["X-Eschool-Kind"], e.rcpt_tos) for e, m in srv.messages[n0:]]
    assert kinds == [("welcome-student", ["alice@school.example"]),
                     ("parent-notice", ["parent@home.example"])]
    welcome, notice = srv.messages[n0][1], srv.messages[n0 + 1][1]
    pw = mailed_password(welcome)
    for part in notice.walk():
        if part.get_content_maintype() == "text":
            body = part.get_content()
            assert pw not in body and "alice" in body and "2nde A" in body
    assert queue(sandbox) == []
    # a teacher's parent address is not used
    n1 = len(srv.messages)
    assert sandbox.eschool("add", "bob", "--email", "bob@school.example", "--role", "teacher",
                           "--parent-email", "p@home.example").returncode == 0
    assert [m["X-Eschool-Kind"] for _, m in srv.messages[n1:]] == ["welcome-teacher"]


def test_a_new_password_drops_the_stale_queued_mail(sandbox, srv):
    """A mail still queued with an older password (a fallback, or an add killed
    after queuing) is dropped when reset makes a new one: it must never go out."""
    configure(sandbox, 1, srv.ca_file)  # server down: the welcome stays queued
    p = sandbox.eschool("--json", *ADD)
    (old,) = json_lines(p.stdout)
    assert old["delivery"] == "fallback"
    (stale,) = queue(sandbox)
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    assert sandbox.eschool("reset", "alice").returncode == 0
    assert [m["X-Eschool-Kind"] for _, m in srv.messages[n0:]] == ["reset"]
    new_pw = mailed_password(srv.messages[-1][1])
    assert new_pw != old["password"] and password_ok(sandbox, "alice", new_pw)
    assert queue(sandbox) == []  # the stale welcome is gone, not sent later
    p = sandbox.cmd(["faketime", "-f", "+1h", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert len(srv.messages) == n0 + 1


def test_resend_sends_the_queued_mail_with_the_same_password(sandbox, srv):
    configure(sandbox, 1, srv.ca_file)  # down: the credentials stay queued
    p = sandbox.eschool("--json", *ADD)
    (obj,) = json_lines(p.stdout)
    assert obj["delivery"] == "fallback"
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", "resend", "alice")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "alice", "delivery": "sent"}]
    assert len(srv.messages) == n0 + 1
    # the same password: the one shown as the fallback still works
    assert mailed_password(srv.messages[-1][1]) == obj["password"]
    assert password_ok(sandbox, "alice", obj["password"])
    assert queue(sandbox) == []
    assert sandbox.state("alice")["delivery"] == "sent"


def test_resend_without_a_queued_mail_makes_a_new_password(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    assert sandbox.eschool("--json", *ADD).returncode == 0
    first = mailed_password(srv.messages[-1][1])
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", "resend", "alice")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "alice", "delivery": "sent"}]
    (_, msg), = srv.messages[n0:]
    assert msg["X-Eschool-Kind"] == "reset"
    second = mailed_password(msg)
    assert second != first and password_ok(sandbox, "alice", second)
    assert not password_ok(sandbox, "alice", first)
    assert sandbox.eschool("resend", "nobody").returncode == 67


def test_resend_of_a_failed_mail_that_fails_again_gives_a_new_password(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    srv.rcpt_replies.append("550 5.1.1 no such mailbox")
    (obj,) = json_lines(sandbox.eschool("--json", *ADD).stdout)
    srv.rcpt_replies.extend(["550 5.1.1 no such mailbox"] * 2)
    p = sandbox.eschool("--json", "resend", "alice")
    assert p.returncode == 0, p.stderr
    (again,) = json_lines(p.stdout)
    assert again["delivery"] == "fallback" and again["password"] != obj["password"]
    assert password_ok(sandbox, "alice", again["password"])
    (m,) = queue(sandbox)  # only the new one: the stale mail was dropped
    assert m["state"] == "failed"
    srv.rcpt_replies.clear()
