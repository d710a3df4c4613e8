"""The test sandbox itself (tests/sandbox-start): what every other test
relies on. A checkout under /home (where most people clone) stays visible
inside, although /home is a tmpfs there; nothing a test starts outlives its
sandbox; a syslog listener never blocks the programs that log."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from sandbox import SANDBOX_START, Sandbox


def gone(pid, timeout=10):
    """True once pid has ended (and been reaped), within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    time.sleep(0.01)
                    continue
        except (FileNotFoundError, ProcessLookupError):  # gone between open and read
            return True
        time.sleep(0.01)
    return False


def test_a_path_under_home_stays_visible():
    """sandbox-start KEEP: the tree is bound back after the tmpfs covers
    /home; its own checkout is kept the same way (SANDBOX_START's dir)."""
    keep = tempfile.mkdtemp(prefix="eschool-keep.", dir="/home")
    try:
        with open(os.path.join(keep, "tool"), "w") as f:
            f.write("#!/bin/sh\necho kept-tool-ran\n")
        os.chmod(os.path.join(keep, "tool"), 0o755)
        sb = Sandbox(keep=[keep])
        try:
            p = sb.cmd([os.path.join(keep, "tool")])
            assert p.stdout == "kept-tool-ran\n", p.stdout + p.stderr
            # the rest of /home is the sandbox's empty tmpfs (but for the
            # checkout itself, when it lives there too)
            want = {os.path.basename(keep)}
            top = os.path.realpath(os.path.dirname(SANDBOX_START))
            if top.startswith("/home/"):
                want.add(top.split("/")[2])
            assert set(sb.listdir("/home")) == want
            # the checkout the sandbox script lives in is visible too
            assert sb.exists(SANDBOX_START)
        finally:
            sb.close()
    finally:
        shutil.rmtree(keep)


def test_nothing_started_in_a_sandbox_outlives_it():
    """A daemon that left its parent (setsid + double fork, as sshd's
    privilege-separated children or a server a test forgot) is in the
    sandbox's PID namespace: closing the sandbox ends it."""
    sb = Sandbox()
    try:
        p = sb.cmd(["sh", "-c", "setsid sh -c 'sleep 600 >/dev/null 2>&1 & echo $!' </dev/null"], check=True)
        inner = int(p.stdout.split()[-1])
        # the daemon's pid in the namespace's own /proc, and on the host
        host = None
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/status") as f:
                    ns = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
            except (OSError, IndexError):
                continue
            if len(ns) == 2 and int(ns[1]) == inner and \
                    os.readlink(f"/proc/{name}/ns/pid") == os.readlink(f"/proc/{sb.pid}/ns/pid"):
                host = int(name)
        assert host is not None, "the daemon is not in the sandbox's PID namespace"
        # inside, ps sees the sandbox's processes only
        ps = sb.cmd(["ps", "-e", "-o", "pid="], check=True).stdout.split()
        assert len(ps) < 10, ps
    finally:
        sb.close()
    assert gone(host), f"process {host} outlived its sandbox"


def test_a_syslog_listener_never_blocks_a_sender():
    """A unix datagram queue holds net.unix.max_dgram_qlen messages (10 on
    Debian): a test reading its /dev/log only when the command has returned
    made every syslog() block after the tenth -- useradd hung so where SSSD
    and postfix add their lines. The listener drains as messages come."""
    sb = Sandbox()
    try:
        log = sb.syslog()
        try:
            p = sb.cmd(["sh", "-c", "for i in $(seq 1 60); do logger -t probe \"line $i\"; done"],
                       timeout=30)
            assert p.returncode == 0, p.stderr
            got = []
            log.setblocking(False)
            while True:
                try:
                    got.append(log.recv(4096).decode())
                except BlockingIOError:
                    break
        finally:
            log.close()
        assert [g.rsplit(" ", 1)[-1] for g in got] == [str(i) for i in range(1, 61)], got
    finally:
        sb.close()


def test_a_killed_sandbox_process_takes_its_namespace_along():
    """The tests' handle is sandbox-start's process (unshare --kill-child):
    a SIGKILL to it, as when pytest itself is killed, ends the namespace."""
    d = tempfile.mkdtemp(prefix="eschool-test.", dir="/tmp")
    proc = subprocess.Popen([SANDBOX_START, d], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline().split()[1])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert gone(pid), "the sandbox's init outlived sandbox-start"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.rmdir(d)


def test_posix_semaphores_are_private_to_a_sandbox():
    """faketime names its semaphore /dev/shm/sem.faketime_sem_PID, and
    pids repeat from one PID namespace to the next: with the host's /dev/shm
    shared, a sandbox's faketime failed with 'sem_open: File exists' where
    another sandbox (or a killed faketime) had left that name. Each sandbox
    has its own /dev/shm; names planted on the host do not reach it."""
    planted = []
    try:
        for pid in range(1, 201):
            path = f"/dev/shm/sem.faketime_sem_{pid}"
            if not os.path.exists(path):
                with open(path, "w"):
                    pass
                planted.append(path)
        sb = Sandbox()
        try:
            assert sb.cmd(["ls", "-A", "/dev/shm"], check=True).stdout == ""
            for _ in range(3):
                p = sb.cmd(["faketime", "-f", "+1h", "true"])
                assert p.returncode == 0, p.stderr
            sb.cmd(["touch", "/dev/shm/eschool-inside"], check=True)
            assert not os.path.exists("/dev/shm/eschool-inside")
        finally:
            sb.close()
    finally:
        for path in planted:
            os.unlink(path)
