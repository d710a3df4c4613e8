"""eschool queue run|status|list|retry|drop against a real SMTP server
(tests/smtpserver.py): delivery in priority order over one login, 4xx
deferred then retried (time moved with faketime), 5xx failed and revived,
server down, torn files, debug mode sends nothing."""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL  # noqa: E402
from conftest import configure_mail  # noqa: E402

SPOOL = "/var/spool/eschool"


def configure(sb, port, ca_file, mode="production"):
    configure_mail(sb, port, ca_file, mode=mode)


def enqueue(sb, to, kind, priority, created=None, body="Hello", user=""):
    """Writes a queue file as lib/es_queue does (format of es_queue.h).
    user: the account it is about ("" none: queue run sends a mail about an
    account only while that account has eschool state, to its address)."""
    created = created or int(time.time())
    ident = f"{created:010d}.{os.urandom(8).hex()}"
    msg = (f"From: noreply@school.example\r\nTo: {to}\r\nSubject: {kind}\r\n"
           f"Message-ID: <{ident}@school.example>\r\nX-Eschool-Kind: {kind}\r\n\r\n"
           f"{body}\r\n")
    data = (f"eschool-queue 1\nid={ident}\nto={to}\nkind={kind}\nuser={user}\npriority={priority}\n"
            f"created={created}\nnext_try=0\nattempts=0\nlast_error=\nsecret=0\n"
            f"size={len(msg.encode())}\nend\n{msg}")
    sb.write(f"{SPOOL}/new/{ident}", data)
    return ident


def listing(sb):
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_run_delivers_in_priority_order_with_one_login(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0, l0 = len(srv.messages), len(srv.logins)
    enqueue(sandbox, "parent@school.example", "password-changed", 1, created=1000)
    enqueue(sandbox, "a@school.example", "welcome-student", 0, created=2000)
    enqueue(sandbox, "b@school.example", "welcome-student", 0, created=3000)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0, p.stderr
    got = [m["To"] for _, m in srv.messages[n0:]]
    assert got == ["a@school.example", "b@school.example", "parent@school.example"]
    assert len(srv.logins) == l0 + 1  # one connection, one login
    assert listing(sandbox) == []
    st = json.loads(sandbox.eschool("--json", "queue", "status").stdout)
    assert st["queued"] == 0 and st["failed"] == 0


def test_4xx_is_deferred_then_delivered_once(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    ident = enqueue(sandbox, "c@school.example", "reset", 0)
    srv.data_replies.append("451 4.3.0 try again later")
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 75, p.stderr
    (m,) = listing(sandbox)
    assert m["id"] == ident and m["state"] == "deferred" and m["attempts"] == 1
    assert "451" in m["last_error"]
    # not due yet: nothing is sent
    assert sandbox.eschool("queue", "run").returncode == 0
    assert len(srv.messages) == n0
    # two minutes later it is
    # (under SANITIZE=1, libfaketime is preloaded before the ASan runtime)
    p = sandbox.cmd(["faketime", "-f", "+180s", ESCHOOL, "queue", "run"],
                    env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    assert [m["To"] for _, m in srv.messages[n0:]] == ["c@school.example"]
    assert listing(sandbox) == []


def test_5xx_fails_then_retry_revives(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    ident = enqueue(sandbox, "d@school.example", "welcome-student", 0)
    srv.rcpt_replies.append("550 5.1.1 no such mailbox")
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0
    assert "failed for good" in p.stderr
    (m,) = listing(sandbox)
    assert m["state"] == "failed" and "550" in m["last_error"]
    assert sandbox.eschool("queue", "retry", ident).returncode == 0
    (m,) = listing(sandbox)
    assert m["state"] == "queued" and m["attempts"] == 0
    assert sandbox.eschool("queue", "run").returncode == 0
    assert [m["To"] for _, m in srv.messages[n0:]] == ["d@school.example"]


def test_server_down_keeps_everything(sandbox, srv):
    configure(sandbox, 1, srv.ca_file)  # nothing listens on port 1
    enqueue(sandbox, "e@school.example", "welcome-student", 0)
    enqueue(sandbox, "f@school.example", "welcome-student", 0)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 75
    msgs = listing(sandbox)
    assert len(msgs) == 2
    assert msgs[0]["state"] == "deferred" and "connect" in msgs[0]["last_error"]
    assert msgs[1]["state"] == "queued"  # not tried after the first failure


def test_drop_and_torn_files(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    ident = enqueue(sandbox, "g@school.example", "test", 1)
    assert sandbox.eschool("queue", "drop", ident).returncode == 0
    assert listing(sandbox) == []
    assert sandbox.eschool("queue", "drop", ident).returncode == 67
    assert sandbox.eschool("queue", "drop", "../../etc/passwd").returncode == 65
    # a torn file is reported and skipped; the others go out
    sandbox.write(f"{SPOOL}/new/0000000001.aa",
                  "eschool-queue 1\nid=0000000001.aa\nto=x@school.example\nsize=99\nend\nshort")
    enqueue(sandbox, "h@school.example", "test", 1)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0
    assert "corrupt or incomplete" in p.stderr
    assert [m["To"] for _, m in srv.messages[n0:]] == ["h@school.example"]


def test_debug_mode_sends_nothing(sandbox, srv):
    configure(sandbox, srv.port, srv.ca_file, mode="debug")
    n0 = len(srv.messages)
    enqueue(sandbox, "i@school.example", "test", 1)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0 and "debug mode" in p.stdout
    assert len(srv.messages) == n0
    assert len(listing(sandbox)) == 1


def test_only_the_mail_sender_loads_libcurl():
    """libcurl (and the 30 libraries it brings) is the mail sender's,
    eschool_smtp.so, loaded by the commands that send: the eschool command
    itself and the PAM module never load it at start."""
    import re
    import subprocess
    build = os.path.dirname(ESCHOOL)

    def needed(name):
        r = subprocess.run(["readelf", "-d", os.path.join(build, name)], capture_output=True,
                           text=True, check=True)
        return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)

    for name in ("eschool", "pam_eschool.so", "pam_eschool_ldap.so"):
        libs = needed(name)
        assert libs, name
        assert not [lib for lib in libs if lib.startswith("libcurl")], (name, libs)
    assert [lib for lib in needed("eschool_smtp.so") if lib.startswith("libcurl")]


def test_a_mail_sender_others_may_write_is_never_loaded(sandbox, srv):
    """The mail sender (eschool_smtp.so: libcurl) is loaded as root only from
    a file and a directory root's alone: one anybody may write, or a link,
    is refused with what to do, and the queue loses nothing; root's alone
    again, the same queue goes."""
    sb = sandbox
    configure(sb, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    ident = enqueue(sb, "a@school.example", "welcome-student", 0)
    copy = sb.private("bin")
    plugin = os.path.join(os.path.dirname(ESCHOOL), "eschool_smtp.so")
    sb.cmd(["install", "-d", "-m", "755", copy], check=True)
    sb.cmd(["install", "-m", "755", ESCHOOL, f"{copy}/eschool"], check=True)
    sb.cmd(["install", "-m", "666", plugin, f"{copy}/eschool_smtp.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "queue", "run"])
    assert p.returncode == 69, (p.returncode, p.stderr)
    assert "eschool_smtp.so is missing, or is not root's alone" in p.stderr, p.stderr
    assert "reinstall eschool" in p.stderr
    assert len(srv.messages) == n0
    assert [m["id"] for m in listing(sb)] == [ident]
    # a link, even to root's own sender, is not followed
    sb.cmd(["ln", "-sf", plugin, f"{copy}/eschool_smtp.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "queue", "run"])
    assert p.returncode == 69 and "not root's alone" in p.stderr, (p.returncode, p.stderr)
    assert len(srv.messages) == n0
    # root's alone: loaded, the mail goes, once
    sb.cmd(["rm", f"{copy}/eschool_smtp.so"], check=True)
    sb.cmd(["install", "-m", "644", plugin, f"{copy}/eschool_smtp.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "queue", "run"])
    assert p.returncode == 0, p.stderr
    assert [m["To"] for _, m in srv.messages[n0:]] == ["a@school.example"]
    assert listing(sb) == []


def test_a_mail_sender_of_another_build_is_never_loaded(sandbox, srv):
    """A plugin carries the digest of the headers it was built with: one
    from another build (its digest changed here), root's alone as it is,
    is refused as not this eschool's, and the queue loses nothing."""
    import re
    sb = sandbox
    configure(sb, srv.port, srv.ca_file)
    n0 = len(srv.messages)
    ident = enqueue(sb, "a@school.example", "welcome-student", 0)
    build = os.path.dirname(ESCHOOL)
    with open(os.path.join(build, "eschool_smtp.so"), "rb") as f:
        plugin = f.read()
    with open(ESCHOOL, "rb") as f:
        helper = f.read()
    with open(os.path.join(build, "libeschool.a"), "rb") as f:
        lib = f.read()  # (its hex alphabet is in both too: not the digest)
    digests = [d for d in set(re.findall(rb"\0([0-9a-f]{16})\0", plugin))
               if b"\0" + d + b"\0" in helper and d not in lib]
    assert len(digests) == 1, digests
    other = digests[0][:-1] + (b"0" if digests[0][-1:] != b"0" else b"1")
    copy = sb.private("bin")
    sb.cmd(["install", "-d", "-m", "755", copy], check=True)
    sb.cmd(["install", "-m", "755", ESCHOOL, f"{copy}/eschool"], check=True)
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".so") as f:
        f.write(plugin.replace(b"\0" + digests[0] + b"\0", b"\0" + other + b"\0"))
        f.flush()
        sb.cmd(["install", "-m", "644", f.name, f"{copy}/eschool_smtp.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "queue", "run"])
    assert p.returncode != 0, p.stderr
    assert ("the mail cannot be sent: " + copy + "/eschool_smtp.so is not from this build of eschool"
            " (reinstall eschool)") in p.stderr, p.stderr
    assert len(srv.messages) == n0
    assert [m["id"] for m in listing(sb)] == [ident]
