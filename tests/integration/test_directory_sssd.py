"""[ldap] login_reads = sssd (the default): a workstation's pam_eschool reads
the user's state from SSSD's copy of the directory entry (the attributes
README.md's sssd.conf gives it, eschool's public ones only) and connects to
the directory only when a login has something to do there."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import CONF, credentials_human  # noqa: E402
from directory import (ESCHOOL_SSSD_PUBLIC, PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS,  # noqa: E402
                       SSSD_EXTRA_ATTRS, SSSD_USER_ATTRIBUTES, user_dn)
from test_directory import admin_entry, first_login, server, workstation  # noqa: E402

__all__ = ["server"]  # the fixture, used by name

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEW = "Nouveau-Mot-2-Passe!"
PRIVATE = ["eschoolMail", "eschoolName", "eschoolClass", "eschoolParentMail", "eschoolSources",
           "eschoolReminders", "eschoolPendingMail", "eschoolPendingCodeHash",
           "eschoolDelivery", "eschoolNotices", "eschoolExtra"]


def days_now():
    return int(time.time()) // 86400


def module_lines(log):
    return [x for x in log.received() if "pam_eschool" in x]


def add(sb, user, email):
    p = sb.eschool("add", user, "--email", email)
    assert p.returncode == 0, p.stdout + p.stderr
    return credentials_human(p.stdout)[user]


def refresh(ws, user):
    """SSSD reads the entry again (as pam_sss's next request would)."""
    ws.sss_cache_expire()
    assert ws.getent("passwd", user)


def test_a_login_with_nothing_to_do_never_connects(server):
    """After the first login of the day from a place, the next ones read
    SSSD's copy only: the directory stopped, no line, nothing refused; the
    same logins with login_reads = directory try the directory each time."""
    sb, slapd = server
    temporary = add(sb, "zoe", "zoe@example.org")
    ws = workstation(slapd, "ws1")
    try:
        log = ws.sb.syslog()
        first_login(ws, "zoe", temporary, NEW)
        lines = module_lines(log)
        assert not any("SSSD" in x for x in lines), lines
        # what this workstation recorded today, root's alone
        seen = "/var/lib/eschool/seen/zoe"
        p = ws.sb.cmd(["stat", "-c", "%U %a", seen])
        assert p.stdout.split() == ["root", "600"], p.stdout + p.stderr
        created = admin_entry(slapd, user_dn("zoe"), ["eschoolCreated"])["eschoolCreated"][0]
        assert ws.sb.read(seen).startswith(f"{days_now()} {created} ")
        last = admin_entry(slapd, user_dn("zoe"), ["eschoolLastLogin"])["eschoolLastLogin"]
        # online once more: SSSD caches the new password (and reads the entry)
        ws.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]], passwords=[NEW])
        slapd.stop()
        log = ws.sb.syslog()
        for _ in range(3):
            ws.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                              ["open", PAM_SUCCESS]], passwords=[NEW])
        assert module_lines(log) == []
        # the directory's way: a connection tried at every login
        ws.sb.write(CONF, ws.sb.read(CONF) + "login_reads = directory\n")
        ws.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]], passwords=[NEW])
        lines = module_lines(log)
        assert lines and all("left to the rest of the stack" in x for x in lines), lines
        slapd.start()
        assert admin_entry(slapd, user_dn("zoe"), ["eschoolLastLogin"])["eschoolLastLogin"] \
            == last  # once a day from one place
    finally:
        ws.close()


# What a classmate's program gets from SSSD's public NSS pipe: the call
# pam_eschool makes (libsss_nss_idmap), run with the classmate's uid.
ASK_SSSD = r"""
import ctypes, json, sys
class KV(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]
lib = ctypes.CDLL("libsss_nss_idmap.so.0")
kv = ctypes.POINTER(KV)()
kind = ctypes.c_int()
rc = lib.sss_nss_getorigbyusername_timeout(sys.argv[1].encode(), 2000, ctypes.byref(kv),
                                           ctypes.byref(kind))
out = []
i = 0
while rc == 0 and kv[i].key is not None:
    out.append([kv[i].key.decode(), kv[i].value.decode()])
    i += 1
print(json.dumps({"rc": rc, "kv": out}))
"""


def test_a_classmate_sees_only_the_public_attributes(server):
    """With README's sssd.conf, what SSSD hands any local user about an
    account is eschool's public part: no address (the student's, a
    parent's, a pending one), no login source, no code hash, no notice."""
    sb, slapd = server
    temporary = add(sb, "zoe", "zoe@example.org")
    add(sb, "ana", "ana@example.org")
    p = sb.eschool("set-email", "zoe", "zoe.new@example.org")
    assert p.returncode == 0, p.stdout + p.stderr
    ws = workstation(slapd, "ws1")
    try:
        first_login(ws, "zoe", temporary, NEW)
        e = admin_entry(slapd, user_dn("zoe"), ["*"])
        secrets = {a: e[a] for a in PRIVATE if a in e}
        assert {"eschoolPendingMail", "eschoolPendingCodeHash", "eschoolSources",
                "eschoolNotices"} <= set(secrets), e
        refresh(ws, "zoe")
        ana = ws.getent("passwd", "ana")
        p = ws.sb.cmd(["setpriv", f"--reuid={ana[2]}", f"--regid={ana[3]}", "--clear-groups",
                       "/usr/bin/python3", "-c", ASK_SSSD, "zoe"])
        got = json.loads(p.stdout)
        assert got["rc"] == 0, p.stdout + p.stderr
        keys = {k for k, _ in got["kv"]}
        # the module's own attributes are there (the pipe works for ana) ...
        assert {"eschoolObjectClass", "eschoolMustChange", "shadowLastChange"} <= keys, keys
        # ... and nothing private: neither by name nor by value
        assert keys <= {"eschoolObjectClass", "shadowLastChange", "mail", "originalDN"} \
            | set(ESCHOOL_SSSD_PUBLIC), keys
        # (the entry's own mail is SSSD's to give, as the directory gives
        # it to anyone: the school's address book; eschoolMail is that)
        values = " ".join(v for k, v in got["kv"] if k != "mail")
        for attr, vals in secrets.items():
            for v in vals:
                assert v not in values, (attr, v)
    finally:
        ws.close()


def test_without_eschools_sssd_lines_the_directory_is_read_and_that_is_said(server):
    """An sssd.conf without eschool's lines: SSSD gives no eschool
    attribute, and the module, rather than taking every student for
    someone it does not manage, reads the directory, logging why."""
    sb, slapd = server
    temporary = add(sb, "zoe", "zoe@example.org")
    ws = workstation(slapd, "ws1", eschool_attrs=False)
    try:
        log = ws.sb.syslog()
        r = ws.pam("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD]],
                   passwords=[temporary])
        assert r["ok"], r
        lines = module_lines(log)
        assert any("SSSD gives no eschoolObjectClass for zoe" in x and "pam_eschool(8)" in x
                   for x in lines), lines
        first_login(ws, "zoe", temporary, NEW)
        assert admin_entry(slapd, user_dn("zoe"), ["eschoolMustChange"])["eschoolMustChange"] \
            == ["0"]
    finally:
        ws.close()


def test_the_readme_gives_the_lines_the_tests_use():
    with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
        readme = f.read().splitlines()
    assert SSSD_EXTRA_ATTRS in readme and SSSD_USER_ATTRIBUTES in readme
