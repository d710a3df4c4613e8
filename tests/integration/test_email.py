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
    without a code; a pending change is forgotten; authpriv says who had
    which address. The mistyped address is not mailed."""
    prepare(sb)
    add(sb, "zoe")
    set_email(sb, "zoe", "zoe.new@school.example")  # a pending change
    log = sb.syslog()
    try:
        p = sb.cmd([ESCHOOL, "--json", "set-email", "zoe", "zoe@school-typo.example", "--force"],
                   env=ASAN)
        assert p.returncode == 0, p.stderr
        lines = log.received()
    finally:
        log.close()
    assert json.loads(p.stdout) == {"username": "zoe", "email": "zoe@school-typo.example",
                                    "forced": True}
    st = state(sb, "zoe")
    assert st["email"] == "zoe@school-typo.example"
    assert "pending_email" not in st and "pending_code_hash" not in st
    forced = [l for l in lines if "set-email --force" in l]
    assert forced and "from zoe@school.example to zoe@school-typo.example" in forced[0], lines
    # a bad address is still refused, forced or not
    p = sb.cmd([ESCHOOL, "set-email", "zoe", "a..b@school.example", "--force"], env=ASAN)
    assert p.returncode == 65, p.stderr
    assert state(sb, "zoe")["email"] == "zoe@school-typo.example"
