"""The directory's first-login story through Debian's own PAM stacks: lab
workstations (tests/directory.py: a real SSSD in a sandbox each) whose
common-auth/account/password/session are written by the real
pam-auth-update from the profiles a workstation with libpam-sss (and so
libpam-pwquality) and libpam-eschool installed has -- unix, sss,
pwquality, systemd, capability and packaging/pam-configs/eschool -- driven
through Debian's /etc/pam.d/login by pypamtest and through Debian's
/etc/pam.d/sshd by a real sshd and ssh client on a pty."""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import CONF, credentials_human  # noqa: E402
from directory import (HOSTS, PAM_AUTH_ERR, PAM_CHANGE_EXPIRED_AUTHTOK,  # noqa: E402
                       PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS, Workstation, days_now, user_dn)
import test_directory  # noqa: E402
from test_directory import SECRET, admin_entry, ldap_conf, queue_list  # noqa: E402
from test_pam import debian_profile  # noqa: E402
from test_sshd import Sshd as SshdOnSandbox, client, finish  # noqa: E402

server = test_directory.server  # the admin server's fixture: sandbox, slapd, config
NEW = "Nouveau-Mot-2-Passe!"


def debian_pam(sb):
    """What installing libpam-eschool does on a workstation that has
    libpam-sss: the module and its directory plugin in the PAM module
    directory, the profile beside the host's (sss, unix, pwquality, ...),
    then the real pam-auth-update (test_pam.debian_profile)."""
    return debian_profile(sb, plugin=True, services=False)


def pam_lines(text):
    """The functional lines of a pam.d file, whitespace collapsed."""
    return [" ".join(line.split()) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


class DebianWorkstation(Workstation):
    """A Workstation whose PAM is Debian's: pam-auth-update's common-* with
    the sss and eschool profiles, the real /etc/pam.d/login and sshd, and
    eschool's config binding as the host's own entry."""

    def __init__(self, slapd, host):
        super().__init__(slapd, host)
        try:
            dn, pw = HOSTS[host]
            self.sb.write(SECRET, pw + "\n", mode="600")
            self.sb.write(CONF, ldap_conf(slapd).replace(HOSTS["eschool-admin"][0], dn))
            self.common = debian_pam(self.sb)
        except BaseException:
            self.close()
            raise


@pytest.fixture
def lab(request):
    """The server (sandbox, slapd) and two Debian workstations."""
    sb, slapd = request.getfixturevalue("server")
    wss = []
    try:
        for host in ("ws1", "ws2"):
            wss.append(DebianWorkstation(slapd, host))
        yield sb, slapd, wss[0], wss[1]
    finally:
        for ws in wss:
            ws.close()


def add_student(sb, user="zoe"):
    p = sb.eschool("add", user, "--email", f"{user}@example.org")
    assert p.returncode == 0, p.stdout + p.stderr
    return credentials_human(p.stdout)[user]


def entry(slapd, user):
    return admin_entry(slapd, user_dn(user), ["shadowLastChange", "eschoolMustChange",
                                              "eschoolNotices", "eschoolPasswordChanged"])


def password_changed_mails(sb):
    for _ in range(2):  # the second run finds nothing more owed
        p = sb.eschool("queue", "run")
        assert p.returncode == 0, p.stdout + p.stderr
    return [m for m in queue_list(sb) if m["kind"] == "password-changed"]


def check_combined_stacks(ws):
    """pam-auth-update wrote pam_unix, pam_sss and pam_eschool into every
    common-* file, in the order the profiles' priorities give."""
    c = {k: pam_lines(v) for k, v in ws.common.items()}
    for stack in ("auth", "account", "password", "session"):
        assert any("pam_unix.so" in line for line in c[stack]), c[stack]
        assert any("pam_sss.so" in line for line in c[stack]), c[stack]
    for stack in ("account", "password", "session"):
        assert any("pam_eschool.so" in line for line in c[stack]), c[stack]
    assert any("pam_pwquality.so" in line for line in c["password"]), c["password"]
    # the account stack: pam_eschool before the sss profile's 'sufficient
    # pam_localuser.so', which would end the stack for local users
    acct = "\n".join(c["account"])
    assert acct.index("pam_eschool.so") < acct.index("pam_localuser.so"), acct
    # the password stack: pam_eschool's line (Additional) comes after the
    # sss profile's 'sufficient pam_sss.so' (Primary), which ends the stack
    # when it changed a directory user's password: pam_eschool records that
    # change at the session or the next account stage instead (the tests below)
    pw = c["password"]
    order = [next(i for i, line in enumerate(pw) if m in line)
             for m in ("pam_pwquality.so", "pam_unix.so", "pam_sss.so", "pam_eschool.so")]
    assert order == sorted(order), pw
    assert pw[order[2]].startswith("password sufficient pam_sss.so"), pw


def test_first_login_through_debians_login_service(lab):
    """Debian's /etc/pam.d/login (its @include common-*): the mailed password
    is accepted on ws1 and must be changed there; the change goes through
    pam_sss to the directory; ws2 accepts the new password and asks nothing;
    the temporary password is dead everywhere; one password-changed mail."""
    sb, slapd, ws1, ws2 = lab
    for ws in (ws1, ws2):
        check_combined_stacks(ws)
    temporary = add_student(sb)
    before = entry(slapd, "zoe")
    assert before["shadowLastChange"] == ["0"] and before["eschoolMustChange"] == ["1"]

    log = ws1.sb.syslog()
    r = ws1.pam("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                        ["chauthtok", PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK],
                        ["open", PAM_SUCCESS]],
                passwords=[temporary, temporary, NEW, NEW], service="login",
                env={"PAM_TTY": "tty3"})
    lines = log.received()
    assert r["ok"], f"{r}\n{lines}\n{ws1.logs()}"
    assert any("You must change your temporary password now." in m for m in r["info"] + r["errors"]), r
    after = entry(slapd, "zoe")
    assert int(after["shadowLastChange"][0]) >= days_now(), after  # pam_sss changed it
    assert after["eschoolMustChange"] == ["0"], (after, "\n".join(lines))  # pam_eschool saw it
    assert slapd.bind_ok(user_dn("zoe"), NEW) and not slapd.bind_ok(user_dn("zoe"), temporary)

    # ws2: the new password, nothing asked, nothing said
    ws2.sss_cache_expire()
    r = ws2.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                           ["open", PAM_SUCCESS]], passwords=[NEW], service="login")
    assert not any("password" in m.lower() for m in r["info"] + r["errors"]), r
    # the temporary password opens nothing, on either workstation
    for ws in (ws1, ws2):
        ws.sss_cache_expire()
        r = ws.pam("zoe", [["auth", PAM_AUTH_ERR]], passwords=[temporary], service="login")
        assert r["ok"], r
    # the mail: owed on the entry by ws1, sent by the server once
    assert not ws1.sb.exists("/var/spool/eschool/new")
    queued = password_changed_mails(sb)
    assert len(queued) == 1 and queued[0]["to"] == "zoe@example.org", queued
    assert "eschoolNotices" not in entry(slapd, "zoe")


def test_a_change_without_a_session_is_recorded_by_the_next_login_anywhere(lab):
    """A change through the combined common-password whose program opens no
    session afterwards (passwd, a change-only transaction): pam_sss ends
    the password stack, so nothing is recorded on ws1; the next login's
    account stage on ws2 finds the directory's shadowLastChange moved,
    records the change there (asks nothing) and owes the mail, once."""
    sb, slapd, ws1, ws2 = lab
    temporary = add_student(sb)
    ws1.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                       ["chauthtok", PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK]],
               passwords=[temporary, temporary, NEW, NEW], service="login")
    e = entry(slapd, "zoe")
    assert int(e["shadowLastChange"][0]) >= days_now(), e
    assert e["eschoolMustChange"] == ["1"], e  # pam_eschool's password line never ran
    ws2.sss_cache_expire()
    log = ws2.sb.syslog()
    r = ws2.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                           ["open", PAM_SUCCESS]], passwords=[NEW], service="login")
    lines = [x for x in log.received() if "pam_eschool" in x]
    assert not any("change" in m.lower() for m in r["info"] + r["errors"]), r
    assert any("without pam_eschool's password stage: recorded now" in x for x in lines), lines
    assert entry(slapd, "zoe")["eschoolMustChange"] == ["0"]
    # a third login records nothing more
    ws1.sss_cache_expire()
    ws1.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS], ["open", PAM_SUCCESS]],
               passwords=[NEW], service="login")
    queued = password_changed_mails(sb)
    assert len(queued) == 1, queued


def test_a_later_change_with_passwd_is_told_after_the_next_login(lab):
    """Weeks after the first change the student changes the password
    again with passwd (Debian's /etc/pam.d/passwd: common-password, where
    pam_sss ends the stack): nothing is due, so nothing asks; the next
    login's account stage reads shadowLastChange with the state (the day
    moved past the change recorded) and owes one password-changed mail."""
    sb, slapd, ws1, ws2 = lab
    temporary = add_student(sb)
    ws1.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                       ["chauthtok", PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK],
                       ["open", PAM_SUCCESS]],
               passwords=[temporary, temporary, NEW, NEW], service="login")
    assert len(password_changed_mails(sb)) == 1
    # that first change, as if made and recorded 20 days ago (the days are
    # what count: the change recorded, and the day eschool last saw in
    # shadowLastChange, eschoolLastChangeSeen)
    long_ago = str(int(entry(slapd, "zoe")["eschoolPasswordChanged"][0]) - 20 * 86400)
    seen = admin_entry(slapd, user_dn("zoe"), ["eschoolLastChangeSeen"])
    assert seen["eschoolLastChangeSeen"] == [str(days_now())], seen
    day_then = days_now() - 20
    for attr, values in (("eschoolPasswordChanged", [long_ago]),
                         ("eschoolLastChangeSeen", [str(day_then)]),
                         ("shadowLastChange", [str(day_then)])):
        code, out = slapd.replace(user_dn("zoe"), attr, *values, bind_dn=slapd.admin_dn,
                                  password=slapd.admin_password)
        assert code == 0, out
    later = "Encore-Un-Autre-7-Mot!"
    ws1.pam_ok("zoe", [["chauthtok", PAM_SUCCESS]], passwords=[NEW, later, later],
               service="passwd", as_user=True)
    assert slapd.bind_ok(user_dn("zoe"), later)
    assert entry(slapd, "zoe")["eschoolPasswordChanged"] == [long_ago]  # not seen there
    ws2.sss_cache_expire()
    log = ws2.sb.syslog()
    r = ws2.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                           ["open", PAM_SUCCESS]], passwords=[later], service="login")
    lines = [x for x in log.received() if "pam_eschool" in x]
    assert not any("change" in m.lower() for m in r["info"] + r["errors"]), r
    assert any("without pam_eschool's password stage: recorded now" in x for x in lines), lines
    assert int(entry(slapd, "zoe")["eschoolPasswordChanged"][0]) > int(long_ago)
    ws1.sss_cache_expire()
    ws1.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS], ["open", PAM_SUCCESS]],
               passwords=[later], service="login")
    queued = password_changed_mails(sb)
    assert len(queued) == 2, queued


PAM_MAXTRIES = 11


def test_a_new_password_pwquality_refuses_changes_nothing(lab):
    """libpam-sss pulls in libpam-pwquality, whose 'requisite' line comes
    first in common-password: a password it refuses three times ends the
    change before pam_sss; the directory and eschool's state are as they
    were, and the next login is asked again."""
    sb, slapd, ws1, _ = lab
    temporary = add_student(sb)
    weak = "abc"
    r = ws1.pam("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                        ["chauthtok", PAM_MAXTRIES, PAM_CHANGE_EXPIRED_AUTHTOK]],
                passwords=[temporary, temporary, weak, weak, weak], service="login")
    assert r["ok"], r  # pam_pwquality's retry=3 used up
    e = entry(slapd, "zoe")
    assert e["shadowLastChange"] == ["0"] and e["eschoolMustChange"] == ["1"], e
    assert slapd.bind_ok(user_dn("zoe"), temporary)
    ws1.sss_cache_expire()
    ws1.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                       ["open", PAM_SUCCESS]], passwords=[temporary], service="login")
    # (a program that opens the session anyway records no change either)
    assert entry(slapd, "zoe")["eschoolMustChange"] == ["1"]
    assert password_changed_mails(sb) == []


# ---- a real sshd on each workstation ----

def Sshd(ws, kbd_interactive=True):
    """sshd in a workstation's sandbox (test_sshd.Sshd: Debian's
    /etc/pam.d/sshd, and so the combined common-*), on its /run."""
    return SshdOnSandbox(ws.sb, kbd_interactive, own_run=False)


CURRENT = re.compile("(?i)current password: ")
NEW_PROMPT = re.compile("(?i)(?<!retype )new password: ")
AGAIN = re.compile("(?i)retype new password: ")


def test_first_login_over_ssh_on_one_workstation_then_another(lab):
    """ssh to ws1's sshd with the mailed password (keyboard-interactive):
    told to change it, changes it through pam_sss and pam_pwquality, the
    command runs as the student; ssh to ws2's own sshd with the new
    password: one prompt, nothing asked, the command runs; the temporary
    password is refused by both."""
    sb, slapd, ws1, ws2 = lab
    temporary = add_student(sb)
    s1, s2 = Sshd(ws1), Sshd(ws2)
    try:
        c = client(ws1.sb, s1.port, "echo ran-as-$(id -un)-$((40+2))")
        c.expect("assword: ")
        c.sendline(temporary)
        c.expect(CURRENT)
        c.sendline(temporary)
        c.expect(NEW_PROMPT)
        c.sendline(NEW)
        c.expect(AGAIN)
        c.sendline(NEW)
        out, status = finish(c)
        assert status == 0 and "ran-as-zoe-42" in out, out + s1.logged()
        assert "You must change your temporary password now." in out, out
        e = entry(slapd, "zoe")
        assert int(e["shadowLastChange"][0]) >= days_now() and e["eschoolMustChange"] == ["0"], e
        assert slapd.bind_ok(user_dn("zoe"), NEW)

        ws2.sss_cache_expire()
        c = client(ws2.sb, s2.port, "echo ran-as-$(id -un)-$((40+2))")
        c.expect("assword: ")
        c.sendline(NEW)
        out, status = finish(c)
        assert status == 0 and "ran-as-zoe-42" in out, out + s2.logged()
        before = out.split("ran-as")[0]  # one prompt, nothing said about passwords
        assert before.count("Password: ") == 1 and "change" not in before.lower(), out

        for ws, sshd in ((ws1, s1), (ws2, s2)):
            ws.sss_cache_expire()
            c = client(ws.sb, sshd.port, "true")
            c.expect("assword: ")
            c.sendline(temporary)
            out, status = finish(c)
            assert status == 255 and "Permission denied" in out, out
        assert "Accepted keyboard-interactive/pam for zoe" in s2.logged()
    finally:
        s1.close()
        s2.close()
    queued = password_changed_mails(sb)
    assert len(queued) == 1 and queued[0]["to"] == "zoe@example.org", queued
