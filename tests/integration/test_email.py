"""eschool set-email / verify-email, and the code asked at login by
pam_eschool: an address changes only once the code mailed to it comes back
(SPEC section 4); the code is stored only as a keyed hash, expires, and
dies after email_code_tries wrong answers (default 5, 60 minutes)."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import (SUCCESS, TEMPLATES, add, drive, edit_state, prepare,  # noqa: E402
                      state)

ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}
CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def set_email(sb, user, addr, *pre):
    p = sb.cmd([*pre, ESCHOOL, "--json", "set-email", user, addr], env=ASAN)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def verify(sb, user, code, *pre):
    return sb.cmd([*pre, ESCHOOL, "verify-email", user, code], env=ASAN)


def wrong(code):
    """A well-formed code that is not this one."""
    return ("B" if code[0] != "B" else "C") + code[1:]


def test_the_story_by_command(sb):
    prepare(sb)
    add(sb, "zoe")
    out = set_email(sb, "zoe", "zoe.new@school.example")
    code = out["code"]  # debug mode: shown, as passwords are
    assert CODE.match(code) and out["delivery"] == "printed"
    assert out["pending_email"] == "zoe.new@school.example"
    st = state(sb, "zoe")
    assert st["email"] == "zoe@school.example" and st["pending_email"] == "zoe.new@school.example"
    # stored only as a keyed hash
    raw = sb.read("/var/lib/eschool/users/zoe")
    assert code not in raw and code.replace("-", "") not in raw
    assert sb.stat("/var/lib/eschool/code.key")[:2] == (0o600, 0)
    p = verify(sb, "zoe", wrong(code))
    assert p.returncode == 65 and "4 tries left" in p.stderr, p.stderr
    assert state(sb, "zoe")["pending_tries"] == "1"
    # case and the dash do not matter
    p = verify(sb, "zoe", code.lower().replace("-", ""))
    assert p.returncode == 0, p.stderr
    st = state(sb, "zoe")
    assert st["email"] == "zoe.new@school.example" and "pending_email" not in st
    p = verify(sb, "zoe", code)
    assert p.returncode == 65 and "no address change is pending" in p.stderr


def test_expired_code(sb):
    prepare(sb)
    add(sb, "zoe")
    code = set_email(sb, "zoe", "zoe.new@school.example")["code"]
    p = verify(sb, "zoe", code, "faketime", "-f", "+61m")
    assert p.returncode == 65 and "expired" in p.stderr, p.stderr
    assert state(sb, "zoe")["email"] == "zoe@school.example"
    assert verify(sb, "zoe", code, "faketime", "-f", "+59m").returncode == 0


def test_too_many_tries_kill_the_code(sb):
    prepare(sb)
    add(sb, "zoe")
    code = set_email(sb, "zoe", "zoe.new@school.example")["code"]
    for _ in range(5):
        assert verify(sb, "zoe", wrong(code)).returncode == 65
    p = verify(sb, "zoe", code)
    assert p.returncode == 65 and "too many wrong codes" in p.stderr, p.stderr
    assert state(sb, "zoe")["email"] == "zoe@school.example"
    # a new request starts afresh, and the old code is dead
    code2 = set_email(sb, "zoe", "zoe.new@school.example")["code"]
    assert verify(sb, "zoe", code2).returncode == 0


def test_bad_input(sb):
    prepare(sb)
    add(sb, "zoe")
    p = sb.eschool("set-email", "zoe", "not-an-address")
    assert p.returncode == 65 and "invalid email address" in p.stderr
    p = sb.eschool("set-email", "nobody", "n@school.example")
    assert p.returncode == 67 and "not an account managed" in p.stderr
    p = sb.eschool("set-email", "zoe")
    assert p.returncode == 64
    p = sb.eschool("set-email", "zoe", "zoe@school.example")
    assert p.returncode == 0 and "nothing to do" in p.stdout
    assert "pending_email" not in state(sb, "zoe")
    p = sb.eschool("verify-email", "zoe", "ABCD-EFGH")
    assert p.returncode == 65


def test_production_mails_the_code_and_tells_the_old_address(sb, srv):
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf").replace(
        "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1))
    add(sb, "zoe", lang="en")
    n0 = len(srv.messages)
    out = set_email(sb, "zoe", "zoe.new@school.example")
    assert out["delivery"] == "sent" and "code" not in out  # mailed, not shown
    got = {m["X-Eschool-Kind"]: (env, m) for env, m in srv.messages[n0:]}
    assert set(got) == {"verify-email", "email-changed"}
    env, mail = got["verify-email"]
    assert env.rcpt_tos == ["zoe.new@school.example"]
    code = re.search(r"\b[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}\b",
                     mail.get_body(("plain",)).get_content()).group(0)
    assert code in mail["Subject"]
    env, notice = got["email-changed"]
    assert env.rcpt_tos == ["zoe@school.example"]
    text = notice.get_body(("plain",)).get_content()
    assert "zoe.new@school.example" in text and code not in notice.as_string()
    assert sb.eschool("verify-email", "zoe", code).returncode == 0
    assert state(sb, "zoe")["email"] == "zoe.new@school.example"
    # the code never reached the queue's leftovers or the log
    assert sb.eschool("--json", "queue", "list").stdout == ""


def test_code_asked_at_login(sb):
    prepare(sb)
    add(sb, "zoe")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    code = set_email(sb, "zoe", "zoe.new@school.example")["code"]
    # a wrong code: said, counted, the login goes on
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]], answers=[wrong(code)])
    # (in the application's language: pypamtest's is C, so English)
    assert r["ok"] and r["errors"] == ["Wrong code: your address is unchanged."], r
    assert state(sb, "zoe")["pending_tries"] == "1"
    # an empty answer skips: nothing counted
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]], answers=[""])
    assert r["ok"] and r["errors"] == [] and r["info"] == [], r
    assert state(sb, "zoe")["pending_tries"] == "1"
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]], answers=[code.lower()])
    assert r["ok"] and r["info"] == ["Your address is confirmed."], r
    st = state(sb, "zoe")
    assert st["email"] == "zoe.new@school.example" and "pending_email" not in st
    # nothing pending: no question
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]])
    assert r["ok"] and r["info"] == [] and r["errors"] == [], r


def test_login_does_not_ask_for_a_dead_code(sb):
    prepare(sb)
    add(sb, "zoe")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    code = set_email(sb, "zoe", "zoe.new@school.example")["code"]
    edit_state(sb, "zoe", pending_tries=5)  # too many tries
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]], answers=[code])
    assert r["ok"] and r["info"] == [] and r["errors"] == [], r
    assert state(sb, "zoe")["email"] == "zoe@school.example"
    edit_state(sb, "zoe", pending_tries=0, pending_expires=1)  # expired
    r = drive(sb, "es-account", "zoe", [["account", SUCCESS]], answers=[code])
    assert r["ok"] and r["info"] == [], r
    assert state(sb, "zoe")["email"] == "zoe@school.example"
    # a login that must change its password first is not asked
    edit_state(sb, "zoe", pending_expires=2**40, must_change=1)
    r = drive(sb, "es-account", "zoe", [["account", 12]], answers=[code])
    assert r["ok"] and state(sb, "zoe")["email"] == "zoe@school.example", r


def test_force_fixes_a_typo_at_once_and_is_logged(sb):
    """set-email --force (SPEC section 4): the administrator's correction,
    without a code; a pending change is forgotten (its code no longer
    works); authpriv and log_file say who had which address, and so does
    the command. The mistyped address is not mailed."""
    prepare(sb, general="log_file = /var/log/eschool.log\n")
    add(sb, "zoe")
    code = set_email(sb, "zoe", "zoe.new@school.example")["code"]  # a pending change
    log = sb.syslog()
    try:
        p = sb.cmd([ESCHOOL, "--json", "set-email", "zoe", "zoe@school-typo.example", "--force"],
                   env=ASAN)
        assert p.returncode == 0, p.stderr
        lines = log.received()
    finally:
        log.close()
    assert json.loads(p.stdout) == {"username": "zoe", "email": "zoe@school-typo.example",
                                    "previous_email": "zoe@school.example",
                                    "forced": True, "queued_mails": 0}
    st = state(sb, "zoe")
    assert st["email"] == "zoe@school-typo.example"
    assert "pending_email" not in st and "pending_code_hash" not in st
    forced = [l for l in lines if "set-email --force" in l]
    assert forced and "from zoe@school.example to zoe@school-typo.example" in forced[0], lines
    filed = [l for l in sb.read("/var/log/eschool.log").splitlines() if "set-email --force" in l]
    assert filed and "from zoe@school.example to zoe@school-typo.example" in filed[0], filed
    # the code of the forgotten change confirms nothing
    p = verify(sb, "zoe", code)
    assert p.returncode == 65 and "no address change is pending" in p.stderr, p.stderr
    assert state(sb, "zoe")["email"] == "zoe@school-typo.example"
    # the text says which address it replaced; show has the new one
    p = sb.cmd([ESCHOOL, "set-email", "zoe", "zoe@school.example", "--force"], env=ASAN)
    assert p.returncode == 0, p.stderr
    assert "is now zoe@school.example" in p.stdout and "was: zoe@school-typo.example" in p.stdout
    shown = json.loads(sb.eschool("--json", "show", "zoe").stdout)
    assert shown["email"] == "zoe@school.example" and shown["pending_email"] is None, shown


def test_force_refusals_change_nothing(sb):
    """A bad address (65), an account eschool does not manage (67), and a
    user who is not root (77): nothing is changed, nothing logged."""
    prepare(sb)
    add(sb, "zoe")
    before = sb.read("/var/lib/eschool/users/zoe")
    for addr in ("a..b@school.example", "not-an-address", "zoe@school.example\nBcc: x@evil.example"):
        p = sb.cmd([ESCHOOL, "set-email", "zoe", addr, "--force"], env=ASAN)
        assert p.returncode == 65 and "invalid email address" in p.stderr, p.stderr
    sb.cmd(["useradd", "-m", "local"], check=True)  # an account eschool did not make
    p = sb.cmd([ESCHOOL, "set-email", "local", "l@school.example", "--force"], env=ASAN)
    assert p.returncode == 67 and "not an account managed" in p.stderr, p.stderr
    assert not sb.exists("/var/lib/eschool/users/local")
    p = sb.as_nobody([ESCHOOL, "set-email", "zoe", "zoe.x@school.example", "--force"])
    assert p.returncode == 77 and "must be run as root" in p.stderr, p.stderr
    assert sb.read("/var/lib/eschool/users/zoe") == before


# ---- a queued mail follows the address (set-email --force, a confirmed change) ----

def production(sb, srv):
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf").replace(
        "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1))


def add_while_refused(sb, srv, user="zoe", parent=None):
    """add in production while the server answers 451 to every mail: the
    password is shown (fallback) and the mails stay queued."""
    srv.data_replies.extend(["451 4.3.0 try again later"] * (2 if parent else 1))
    extra = ["--parent-email", parent] if parent else []
    p = sb.eschool("--json", "add", user, "--email", f"{user}@school-typo.example",
                   "--name", "Zoë Lefèvre", *extra)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["delivery"] == "fallback", out
    return out["password"]


def queued(sb):
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    return {json.loads(l)["kind"]: json.loads(l) for l in p.stdout.splitlines()}


def force(sb, user, addr):
    p = sb.cmd([ESCHOOL, "--json", "set-email", user, addr, "--force"], env=ASAN)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_queued_credentials_go_to_the_fixed_address(sb, srv):
    """A welcome mail deferred while the address was wrong goes, after
    set-email --force, to the fixed address only (envelope and To:); the
    parent's notice stays the parent's."""
    production(sb, srv)
    password = add_while_refused(sb, srv, parent="parent@school.example")
    q = queued(sb)
    assert q["welcome-student"]["to"] == "zoe@school-typo.example"
    assert q["parent-notice"]["to"] == "parent@school.example"
    out = force(sb, "zoe", "zoe@school.example")
    assert out["previous_email"] == "zoe@school-typo.example" and out["queued_mails"] == 1
    n0 = len(srv.messages)
    for m in q.values():  # deferred: due now
        p = sb.eschool("queue", "retry", m["id"])
        assert p.returncode == 0, p.stderr
        if m["kind"] == "welcome-student":
            assert "will be sent to zoe@school.example" in p.stdout, p.stdout
            assert "zoe@school-typo.example" in p.stdout, p.stdout
    log = sb.syslog()
    try:
        p = sb.eschool("queue", "run")
        lines = log.received()
    finally:
        log.close()
    assert p.returncode == 0, p.stderr
    assert "re-addressed from zoe@school-typo.example to zoe@school.example" in p.stdout
    got = {m["X-Eschool-Kind"]: (env, m) for env, m in srv.messages[n0:]}
    assert set(got) == {"welcome-student", "parent-notice"}
    env, mail = got["welcome-student"]
    assert env.rcpt_tos == ["zoe@school.example"]
    assert mail["To"].addresses[0].addr_spec == "zoe@school.example"
    assert mail["To"].addresses[0].display_name == "Zoë Lefèvre"
    assert password in mail.get_body(("plain",)).get_content()
    env, mail = got["parent-notice"]
    assert env.rcpt_tos == ["parent@school.example"] and "parent@school.example" in mail["To"]
    for env, mail in srv.messages[n0:]:
        assert "typo" not in " ".join(env.rcpt_tos) and "typo" not in mail["To"]
    assert any("re-addressed from <zoe@school-typo.example> to <zoe@school.example>" in l
               for l in lines), lines
    assert queued(sb) == {}


def test_a_deferred_mail_stays_readdressed(sb, srv):
    """Re-addressed by a run whose try is deferred again, the queue file
    itself holds the new address (queue list), and the next run sends it
    there."""
    production(sb, srv)
    add_while_refused(sb, srv)
    force(sb, "zoe", "zoe@school.example")
    (m,) = queued(sb).values()
    assert sb.eschool("queue", "retry", m["id"]).returncode == 0
    srv.data_replies.append("451 4.3.0 still not")
    assert sb.eschool("queue", "run").returncode == 75
    (m,) = queued(sb).values()
    assert m["to"] == "zoe@school.example" and m["state"] == "deferred", m
    assert "typo" not in sb.read(f"/var/spool/eschool/new/{m['id']}")
    n0 = len(srv.messages)
    assert sb.eschool("queue", "retry", m["id"]).returncode == 0
    assert sb.eschool("queue", "run").returncode == 0
    assert [env.rcpt_tos for env, _ in srv.messages[n0:]] == [["zoe@school.example"]]


def test_resend_goes_to_the_address_now(sb, srv):
    """resend sends the queued credentials (the same password, no new
    one) to the address the account has now, after a confirmed change as
    after --force."""
    production(sb, srv)
    password = add_while_refused(sb, srv)
    n0 = len(srv.messages)
    out = set_email(sb, "zoe", "zoe.new@school.example")  # mailed: the code, the notice
    assert out["delivery"] == "sent"
    (mail,) = [m for _, m in srv.messages[n0:] if m["X-Eschool-Kind"] == "verify-email"]
    code = re.search(r"\b[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}\b",
                     mail.get_body(("plain",)).get_content()).group(0)
    assert verify(sb, "zoe", code).returncode == 0
    n0 = len(srv.messages)
    p = sb.eschool("--json", "resend", "zoe")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["delivery"] == "sent" and "password" not in json.loads(p.stdout)
    ((env, mail),) = srv.messages[n0:]
    assert env.rcpt_tos == ["zoe.new@school.example"]
    assert mail["To"].addresses[0].addr_spec == "zoe.new@school.example"
    assert mail["X-Eschool-Kind"] == "welcome-student"
    assert password in mail.get_body(("plain",)).get_content()
    assert queued(sb) == {}


def test_a_mail_for_an_account_gone_or_without_address_is_not_sent(sb, srv):
    """The account removed (userdel) or its state without an address: the
    queued mail is not sent to the address it was queued for; queue retry
    refuses it, queue run moves it to failed/ and says why."""
    production(sb, srv)
    add_while_refused(sb, srv, user="zoe")
    add_while_refused(sb, srv, user="ana")
    q = {m["id"]: m for m in map(json.loads, sb.eschool("--json", "queue", "list")
                                 .stdout.splitlines())}
    ids = {m["to"].split("@")[0]: i for i, m in q.items()}
    sb.cmd(["userdel", "-r", "zoe"], check=True)
    edit_state(sb, "ana", email="")
    p = sb.eschool("queue", "retry", ids["zoe"])
    assert p.returncode == 67 and "no longer exists" in p.stderr, p.stderr
    p = sb.eschool("queue", "retry", ids["ana"])
    assert p.returncode == 65 and "no email address" in p.stderr, p.stderr
    n0 = len(srv.messages)
    p = sb.cmd(["faketime", "-f", "+180s", ESCHOOL, "--json", "queue", "run"], env=ASAN)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["failed"] == 2
    assert "no longer exists" in p.stderr and "no email address" in p.stderr, p.stderr
    assert srv.messages[n0:] == []
    states = {m["id"]: m for m in map(json.loads, sb.eschool("--json", "queue", "list")
                                      .stdout.splitlines())}
    assert {m["state"] for m in states.values()} == {"failed"}
    assert "not sent" in states[ids["zoe"]]["last_error"]
