"""A configuration the module cannot load (issue 16, item 5), through the
real libpam and pam_unix in the sandbox: before, every user but root and
group sudo got PAM_SYSTEM_ERR, users eschool never managed included. Now
the module still finds out whether the user is managed (a state file in the
default state_dir, or in the state_dir the file names when that line reads
well): an unmanaged user is left alone, a managed one gets the built-in
on_error (deny), and one syslog line per login names the file, the line
and the error."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
from test_pam import (DENIED, SUCCESS, SYSTEM_ERR, account, add, drive,  # noqa: E402
                      edit_state, prepare)

CONF = "/etc/eschool/eschool.conf"
BOB_PW = "Bob-Has-A-Long-Password-1"


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def local_user(sb, name="bob", pw=BOB_PW):
    """An account eschool never made, with a password pam_unix checks."""
    sb.cmd(["useradd", "-m", name], check=True)
    sb.cmd(["chpasswd"], input=f"{name}:{pw}\n", check=True)


def ours(lines):
    return [l for l in lines if "pam_eschool(" in l]


def login(sb, user, pw, expect_account):
    """auth, account (and, when let in, the session) through es-login."""
    ops = [["auth", SUCCESS], ["account", expect_account]]
    if expect_account == SUCCESS:
        ops.append(["open", SUCCESS])
    r = drive(sb, "es-login", user, ops, [pw], env={"PAM_RHOST": "10.6.6.6"})
    assert r["ok"], (user, r)
    return r


def test_a_typo_leaves_unmanaged_users_alone_and_refuses_managed_ones(sb):
    prepare(sb)
    pw = add(sb, lang="en")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    local_user(sb)
    conf = sb.read(CONF)
    broken = conf + "[policy]\nmax_age_days = ninety\n"  # a typo in a value
    where = f"{CONF}:{broken.splitlines().index('max_age_days = ninety') + 1}:"
    sb.write(CONF, broken)
    log = sb.syslog()
    try:
        login(sb, "bob", BOB_PW, SUCCESS)  # through pam_unix: in
        bob = ours(log.received())
        login(sb, "zoe", pw, SYSTEM_ERR)   # managed: refused
        zoe = ours(log.received())
    finally:
        log.close()
    # one line per login (account and session of one handle), naming the
    # file, the line and the error, and what it meant for this user
    assert len(bob) == 1, bob
    assert where in bob[0] and "max_age_days" in bob[0] and "ninety" in bob[0], bob
    assert "bob has no state" in bob[0] and "left alone" in bob[0], bob
    assert len(zoe) == 1, zoe
    assert where in zoe[0] and "zoe has a state in /var/lib/eschool" in zoe[0], zoe
    assert "refused" in zoe[0], zoe
    # unmanaged users the module alone ignores: every module ignored
    for user in ("bob", "nobody", "no_such_user"):
        r = account(sb, user, DENIED)
        assert r["errors"] == [], (user, r)


def test_the_state_dir_the_broken_file_names_is_looked_at(sb):
    prepare(sb, general="state_dir = /var/lib/school\n")
    pw = add(sb, "lea", lang="en")
    assert sb.exists("/var/lib/school/users/lea")
    path = "/var/lib/school/users/lea"
    sb.write(path, sb.read(path).replace("must_change=1", "must_change=0"))
    local_user(sb)
    conf = sb.read(CONF)
    # a syntax error after the state_dir line
    sb.write(CONF, conf + "[policy\n")
    login(sb, "lea", pw, SYSTEM_ERR)
    login(sb, "bob", BOB_PW, SUCCESS)
    # the same file, but others may write it: its state_dir is not
    # believed (it could hide a managed user), only the default is looked at
    sb.cmd(["chmod", "666", CONF], check=True)
    log = sb.syslog()
    try:
        account(sb, "lea", DENIED)
        line = log.received()[0]
    finally:
        log.close()
    assert "writable" in line and "lea has no state in /var/lib/eschool:" in line, line
    # a state_dir line that is itself wrong: the default only
    sb.write(CONF, conf.replace("state_dir = /var/lib/school", "state_dir = var/lib/school"))
    account(sb, "lea", DENIED)
    login(sb, "bob", BOB_PW, SUCCESS)


def test_a_missing_state_dir_and_a_broken_state_with_a_broken_config(sb):
    """The default state_dir that does not exist is no error (nobody is
    managed); a state file there that cannot be read means a managed user:
    refused."""
    prepare(sb)
    local_user(sb)
    sb.write(CONF, "[general]\nmode = sideways\n")
    assert not sb.exists("/var/lib/eschool")
    login(sb, "bob", BOB_PW, SUCCESS)
    sb.write("/var/lib/eschool/users/bob", "garbage\n")
    sb.cmd(["chmod", "700", "/var/lib/eschool", "/var/lib/eschool/users"], check=True)
    login(sb, "bob", BOB_PW, SYSTEM_ERR)
