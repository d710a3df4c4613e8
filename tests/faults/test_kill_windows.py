"""The narrow windows the crash campaigns go through, reproduced on purpose
(a kill lands in them only now and then): each test puts the files in the
state a kill at that moment leaves, then runs what comes next.

- an import killed after queueing a row's mails but before recording it
  (state "creating"): the resumed import replaces the credentials mail and
  tells the parent once; a `queue run` in between (eschool-queue.path
  starts one whenever a mail is queued) must not send the stale
  credentials, whose password the resumed import replaces;
- two 451 replies in one run: the second one must not look like a failure
  to connect (which stopped the run and, in an import, showed the
  passwords of every row left)."""
import json
import time

from conftest import (ESCHOOL, SPOOL, STATE_DIR, faketime_env, new_sandbox, queue_listing,
                      write_config)

ROSTER = ("username,name,email,role,parent_email\r\n"
          "zoe,Zoë Lefèvre,zoe@school.example,student,parent.zoe@family.example\r\n")


def killed_before_recording(sb, srv):
    """An import whose row was queued (credentials + parent notice) but not
    recorded: what a kill between queue_row and the state's save leaves."""
    conf = sb.read("/etc/eschool/eschool.conf")
    sb.write("/etc/eschool/eschool.conf", conf.replace(f"port = {srv.port}", "port = 1"))
    path = sb.private("roster.csv")
    sb.write(path, ROSTER)
    p = sb.eschool("--json", "import", path)  # server down: both mails stay queued
    assert p.returncode == 0, p.stderr
    state = sb.read(f"{STATE_DIR}/users/zoe")
    assert "delivery=fallback" in state
    sb.write(f"{STATE_DIR}/users/zoe", state.replace("delivery=fallback", "delivery=creating"))
    sb.write("/etc/eschool/eschool.conf", conf)
    kinds = sorted(m["kind"] for m in queue_listing(sb))
    assert kinds == ["parent-notice", "welcome-student"], kinds
    return path


def test_resumed_import_replaces_the_credentials_and_tells_the_parent_once(srv):
    with new_sandbox() as sb:
        write_config(sb, "production", srv)
        path = killed_before_recording(sb, srv)
        old = {m["kind"]: m["id"] for m in queue_listing(sb)}
        n0 = len(srv.messages)
        p = sb.eschool("--json", "import", path)
        assert p.returncode == 0, p.stderr
        assert "1 completed" in p.stderr
        left = queue_listing(sb)
        # the old credentials are gone, the parent notice is the old one
        assert [m["kind"] for m in left] == ["parent-notice"]
        assert left[0]["id"] == old["parent-notice"]
        p = sb.cmd([ESCHOOL, "queue", "run"], env=faketime_env(600))  # it is due
        assert p.returncode == 0, p.stderr
        got = sorted(m["X-Eschool-Kind"] for _, m in srv.messages[n0:])
        assert got == ["parent-notice", "welcome-student"], got


def test_queue_run_holds_the_credentials_of_an_unrecorded_account(srv):
    with new_sandbox() as sb:
        write_config(sb, "production", srv)
        path = killed_before_recording(sb, srv)
        n0 = len(srv.messages)
        # the first try deferred them: due ten minutes later
        p = sb.cmd([ESCHOOL, "queue", "run"], env=faketime_env(600))
        assert p.returncode == 0, p.stderr
        assert len(srv.messages) == n0  # both wait for their account
        assert [m["state"] for m in queue_listing(sb)] == ["held", "held"]
        status = json.loads(sb.eschool("--json", "queue", "status", check=True).stdout)
        assert status["held"] == 2 and status["queued"] == 0, status
        text = sb.eschool("queue", "status", check=True).stdout
        assert "2 held" in text and "run the same import" in text, text
        p = sb.eschool("--json", "import", path)  # resumed: a new password, its mail
        assert p.returncode == 0, p.stderr
        p = sb.cmd([ESCHOOL, "queue", "run"], env=faketime_env(1200))
        assert p.returncode == 0, p.stderr
        got = sorted(m["X-Eschool-Kind"] for _, m in srv.messages[n0:])
        assert got == ["parent-notice", "welcome-student"], got
        assert queue_listing(sb) == []


def test_a_second_451_in_a_run_is_not_a_connection_failure(srv):
    with new_sandbox() as sb:
        write_config(sb, "production", srv)
        now = int(time.time())
        for i in range(3):
            ident = f"{now:010d}.{i:016x}"
            msg = (f"From: noreply@school.example\r\nTo: s{i}@school.example\r\n"
                   f"Subject: t\r\nMessage-ID: <{ident}@school.example>\r\n\r\nHello\r\n")
            sb.write(f"{SPOOL}/new/{ident}",
                     f"eschool-queue 1\nid={ident}\nto=s{i}@school.example\nkind=test\n"
                     f"user=\npriority=1\ncreated={now}\nnext_try=0\nattempts=0\n"
                     f"last_error=\nsecret=0\nsize={len(msg)}\nend\n{msg}")
        n0 = len(srv.messages)
        srv.data_replies.extend(["451 4.3.0 later", "451 4.3.0 later again"])
        p = sb.eschool("--json", "queue", "run")
        assert p.returncode == 75, p.stderr
        assert '"sent":1,"deferred":2' in p.stdout, p.stdout + p.stderr
        assert [m["To"] for _, m in srv.messages[n0:]] == ["s2@school.example"]
        errors = sorted(m["last_error"] for m in queue_listing(sb))
        assert all(e.startswith("data: ") and "451" in e for e in errors), errors


def test_a_skeleton_copy_cut_by_a_kill_is_made_again():
    """make_home copies /etc/skel file by file; a kill in the middle of one
    leaves it short and still root's. The resumed import must copy it again,
    and keep what the account already owns."""
    with new_sandbox() as sb:
        write_config(sb, "debug")
        path = sb.private("roster.csv")
        sb.write(path, "username,name,email\r\nzoe,Zoë Lefèvre,zoe@school.example\r\n")
        assert sb.eschool("--json", "import", path).returncode == 0
        state = sb.read(f"{STATE_DIR}/users/zoe")
        sb.write(f"{STATE_DIR}/users/zoe", state.replace("delivery=printed", "delivery=creating"))
        sb.cmd(["sh", "-c", "truncate -s 10 /home/zoe/.bashrc && chown root:root /home/zoe/.bashrc"
                " && chmod 600 /home/zoe/.bashrc && echo mine >> /home/zoe/.profile"], check=True)
        p = sb.eschool("--json", "import", path)
        assert p.returncode == 0 and "1 completed" in p.stderr, p.stderr
        assert sb.read("/home/zoe/.bashrc") == sb.read("/etc/skel/.bashrc")
        owner = sb.passwd_entry("zoe")[2]
        mode, uid, gid, kind = sb.stat("/home/zoe/.bashrc")
        assert (str(uid), kind) == (owner, "regular file")
        assert mode == sb.stat("/etc/skel/.bashrc")[0]
        assert sb.read("/home/zoe/.profile").endswith("mine\n")  # the account's: kept
