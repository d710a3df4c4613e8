"""What the benches share: the roster of N users and the same users as
newusers input, a timed run inside a sandbox (tests/sandbox.py) with its
peak memory, postfix's smtp-sink on a loopback port, and bench/curlfloor.c
(libcurl alone) built for a run."""
import collections
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from sandbox import ESCHOOL, Sandbox  # noqa: E402,F401  (re-exported for the benches)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINK = "/usr/sbin/smtp-sink"
# what the mail tools run with: no inherited locale or PATH
TOOL_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

FIRST = ["Élodie", "Jean-Luc", "Zoë", "Maël", "Chloé", "Noé", "Inès", "François"]
LAST = ["Dupré", "Le Gall", "Lefèvre", "Nguyen", "O'Neil", "Müller", "Garçon", "Łukasz"]


def roster(n):
    rows = ["username,name,email,class"]
    for i in range(n):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
        rows.append(f"s{i:05d},\"{name}\",s{i:05d}@school.example,{1 + i % 7}A")
    return "\r\n".join(rows) + "\r\n"


def newusers_input(n):
    # same users, same names; passwords of the same length and alphabet
    return "".join(f"s{i:05d}:Xk7mPq2rTn{i % 10}w:::{FIRST[i % len(FIRST)]}:/home/s{i:05d}:/bin/bash\n"
                   for i in range(n))


Run = collections.namedtuple("Run", "wall rss cpu own_rss")
Run.__doc__ = """wall and cpu in seconds; rss: peak RSS in kB of the process and
of the children it waited for (wait4's ru_maxrss); own_rss: the process's own
peak (VmHWM, sampled), or None when not asked for."""


def _vm_hwm(pid, program, out, done):
    """Samples VmHWM of pid while it runs `program` (nsenter's child, the command:
    the peak of nsenter itself is not counted). Keeps the last value read:
    VmHWM only grows, and disappears once the process has exited."""
    path, comm = f"/proc/{pid}/status", os.path.basename(program)[:15]
    while not done.is_set():
        try:
            with open(path) as f:
                status = f.read()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() == comm and "VmHWM" in fields:
            out[0] = int(fields["VmHWM"].split()[0])
        done.wait(0.02)


def run_timed(sb, argv, stdin=None, own_rss=False):
    """Runs argv in the sandbox (nsenter forks it and waits for it: wait4 on
    nsenter counts the command too); exits the bench if it fails. Returns a
    Run."""
    t0 = time.monotonic()
    proc = sb.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True)
    hwm, done, sampler = [None], threading.Event(), None
    if own_rss:
        sampler = threading.Thread(target=_vm_hwm, args=(sb.child_pid(proc), argv[0], hwm, done))
        sampler.start()
    if stdin:
        proc.stdin.write(stdin)
    proc.stdin.close()
    stderr = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - t0
    if sampler is not None:
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Run(elapsed, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, hwm[0])


def timed(sb, argv, stdin=None):
    """Runs argv in the sandbox; returns wall time, peak RSS (kB, of the
    process and the children it waited for) and CPU time."""
    r = run_timed(sb, argv, stdin)
    return r.wall, r.rss, r.cpu


def fail(msg):
    """Stops the bench, named after the script that runs it."""
    sys.exit(f"bench/{os.path.basename(sys.argv[0])}: {msg}")


def build_curlfloor(tmp):
    """bench/curlfloor.c (libcurl alone, no eschool) built in tmp; its path."""
    out = os.path.join(tmp, "curlfloor")
    cc = subprocess.run(["cc", "-O2", "-Wall", "-Wextra", os.path.join(TOP, "bench", "curlfloor.c"),
                         "-lcurl", "-lpthread", "-o", out], capture_output=True, text=True)
    if cc.returncode != 0:
        fail(f"cannot build bench/curlfloor.c:\n{cc.stderr[-2000:]}")
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """postfix's smtp-sink on 127.0.0.1:port; its -c counters go to tmp/sink.out."""

    def __init__(self, tmp):
        self.port = free_port()
        self.out = os.path.join(tmp, "sink.out")
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen([SINK, "-u", "nobody", "-c", f"127.0.0.1:{self.port}",
                                          "1000"], stdout=out, stderr=subprocess.STDOUT,
                                         env=TOOL_ENV)
        try:
            deadline = time.monotonic() + 10
            while True:
                if self.proc.poll() is not None:
                    fail(f"smtp-sink exited: {self.read_out()[-500:]}")
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        fail("smtp-sink does not listen")
                    time.sleep(0.05)
        except BaseException:
            self.close()
            raise

    def read_out(self):
        with open(self.out, "rb") as f:
            return f.read().decode("ascii", "replace")

    def messages(self):
        """The last count: -c rewrites "sess=N quit=N mesg=N\\r" after each message."""
        with open(self.out, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            counts = re.findall(rb"mesg=(\d+)\r", f.read())
        return int(counts[-1]) if counts else 0

    def wait_for(self, expected):
        """The count is written once the reply is sent: let it land."""
        deadline = time.monotonic() + 5
        while self.messages() < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages()

    def close(self):
        self.proc.kill()
        self.proc.wait()
