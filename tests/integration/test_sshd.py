"""A real OpenSSH login: Debian's sshd with Debian's /etc/pam.d/sshd and the
pam-auth-update profile enabled, inside the sandbox (private /etc, /run and
/var), on a loopback port of its own; the real ssh and sftp clients typed at
through a pty (pexpect). What a student meets over SSH with the two usual
sshd settings:
- KbdInteractiveAuthentication yes: the change happens during login, so an
  interactive session, a command and sftp all work;
- PasswordAuthentication only: sshd can change it only in a terminal
  session; a command or sftp is refused until then."""
import os
import socket
import sys
import time

import pexpect
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, new_sandbox, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import (NEW_PW, SAN_ENV, TEMPLATES, add, debian_profile, edit_state,  # noqa: E402
                      prepare, queued_kinds, state)

SSHD = "/usr/sbin/sshd"
OLD, NEW, AGAIN = "urrent password: ", "ew password: ", "etype new password: "


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    """sshd -D in the sandbox, logging to a file; stopped on close."""

    def __init__(self, sb, kbd_interactive, own_run=True):
        """own_run: mount a /run of the sandbox's own first (a workstation
        of tests/directory.py has one already: SSSD's pid file)."""
        self.sb, self.port = sb, free_port()
        self.log = sb.private("sshd.log")
        run = "mount -t tmpfs -o mode=0755 eschool-run /run && " if own_run else ""
        sb.cmd(["sh", "-c", run + "mkdir -p -m 0755 /run/sshd && rm -f /etc/ssh/ssh_host_* && "
                "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key"], check=True)
        sb.write("/etc/ssh/sshd_config.test", f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM yes
KbdInteractiveAuthentication {"yes" if kbd_interactive else "no"}
PasswordAuthentication {"no" if kbd_interactive else "yes"}
PubkeyAuthentication no
PermitRootLogin no
PidFile none
PrintMotd no
Subsystem sftp internal-sftp
""", mode="644")
        env = " ".join(f"{k}='{v}'" for k, v in SAN_ENV.items())
        self.proc = sb.popen(["sh", "-c", f"exec env {env} {SSHD} -D -e "
                              f"-f /etc/ssh/sshd_config.test 2>{self.log}"])
        deadline = time.monotonic() + 20
        while "Server listening" not in self.logged():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.logged()
            time.sleep(0.05)

    def logged(self):
        return self.sb.cmd(["cat", self.log]).stdout

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def client(sb, port, *argv, program="ssh", source="127.0.0.1"):
    """The OpenSSH client in the sandbox on a pty; `source` is the address it
    connects from (any 127.x.y.z reaches the server: a new login source)."""
    opts = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o",
            "NumberOfPasswordPrompts=1", "-o", f"BindAddress={source}"]
    if program == "sftp":
        cmd = ["sftp"] + opts + ["-P", str(port), "zoe@127.0.0.1"]
    else:
        cmd = ["ssh"] + opts + ["-p", str(port), "zoe@127.0.0.1"] + list(argv)
    c = pexpect.spawn(sb.enter[0], sb.enter[1:] + cmd, encoding="utf-8",
                      timeout=30, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                                       "TERM": "dumb", "HOME": "/nonexistent"})
    c.transcript = []
    c.logfile_read = Transcript(c.transcript)
    return c


class Transcript:
    def __init__(self, parts):
        self.parts = parts

    def write(self, s):
        self.parts.append(s)

    def flush(self):
        pass


def finish(c):
    c.expect(pexpect.EOF)
    c.close()
    return "".join(c.transcript), c.exitstatus


def change_at_prompts(c, old):
    """Answers pam_unix's change dialogue: current, new, retype."""
    c.expect(OLD)
    c.sendline(old)
    c.expect(NEW)
    c.sendline(NEW_PW)
    c.expect(AGAIN)
    c.sendline(NEW_PW)


def login(c, password):
    c.expect("assword: ")
    c.sendline(password)


def test_first_login_over_ssh_keyboard_interactive(sb, srv):
    prepare(sb, production=(1, srv.ca_file))  # server down at add: printed fallback
    debian_profile(sb)
    pw = add(sb)
    sshd = Sshd(sb, kbd_interactive=True)
    try:
        # a command, not a shell: with keyboard-interactive the change is part
        # of the login itself, so it works without a terminal session too
        c = client(sb, sshd.port, "echo logged-in-$((40+2))")
        login(c, pw)
        change_at_prompts(c, pw)
        out, status = finish(c)
        assert status == 0 and "logged-in-42" in out, out + sshd.logged()
        # sshd sets no locale (C): the module speaks English, as pam_unix
        # and sshd do there, whatever the account's language
        assert "You must change your temporary password now." in out, out
        assert password_ok(sb, "zoe", NEW_PW) and not password_ok(sb, "zoe", pw)
        st = state(sb, "zoe")
        assert st["must_change"] == "0" and st["sources"] == "127.0.0.1", st
        # the next login is a normal one: one prompt, no message
        c = client(sb, sshd.port, "true")
        login(c, NEW_PW)
        out, status = finish(c)
        assert status == 0 and "mot de passe" not in out, out
        # sftp from another address: a new login source
        c = client(sb, sshd.port, program="sftp", source="127.0.0.2")
        login(c, NEW_PW)
        c.expect("sftp> ")
        c.sendline("bye")
        out, status = finish(c)
        assert status == 0, out
        assert state(sb, "zoe")["sources"] == "127.0.0.2,127.0.0.1"
        # the temporary password no longer opens the account
        c = client(sb, sshd.port, "true")
        login(c, pw)
        out, status = finish(c)
        assert status == 255 and "Permission denied" in out, out
        assert "Accepted keyboard-interactive/pam for zoe" in sshd.logged()
    finally:
        sshd.close()
    assert sorted(k for k in queued_kinds(sb) if k != "welcome-student") == \
        ["new-login-source", "password-changed"]
    # queue run delivers what the module queued during the SSH logins
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf").replace(
        "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1))
    n0 = len(srv.messages)
    # (+10 min: the welcome mail waits out its retry delay from the failed add)
    p = sb.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"], env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    got = {m["X-Eschool-Kind"]: m for _, m in srv.messages[n0:]}
    assert set(got) == {"welcome-student", "password-changed", "new-login-source"}
    assert "127.0.0.2" in got["new-login-source"].get_body(("plain",)).get_content()


def test_password_authentication_changes_only_in_a_terminal(sb):
    prepare(sb)
    debian_profile(sb)
    pw = add(sb)
    sshd = Sshd(sb, kbd_interactive=False)
    try:
        # no terminal: sshd refuses, nothing is changed
        c = client(sb, sshd.port, "true")
        login(c, pw)
        out, status = finish(c)
        assert status == 1 and "Password change required but no TTY available" in out, out
        c = client(sb, sshd.port, program="sftp")
        login(c, pw)
        out, status = finish(c)
        assert status != 0 and "sftp>" not in out, out
        assert state(sb, "zoe")["must_change"] == "1" and password_ok(sb, "zoe", pw)
        # a terminal session: the module's message, then sshd runs the change
        c = client(sb, sshd.port, "-tt")
        login(c, pw)
        change_at_prompts(c, pw)
        out, status = finish(c)
        # one language: the module's line and sshd's (issue 16, item 18)
        assert "You must change your temporary password now." in out, out
        assert "You must change your password now and login again!" in out, out
        assert "Vous devez" not in out, out
        assert password_ok(sb, "zoe", NEW_PW)
        assert state(sb, "zoe")["must_change"] == "0"
        # then everything works, commands included
        c = client(sb, sshd.port, "echo logged-in-$((40+2))")
        login(c, NEW_PW)
        out, status = finish(c)
        assert status == 0 and "logged-in-42" in out, out
    finally:
        sshd.close()


def test_expired_temporary_password_is_refused(sb):
    prepare(sb)
    debian_profile(sb)
    pw = add(sb, lang="en")
    edit_state(sb, "zoe", initial_expires=int(time.time()) - 60)
    sshd = Sshd(sb, kbd_interactive=True)
    log = sb.syslog()
    try:
        c = client(sb, sshd.port, "true")
        login(c, pw)
        # shadow's lastchg 0: pam_unix ends the account stage and sshd runs
        # the forced change, whose first pass pam_eschool refuses
        c.expect(OLD)
        c.sendline(pw)
        out, status = finish(c)
        lines = log.received()
    finally:
        log.close()
        sshd.close()
    # the reason is in the administrator's log (authpriv, pam_eschool's line)
    mine = [l for l in lines if "pam_eschool" in l]
    assert mine and "zoe" in mine[0] and "temporary password expired unused" in mine[0], lines
    # refused before any new password is asked; sshd drops the messages of
    # a failed change (and of a failed account stage: pam_eschool(8) says
    # so), so the student sees "Permission denied"
    assert status == 255 and "Permission denied" in out, out
    assert "New password" not in out, out
    assert password_ok(sb, "zoe", pw)
    assert state(sb, "zoe")["must_change"] == "1" and "last_login" not in state(sb, "zoe")
