"""Bounded locks (issue 16, item 2). `su` holds a user's state lock as root
but runs with the student's real uid, so the student can SIGSTOP it while
it holds the lock; so can anyone who stops a process holding a lock. Every
lock the helper takes is given up after a few seconds (5 s,
ES_STATE_LOCK_WAIT_MS) with exit 75 and a message naming the user and the
holder's pid and command (from /proc/locks); `remind` leaves that user for
the next run and reminds the others. Here the holder is a process that
takes the flock and stops itself; the subprocess timeouts fail a test that
would hang."""
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import assert_fails, json_lines, new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import add, prepare  # noqa: E402

STATE = "/var/lib/eschool"
# faketime preloads itself: under SANITIZE=1 ASan must not insist on coming first
ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}
TEMP = 75
BOUND = 5  # seconds, ES_STATE_LOCK_WAIT_MS
HOLDER = r"""
import fcntl, os, signal, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print(os.getpid(), flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
"""


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


@contextlib.contextmanager
def stopped_holder(sb, path):
    """A process inside the sandbox that holds flock on path and has stopped
    itself (SIGSTOP); killed at the end whatever happens. Yields its pid as
    eschool sees it (the sandbox's PID namespace)."""
    proc = sb.popen(["/usr/bin/python3", "-c", HOLDER, path], stdout=subprocess.PIPE,
                    text=True)
    host_pid = None
    try:
        host_pid = sb.child_pid(proc)
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
        # nsenter stops too when its child does: the lock is in a stopped hand
        _, status = os.waitpid(proc.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), status
        yield int(line)
    finally:
        if host_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(host_pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    out = fn(*a, **kw)
    return out, time.monotonic() - t0


def test_remind_skips_a_locked_user_and_reminds_the_others(sb):
    prepare(sb)
    for user in ("ana", "zoe", "leo"):
        add(sb, user)
    log = sb.syslog()
    with stopped_holder(sb, f"{STATE}/locks/zoe") as pid:
        p, secs = timed(sb.cmd, ["faketime", "-f", "+8d", ESCHOOL, "--json", "remind"],
                        env=ASAN, timeout=60)
    assert secs < BOUND + 10, secs
    assert p.returncode == TEMP, (p.returncode, p.stderr)
    # the others got their reminder; zoe is left for the next run
    assert sorted(m["username"] for m in json_lines(p.stdout)) == ["ana", "leo"]
    line, = [l for l in p.stderr.splitlines() if "zoe" in l]
    assert f"held by process {pid} (python3)" in line, line
    assert "user zoe" in line and f"{STATE}/locks/zoe" in line and "next run" in line
    logged = []
    log.settimeout(0.0)  # what the finished command sent is there
    with contextlib.suppress(OSError):
        while True:
            logged.append(log.recv(4096).decode())
    assert any("remind: zoe skipped" in l and f"process {pid}" in l for l in logged), logged
    assert any("1 locked (left for the next run)" in l for l in logged), logged
    # human summary says so too; the holder gone, zoe gets hers
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "--json", "remind"], env=ASAN, timeout=60)
    assert p.returncode == 0, p.stderr
    assert [m["username"] for m in json_lines(p.stdout)] == ["zoe"]


def test_remind_summary_counts_the_locked_user(sb):
    prepare(sb)
    add(sb, "zoe")
    with stopped_holder(sb, f"{STATE}/locks/zoe"):
        p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "remind"], env=ASAN, timeout=60)
    assert p.returncode == TEMP, p.stderr
    assert "1 locked by another process, left for the next run" in p.stdout, p.stdout


def test_disable_gives_up_and_releases_the_global_lock(sb):
    prepare(sb)
    add(sb, "zoe")
    add(sb, "leo")
    with stopped_holder(sb, f"{STATE}/locks/zoe") as pid:
        p, secs = timed(sb.eschool, "disable", "zoe", timeout=60)
        assert secs < BOUND + 10, secs
        assert_fails(p, TEMP, "user zoe", f"held by process {pid} (python3)", "try again later")
        assert sb.state("zoe")["disabled"] == "0"
        assert sb.shadow_entry("zoe")[1][0] != "!"
        # nothing is left waiting: the global lock is free for the others
        p, secs = timed(sb.eschool, "disable", "leo", timeout=60)
        assert p.returncode == 0 and secs < BOUND, (p.stderr, secs)
        p = sb.eschool("add", "max", "--email", "max@school.example", timeout=60)
        assert p.returncode == 0, p.stderr


def test_global_lock_held_by_a_stopped_process(sb):
    prepare(sb)
    add(sb, "zoe")
    with stopped_holder(sb, STATE) as pid:
        for argv in (["add", "max", "--email", "max@school.example"], ["reset", "zoe"],
                     ["disable", "zoe"], ["forget", "zoe"]):
            p, secs = timed(sb.eschool, *argv, timeout=60)
            assert secs < BOUND + 10, (argv, secs)
            assert_fails(p, TEMP, f"cannot lock {STATE}", f"held by process {pid} (python3)",
                         "try again when it has finished")
        assert sb.passwd_entry("max") is None and sb.state("max") is None
    assert sb.eschool("add", "max", "--email", "max@school.example").returncode == 0


def test_set_email_gives_up_too(sb):
    prepare(sb)
    add(sb, "zoe")
    with stopped_holder(sb, f"{STATE}/locks/zoe") as pid:
        p, secs = timed(sb.eschool, "set-email", "zoe", "new@school.example", timeout=60)
    assert secs < BOUND + 10, secs
    assert_fails(p, TEMP, "user zoe", f"process {pid}")
    assert "pending_email" not in sb.state("zoe")
