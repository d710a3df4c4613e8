"""What bench/import and bench/load share: the roster of N users and the same
users as newusers input, and a timed run inside a sandbox (tests/sandbox.py)
with its peak memory."""
import collections
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from sandbox import ESCHOOL, Sandbox  # noqa: E402,F401  (re-exported for the benches)

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
