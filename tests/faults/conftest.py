"""Crash campaigns (make faults): eschool is killed with SIGKILL at random
moments while it works, run again, and at the end what it promised is
checked: every account exactly once and complete, every mail delivered,
none twice except in the window SMTP cannot close (RFC 1047).

Environment:
  ESCHOOL_FAULT_KILLS  kills per campaign (default 50)
  ESCHOOL_FAULT_ROWS   roster rows of the import campaigns (default 1000)
  ESCHOOL_FAULT_DIR_KILLS, ESCHOOL_FAULT_DIR_ROWS
                       the directory import's campaigns (test_directory_crash:
                       default the two above, else 20 kills, 300 rows)
  ESCHOOL_FAULT_MAILS  queued mails of the queue campaigns (default 20 per
                       kill, at least 200)
  ESCHOOL_FAULT_SEED   replays a campaign's random draws (roster, kill
                       delays, which runner, which DATA gets a 451; every
                       failure message names it); what a kill hits still
                       depends on timing

Everything runs in sandboxes (tests/sandbox.py): a private mount namespace
with a copy of /etc and tmpfs over /home, /var/lib, /var/spool ...; the
session checks that the host's account files are unchanged. The figures
of each campaign go to BUILD/faults-summary.txt and are printed at the end
of the run, whatever pytest's options."""
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from sandbox import (ESCHOOL, TOP, Sandbox, host_changes, host_snapshot,  # noqa: E402,F401
                     parse_state)

with warnings.catch_warnings():
    # Debian 12's python3.11 still has crypt (libxcrypt: yescrypt and SHA-512)
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402

BUILD = os.path.join(TOP, os.environ.get("ESCHOOL_BUILD", "build"))
KILLS = int(os.environ.get("ESCHOOL_FAULT_KILLS", "50"))
ROWS = int(os.environ.get("ESCHOOL_FAULT_ROWS", "1000"))
MAILS = int(os.environ.get("ESCHOOL_FAULT_MAILS", "0")) or max(200, 20 * KILLS)
SEED = int(os.environ.get("ESCHOOL_FAULT_SEED", "0")) or int.from_bytes(os.urandom(4), "big")
SUMMARY = os.path.join(BUILD, "faults-summary.txt")

STATE_DIR = "/var/lib/eschool"
SPOOL = "/var/spool/eschool"
CONF = "/etc/eschool/eschool.conf"
# libfaketime preloaded straight into eschool (the `faketime` wrapper would
# be the process we kill); the monotonic clock stays real for libcurl
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
RUN_TIMEOUT = 300  # an uninterrupted run that takes longer hangs

_figures = []


def replay():
    return (f"(replay: ESCHOOL_FAULT_SEED={SEED} ESCHOOL_FAULT_KILLS={KILLS} "
            f"ESCHOOL_FAULT_ROWS={ROWS} ESCHOOL_FAULT_MAILS={MAILS})")


def rng_for(name):
    """The campaign's own generator: the session seed and the test's name."""
    return random.Random(f"{SEED}:{name}")


def record(line):
    """One campaign's figures: kept for the end of the run and in SUMMARY."""
    _figures.append(line)
    os.makedirs(BUILD, exist_ok=True)
    with open(SUMMARY, "a") as f:
        f.write(line + "\n")


def pytest_sessionstart(session):
    os.makedirs(BUILD, exist_ok=True)
    with open(SUMMARY, "w") as f:
        f.write(f"# make faults {time.strftime('%Y-%m-%d %H:%M:%S')} seed={SEED} "
                f"kills={KILLS} rows={ROWS} mails={MAILS}\n")


def pytest_terminal_summary(terminalreporter):
    if not _figures:
        return
    terminalreporter.write_sep("-", f"crash campaigns (seed {SEED}; also in {SUMMARY})")
    for line in _figures:
        terminalreporter.write_line(line)


def pytest_configure(config):
    config.addinivalue_line("filterwarnings",
                            "ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="session", autouse=True)
def host_untouched():
    before = host_snapshot()
    yield
    assert not host_changes(before), f"the campaigns changed the host's {host_changes(before)}"


@contextlib.contextmanager
def new_sandbox():
    if os.geteuid() != 0:
        pytest.fail("crash campaigns must run as root (they use mount namespaces)")
    if not os.path.exists(ESCHOOL):
        pytest.fail(f"{ESCHOOL} is missing: run make")
    sb = Sandbox()
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from smtpserver import SmtpServer
    d = str(tmp_path_factory.mktemp("smtp"))
    os.chmod(d, 0o755)  # the sandbox reads its CA file
    s = SmtpServer(d)
    yield s
    s.stop()


def write_config(sb, mode, srv=None):
    """A school's config: role groups, and the test server in production."""
    from smtpserver import PASSWORD, USER
    text = (f"[general]\nmode = {mode}\nschool_name = Lycée Exemple\n"
            "[role student]\ngroups = students\n[role teacher]\ngroups = teachers\n")
    if srv is not None:
        sb.write("/etc/eschool/smtp.secret", PASSWORD + "\n")
        text += (f"[mail]\nprovider = custom\nhost = 127.0.0.1\nport = {srv.port}\n"
                 f"security = starttls\nusername = {USER}\n"
                 "password_file = /etc/eschool/smtp.secret\nfrom = noreply@school.example\n"
                 f"ca_file = {srv.ca_file}\n"
                 "daily_quota = 0\nmonthly_quota = 0\nrate_per_second = 0\n")
    sb.write(CONF, text)


def hash_ok(hashed, password):
    return hashed not in ("", "!", "*", "x") and crypt.crypt(password, hashed) == hashed


_CRYPT_WORKER = """
import json, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
import crypt
for name, hashed, password in json.load(sys.stdin):
    if hashed in ("", "!", "*", "x") or crypt.crypt(password, hashed) != hashed:
        print(name)
"""


def wrong_passwords(checks):
    """checks: {name: (hash, password)}; the names whose password does not
    open the hash. yescrypt costs ~13 ms and crypt keeps the GIL: one
    Python process per core, each given its share."""
    import json
    items = [(n, h, p) for n, (h, p) in sorted(checks.items())]
    n_workers = max(1, min(os.cpu_count() or 1, len(items) // 25))
    procs = [subprocess.Popen([sys.executable, "-c", _CRYPT_WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
             for _ in range(n_workers)]
    for k, proc in enumerate(procs):
        proc.stdin.write(json.dumps(items[k::n_workers]))
        proc.stdin.close()
    wrong = []
    for proc in procs:
        wrong += proc.stdout.read().split()
        assert proc.wait() == 0, "the password checker failed"
    return sorted(wrong)


# ---- running eschool, and killing it ----

class Run:
    """One eschool process in a sandbox, output in files (a pipe that
    nobody reads would block it and change the timing)."""

    def __init__(self, sb, argv, env=None):
        self.argv = argv
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        full_env.update(env or {})
        self.t0 = time.monotonic()
        # nsenter forks the command into the sandbox's PID namespace: the
        # kill must hit that child, eschool itself, not nsenter
        self.proc = sb.popen(list(argv), stdout=self.out, stderr=self.err, env=full_env)
        self.pid = sb.child_pid(self.proc)
        self.killed = False
        self.elapsed = None

    def _is_eschool(self):
        # (a rebuild while it runs makes the link ".../eschool (deleted)")
        if self.pid is None:
            raise OSError("ended before it started")
        return os.path.basename(os.readlink(f"/proc/{self.pid}/exe")).startswith("eschool")

    def wait_exec(self, timeout=10):
        """Waits until nsenter's child has become eschool (or has ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return
            try:
                if self._is_eschool():
                    return
            except OSError:
                return
            time.sleep(0.0005)
        raise AssertionError(f"{self.argv}: nsenter's child did not exec eschool")

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL to eschool itself; True when it was still running."""
        if self.proc.poll() is not None:
            return False
        try:
            assert self._is_eschool(), "the process to kill is not eschool"
        except OSError:
            pass  # it has just ended: a zombie (not reaped yet), the kill is a no-op
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.killed = self.proc.returncode == -signal.SIGKILL
        return self.killed

    def wait(self, timeout=RUN_TIMEOUT):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.argv} hangs: still running after {timeout} s "
                                 f"{replay()}\nstderr: {self.stderr()[-2000:]}")
        if self.elapsed is None:
            self.elapsed = time.monotonic() - self.t0
        return self.proc.returncode

    @property
    def returncode(self):
        return self.proc.returncode

    def stdout(self):
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def close(self):
        self.out.close()
        self.err.close()


def faketime_env(offset_s):
    """eschool sees the clock offset_s seconds ahead (backoff and retries
    come due without waiting)."""
    if offset_s == 0:
        return {}
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": f"+{int(offset_s)}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": "verify_asan_link_order=0"}


class Timeline:
    """How an uninterrupted run progressed: samples (seconds since its
    start, units of work done so far), units being accounts complete or
    mails delivered. The kill moments are drawn uniformly over its length;
    after a kill, the work kept (the units done) says where on this line
    the next run starts, so the next kill lands at its moment of the job
    however much work the kill cost (an import redoes the chunk of
    accounts it was in)."""

    def __init__(self, samples, duration):
        self.samples = sorted(samples)
        self.duration = duration

    def position(self, units):
        """When the uninterrupted run had done `units`."""
        for t, u in self.samples:
            if u >= units:
                return t
        return self.duration

    def moments(self, rng, kills):
        """When to kill, drawn over the measured run. The first moment is in
        its first half: a run quicker than the one measured (a short
        roster, a busy machine the first time) would end before a late
        moment, and a campaign could then kill nothing at all."""
        if kills <= 0:
            return []
        first = rng.uniform(0, self.duration / 2)
        return sorted([first] + [rng.uniform(0, self.duration) for _ in range(kills - 1)])


def sleep_until(t):
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


# ---- what the SMTP server saw ----

def wait_connections_ended(srv, first, timeout=20):
    """Every connection since index `first` has ended (the server notices a
    dead client asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with srv.lock:
            open_ = [c for c in srv.connections[first:] if not c.ended]
        if not open_:
            return
        time.sleep(0.05)
    raise AssertionError(f"connections still open at the server: {open_} {replay()}")


def deliveries(srv, first_msg, first_conn):
    """Every message accepted since the given indexes: a list of
    (message-id, rcpt, msg, conn, position in conn), in acceptance order."""
    with srv.lock:
        conns = list(srv.connections[first_conn:])
        msgs = list(srv.messages)
    where = {}
    for c in conns:
        for pos, index in enumerate(c.indexes):
            where[index] = (c, pos)
    out = []
    for index in range(first_msg, len(msgs)):
        env, msg = msgs[index]
        assert index in where, f"message {index} accepted on no recorded connection"
        c, pos = where[index]
        out.append((str(msg["Message-ID"]).strip(), env.rcpt_tos[0], msg, c, pos))
    return out


def check_duplicates(items):
    """SMTP cannot be exactly-once (RFC 1047): a runner killed after the
    server's 250 and before it records the delivery sends that message again.
    A copy received more than once is allowed only when every earlier copy
    was the last message accepted on a connection that ended without QUIT.
    Returns the number of such duplicates."""
    copies = {}
    for mid, rcpt, msg, conn, pos in items:
        copies.setdefault(mid, []).append((conn, pos))
    dups = 0
    for mid, where in copies.items():
        for conn, pos in where[:-1]:
            assert conn.cut and pos == len(conn.accepted) - 1, (
                f"{mid} was received {len(where)} times, and an earlier copy was not the "
                f"last message of a connection cut without QUIT (connection {conn.id}: "
                f"{len(conn.accepted)} accepted, copy at {pos + 1}, quit={conn.quit}) "
                f"{replay()}")
            dups += 1
    return dups


def queue_listing(sb):
    import json
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def spool_leftovers(sb):
    """Files left in tmp/ and sent/ of the spool (what killed writers left)."""
    out = {}
    for sub in ("tmp", "sent"):
        names = sb.listdir(f"{SPOOL}/{sub}")
        out[sub] = names or []
    return out
