"""`eschool import` in production mode against the real SMTP server
(tests/smtpserver.py): every account's credentials are queued, then sent
within the quota; each mail's password opens its account in the sandbox's
/etc/shadow; a server that is down gives the passwords as a fallback and
`queue run` delivers later, once; what is over the quota waits for the next
day."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, json_lines, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_production import mailed_password, queue  # noqa: E402

ROSTER = ("username,name,email,role,parent_email,class,lang\r\n"
          "zoe,Zoë Lefèvre,zoe@school.example,student,parent.zoe@school.example,2A,fr\r\n"
          "noel,\"Noël O'Neil\",noel@school.example,student,,2B,en\r\n"
          "mgarcon,Marc Garçon,marc@school.example,teacher,,,\r\n")


def configure(sb, port, ca_file, mail=""):
    configure_mail(sb, port, ca_file, mode="production")
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf") + mail)


def roster(sb, text=ROSTER):
    path = sb.private("roster.csv")
    sb.write(path, text)
    return path


def test_import_mails_every_account(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", "import", roster(sandbox))
    assert p.returncode == 0, p.stderr
    objs = json_lines(p.stdout)
    assert objs == [{"username": u, "delivery": "sent"} for u in ("zoe", "noel", "mgarcon")]
    got = {env.rcpt_tos[0]: msg for env, msg in srv.messages[n0:]}
    assert sorted(got) == sorted(["zoe@school.example", "noel@school.example",
                                  "marc@school.example", "parent.zoe@school.example"])
    for user, addr in (("zoe", "zoe@school.example"), ("noel", "noel@school.example"),
                       ("mgarcon", "marc@school.example")):
        assert password_ok(sandbox, user, mailed_password(got[addr]))
    assert got["zoe@school.example"]["X-Eschool-Kind"] == "welcome-student"
    assert got["marc@school.example"]["X-Eschool-Kind"] == "welcome-teacher"
    assert "Zoë Lefèvre" in str(got["zoe@school.example"]["To"])
    assert got["noel@school.example"]["Subject"].startswith("Your")  # lang=en
    notice = got["parent.zoe@school.example"]
    assert notice["X-Eschool-Kind"] == "parent-notice"
    assert "zoe" in notice.get_body(("plain",)).get_content()
    assert mailed_password(got["zoe@school.example"]) not in notice.as_string()
    assert queue(sandbox) == []
    assert sandbox.state("zoe")["delivery"] == "sent"
    # run again: complete, nothing sent twice
    p = sandbox.eschool("--json", "import", roster(sandbox))
    assert p.returncode == 0 and p.stdout == ""
    assert len(srv.messages) == n0 + 4


def test_server_down_shows_the_passwords_then_queue_run_delivers(sandbox, srv):
    configure(sandbox, 1, srv.ca_file)  # connection refused
    p = sandbox.eschool("--json", "import", roster(sandbox))
    assert p.returncode == 0, p.stderr
    objs = {o["username"]: o for o in json_lines(p.stdout)}
    assert all(o["delivery"] == "fallback" for o in objs.values())
    assert "3 not sent (password shown above, the mail stays queued)" in p.stderr, p.stderr
    for user, o in objs.items():
        assert password_ok(sandbox, user, o["password"])
    assert len(queue(sandbox)) == 4  # three credentials, one parent notice
    # human output names them too
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    p = sandbox.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    got = {env.rcpt_tos[0]: msg for env, msg in srv.messages[n0:]}
    assert len(srv.messages) == n0 + 4
    assert mailed_password(got["noel@school.example"]) == objs["noel"]["password"]
    assert queue(sandbox) == []


def test_over_the_quota_waits_for_the_next_day(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file, mail="daily_quota = 2\n")
    n0 = len(srv.messages)
    p = sandbox.eschool("import", roster(sandbox))
    assert p.returncode == 0, p.stderr
    assert "quota" in p.stderr
    lines = {l.split()[0]: l for l in p.stdout.splitlines()[1:] if l.strip()}
    assert "envoyé" in lines["zoe"] or "sent" in lines["zoe"]
    assert "mgarcon" in lines and " - " in lines["mgarcon"]  # waiting: no password shown
    # nothing failed: no "0 not sent (password shown above ...)"
    assert "mails: 2 sent, 1 waiting in the queue\n" in p.stdout, p.stdout
    assert "not sent" not in p.stdout and "password shown" not in p.stdout, p.stdout
    assert len(srv.messages) == n0 + 2
    assert len(queue(sandbox)) == 2  # mgarcon's credentials, zoe's parent notice
    p = sandbox.cmd(["faketime", "-f", "+1d", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    got = {env.rcpt_tos[0]: msg for env, msg in srv.messages[n0 + 2:]}
    assert sorted(got) == ["marc@school.example", "parent.zoe@school.example"]
    assert password_ok(sandbox, "mgarcon", mailed_password(got["marc@school.example"]))


def test_progress_bar_on_a_terminal(sandbox, srv):
    import pty
    configure(sandbox, srv.port, srv.ca_file)
    master, slave = pty.openpty()
    try:
        proc = sandbox.popen([ESCHOOL, "import", roster(sandbox)], stdout=subprocess.PIPE,
                             stderr=slave, text=True)
        os.close(slave)
        slave = -1
        out = proc.communicate(timeout=120)[0]
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert proc.returncode == 0, err
    text = err.decode()
    assert "3/3 accounts" in text  # creating
    assert "3/3 mails" in text     # sending
    assert "#" * 30 in text
    assert "sent" in out and "zoe" in out


def test_no_mail_sender_is_said_before_any_account_is_made(sandbox, srv):
    """The mail sender (eschool_smtp.so, libcurl) is loaded by a production
    import before any account is made: one that others may write is refused
    then, once, with what to do, and nothing is created nor queued; with
    the sender in place, the same roster is imported and mailed."""
    sb = sandbox
    configure(sb, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    copy = sb.private("bin")
    plugin = os.path.join(os.path.dirname(ESCHOOL), "eschool_smtp.so")
    sb.cmd(["install", "-d", "-m", "755", copy], check=True)
    for f in ("eschool", "eschool_slips.so"):
        sb.cmd(["install", "-m", "755", os.path.join(os.path.dirname(ESCHOOL), f),
                f"{copy}/{f}"], check=True)
    sb.cmd(["install", "-m", "666", plugin, f"{copy}/eschool_smtp.so"], check=True)
    before = sb.snapshot()
    p = sb.cmd([f"{copy}/eschool", "import", roster(sb)])
    assert p.returncode == 69, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count("eschool_smtp.so is missing, or is not root's alone") == 1, p.stderr
    assert "reinstall eschool" in p.stderr
    assert sb.snapshot() == before
    assert queue(sb) == []
    # the dry run sends nothing: it does not need the sender
    p = sb.cmd([f"{copy}/eschool", "import", "--dry-run", roster(sb)])
    assert p.returncode == 0, p.stderr
    # nothing was half done: the installed eschool imports and mails it all
    p = sb.eschool("--json", "import", roster(sb))
    assert p.returncode == 0, p.stderr
    assert [o["delivery"] for o in json_lines(p.stdout)] == ["sent"] * 3, p.stderr
    assert len(srv.messages) == n0 + 4
