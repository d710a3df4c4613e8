"""Whose account pam_eschool decides for (issue 16, items 1 and 15),
through the real libpam in the sandbox (tests/pamdrive.py, as test_pam.py).

Item 1: the module decides on the canonical name NSS gives for PAM_USER.
SSSD (case_sensitive = false) and winbind map "ZOE", "zoe@school.lan" and
"SCHOOL\\zoe" to the account zoe; before, the module ignored any name that
was not a valid login name as typed, so a disabled student, or one who must
change a temporary password, got in by typing capitals. Here a small NSS
module built from tests/nss_lower/nss_lower.c (libnss_lower.so.2:
lowercases, drops the domain, answers from the sandbox's /etc/passwd)
stands for the directory: the sandbox's nsswitch.conf says
"passwd: files lower", and the driving process (where libpam, the module
and glibc's NSS run) finds the library through LD_LIBRARY_PATH.

Item 15: a state whose recorded uid is not the account's (the name was
removed with userdel, then given to an unrelated user) is not that
account's: the module leaves the new user alone."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
from test_pam import (DENIED, EXPIRED, NEW_AUTHTOK, SUCCESS, account, add, drive,  # noqa: E402
                      edit_state, prepare, state)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NSS_SRC = os.path.join(TOP, "tests", "nss_lower", "nss_lower.c")
SPELLINGS = ["ZOE", "zoe@school.lan", "SCHOOL\\zoe", "Zoe@SCHOOL.LAN"]


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def lower_nss(sb):
    """Builds libnss_lower.so.2 on the sandbox's tmpfs, makes the sandbox's
    NSS use it after files, and returns the environment for the driver."""
    d = sb.private("nss")
    sb.cmd(["mkdir", "-p", d], check=True)
    sb.cmd(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-Wl,-soname,libnss_lower.so.2",
            "-o", f"{d}/libnss_lower.so.2", NSS_SRC], check=True)
    conf = sb.read("/etc/nsswitch.conf").splitlines()
    conf = [l for l in conf if not l.startswith("passwd:")] + ["passwd: files lower"]
    sb.write("/etc/nsswitch.conf", "\n".join(conf) + "\n", mode="644")
    env = {"LD_LIBRARY_PATH": d}
    # the directory answers as it should: every spelling is zoe, and a
    # name it does not know is unknown (getent: glibc's own lookup)
    for name in SPELLINGS:
        p = sb.cmd(["getent", "passwd", name], env=env)
        assert p.returncode == 0 and p.stdout.startswith("zoe:"), (name, p.stdout, p.stderr)
    assert sb.cmd(["getent", "passwd", "NOSUCH"], env=env).returncode == 2
    return env


def uid_of(sb, user):
    return int(sb.passwd_entry(user)[2])


def test_other_spellings_of_a_managed_name_are_that_account(sb):
    prepare(sb)
    add(sb, lang="en")
    env = lower_nss(sb)
    # must change the temporary password: asked whatever the spelling
    for name in ["zoe"] + SPELLINGS:
        r = account(sb, name, NEW_AUTHTOK, env=env)
        assert r["errors"] == ["You must change your temporary password now."], (name, r)
    # disabled: refused whatever the spelling
    assert sb.eschool("disable", "zoe").returncode == 0
    for name in ["zoe"] + SPELLINGS:
        r = account(sb, name, EXPIRED, env=env)
        assert r["errors"] == ["This account is disabled. Ask your administrator."], (name, r)
    # a name NSS does not know is still none of the module's business
    for name in ("NOSUCH", "nosuch@school.lan", "SCHOOL\\nosuch", "zoe2"):
        r = account(sb, name, DENIED, env=env)  # every module ignored
        assert r["errors"] == [] and r["info"] == [], (name, r)


def test_the_canonical_name_is_the_one_recorded_and_logged(sb):
    prepare(sb)
    add(sb, lang="en")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    env = lower_nss(sb)
    log = sb.syslog()
    try:
        # a session under another spelling records in zoe's state
        r = drive(sb, "es-session", "SCHOOL\\ZOE", [["open", SUCCESS]],
                  env={**env, "PAM_RHOST": "10.4.4.4"})
        assert r["ok"], r
        sb.eschool("disable", "zoe", check=True)
        account(sb, "ZOE", EXPIRED, env=env)
        lines = log.received()
    finally:
        log.close()
    st = state(sb, "zoe")
    assert st["sources"] == "10.4.4.4" and int(st["last_login"]) > 0, st
    assert not sb.exists("/var/lib/eschool/users/ZOE")
    # the refusal names the account, not the spelling
    assert any("for zoe: account disabled" in l for l in lines), lines
    assert not any("ZOE" in l for l in lines if "pam_eschool" in l), lines


def test_a_state_left_by_another_uid_is_not_this_accounts(sb):
    prepare(sb)
    add(sb, lang="en")
    edit_state(sb, "zoe", disabled=1)
    uid = uid_of(sb, "zoe")
    # the uid recorded at creation is this account's: the module acts
    edit_state(sb, "zoe", uid=uid)
    account(sb, "zoe", EXPIRED)
    # userdel, then an unrelated useradd of the same name: another uid; the
    # stale state (disabled, or a temporary password to change) is not its
    edit_state(sb, "zoe", uid=uid + 1000)
    log = sb.syslog()
    try:
        r = account(sb, "zoe", DENIED)  # ignored
        line = log.recv(4096).decode()
    finally:
        log.close()
    assert r["errors"] == [] and r["info"] == [], r
    assert "zoe" in line and f"uid {uid + 1000}" in line and f"uid {uid})" in line, line
    edit_state(sb, "zoe", disabled=0, must_change=1)
    r = account(sb, "zoe", DENIED)
    assert r["errors"] == [], r
    # nor is a login recorded in it, nor a notice queued for it
    before = sb.read("/var/lib/eschool/users/zoe")
    r = drive(sb, "es-session", "zoe", [["open", SUCCESS]], env={"PAM_RHOST": "10.5.5.5"})
    assert r["ok"], r
    assert sb.read("/var/lib/eschool/users/zoe") == before
    # a state without a uid (written before the key existed) is the account's
    text = "\n".join(l for l in before.splitlines() if not l.startswith("uid=")) + "\n"
    sb.write("/var/lib/eschool/users/zoe", text)
    account(sb, "zoe", NEW_AUTHTOK)
