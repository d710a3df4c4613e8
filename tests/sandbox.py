"""A sandbox for tests and benchmarks: eschool runs inside private mount and
PID namespaces (tests/sandbox-start) with a copy of /etc and tmpfs over /home,
/var/log, /var/mail, /var/lib and /var/spool, so the host never changes; the
checkout stays visible wherever it is. Closing a sandbox ends every process
started in it."""
import hashlib
import itertools
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ESCHOOL = os.path.join(TOP, os.environ.get("ESCHOOL_BUILD", "build"), "eschool")
SANDBOX_START = os.path.join(TOP, "tests", "sandbox-start")


_script_ids = itertools.count(1)

# What a run must leave as it found it on the host: the account files, and
# the directories eschool writes to that the sandbox does not cover itself.
HOST_FILES = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"]
# /root: root's home is the host's inside a sandbox (files go to
# Sandbox.private); a test that wrote there would collide with another
# run's and stay behind.
HOST_DIRS = ["/root", "/home", "/var/backups", "/etc/eschool", "/var/lib/eschool", "/var/spool/eschool"]


def host_snapshot():
    """The host's account files (digests) and those directories (listings):
    compare one taken before a test session with one taken after."""
    snap = {}
    for path in HOST_FILES:
        with open(path, "rb") as f:
            snap[path] = hashlib.sha256(f.read()).hexdigest()
    for d in HOST_DIRS:
        # /root's dot files are its programs' (shells, tools), not a test's
        snap[d] = (sorted(n for n in os.listdir(d) if d != "/root" or not n.startswith("."))
                   if os.path.isdir(d) else None)
    return snap


def host_changes(before):
    """The paths of a host_snapshot() that differ now."""
    after = host_snapshot()
    return [p for p in before if before[p] != after[p]]


def mount_ns_members(ns):
    """Host pids of the processes in mount namespace `ns` (a readlink of
    /proc/PID/ns/mnt)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/ns/mnt") == ns:
                pids.append(int(name))
        except OSError:
            pass  # gone, or a kernel thread
    return pids


class SyslogListener:
    """A datagram socket bound at the sandbox's /dev/log, drained by a
    thread from the moment it is bound: a unix datagram queue holds only
    net.unix.max_dgram_qlen messages (10 on Debian), after which every
    syslog() in the sandbox blocks -- useradd included, for ever, since the
    test reads only when the command has returned. recv(), settimeout(),
    setblocking() and close() behave as the socket's would."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.lock = threading.Lock()
        self.got = queue.Queue()
        self.timeout = 5.0
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _drain(self):
        with self.lock:
            while True:
                try:
                    self.got.put(self.sock.recv(65536))
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    return  # closed

    def _run(self):
        import select
        while not self.closed.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
            except (OSError, ValueError):
                return
            if ready:
                self._drain()

    def settimeout(self, t):
        self.timeout = t

    def setblocking(self, flag):
        self.timeout = None if flag else 0.0

    def recv(self, bufsize=65536):
        # what was sent before this call is in the socket or the queue
        self._drain()
        try:
            if self.timeout == 0.0:
                data = self.got.get_nowait()
            else:
                data = self.got.get(timeout=self.timeout)
        except queue.Empty:
            if self.timeout == 0.0:
                raise BlockingIOError("no syslog message waiting") from None
            raise socket.timeout("no syslog message") from None
        return data[:bufsize]

    def received(self):
        """The lines that arrived: the first within 5 s, then those that
        follow within half a second of each other."""
        self.settimeout(5.0)
        lines = [self.recv(4096).decode()]
        self.settimeout(0.5)
        try:
            while True:
                lines.append(self.recv(4096).decode())
        except socket.timeout:
            return lines

    def close(self):
        if not self.closed.is_set():
            self.closed.set()
            self.thread.join(5)
            self.sock.close()


class Sandbox:
    def __init__(self, keep=()):
        # DIR must stay visible after /home and /var/... are covered
        self.dir = tempfile.mkdtemp(prefix="eschool-test.", dir="/tmp")
        self.proc = subprocess.Popen([SANDBOX_START, self.dir] + list(keep),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("sandbox did not start: " + line + self.proc.stdout.read())
        self.pid = int(line.split()[1])
        self.mnt_ns = os.readlink(f"/proc/{self.pid}/ns/mnt")
        # held open until close() has swept it: a namespace's inode number
        # is reused once it is freed, and a sweep must never match another
        # sandbox (or another suite's) that got the same number
        self.mnt_ns_fd = os.open(f"/proc/{self.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        if os.readlink(f"/proc/self/fd/{self.mnt_ns_fd}") != self.mnt_ns:
            raise RuntimeError("sandbox's namespace changed while starting")
        # nsenter forks: the command runs in the sandbox's PID namespace
        # (its /proc, its pids) and dies with it; child_pid() finds it
        self.enter = ["nsenter", "-t", str(self.pid), "-m", "-p", "--"]

    def close(self):
        self.proc.kill()  # --kill-child: the namespace's init and all in it
        self.proc.wait()
        # what nsenter started itself is in the mount namespace only
        for _ in range(50):
            pids = [p for p in mount_ns_members(self.mnt_ns) if p != os.getpid()]
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        os.close(self.mnt_ns_fd)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass

    @staticmethod
    def child_pid(popen, timeout=10):
        """The host pid of the command a popen() runs (nsenter's child),
        once nsenter has forked it; None when nsenter has already ended."""
        path = f"/proc/{popen.pid}/task/{popen.pid}/children"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    kids = f.read().split()
            except OSError:
                return None
            if kids:
                return int(kids[0])
            if popen.poll() is not None:
                return None
            time.sleep(0.0005)
        raise AssertionError("nsenter did not start its command")

    def processes(self):
        """Host pids of the processes still running in the sandbox."""
        return mount_ns_members(self.mnt_ns)

    def cmd(self, argv, input=None, env=None, check=False, timeout=300):
        """Runs argv inside the sandbox; returns the CompletedProcess."""
        full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        if env:
            full_env.update(env)
        argv, full_env = self._preload_inside(argv, full_env)
        proc = subprocess.run(self.enter + list(argv),
                              input=input, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def eschool(self, *args, **kw):
        return self.cmd([ESCHOOL] + list(args), **kw)

    @staticmethod
    def _preload_inside(argv, env):
        """LD_PRELOAD (the sanitizer runs' libasan) goes to the command, not
        to nsenter: nsenter stays in the host's PID namespace under the
        sandbox's /proc, where a preloaded ASan runtime cannot read
        /proc/self and spins."""
        if not env or "LD_PRELOAD" not in env:
            return list(argv), env
        env = dict(env)
        preload = env.pop("LD_PRELOAD")
        return ["/usr/bin/env", f"LD_PRELOAD={preload}"] + list(argv), env

    def popen(self, argv, **kw):
        argv, env = self._preload_inside(argv, kw.get("env"))
        if env is not None:
            kw["env"] = env
        return subprocess.Popen(self.enter + argv, **kw)

    def read(self, path):
        return self.cmd(["cat", path], check=True).stdout

    def write(self, path, text, mode="600"):
        self.cmd(["sh", "-c", f'umask 077; mkdir -p "$(dirname "$1")"; cat > "$1"; chmod {mode} "$1"',
                  "sh", path], input=text, check=True)

    def shadow_entry(self, user):
        for line in self.read("/etc/shadow").splitlines():
            if line.startswith(user + ":"):
                return line.split(":")
        return None

    def passwd_entry(self, user):
        for line in self.read("/etc/passwd").splitlines():
            if line.startswith(user + ":"):
                return line.split(":")
        return None

    def users_in(self, path="/etc/passwd"):
        return [l.split(":")[0] for l in self.read(path).splitlines() if l]

    # ---- helpers added for the integration suite (the API above is unchanged) ----

    def private(self, name):
        """A path for test files (rosters, configs, scripts) on the sandbox's
        own tmpfs: visible only inside the sandbox, gone when it closes. Use it
        instead of /root or /tmp, which are the host's."""
        return f"{self.dir}/files/{name}"

    def host_view(self, path):
        """The sandbox's `path` as seen from the host through /proc (cheap to
        poll: no process per read)."""
        return f"/proc/{self.pid}/root{path}"

    def syslog(self):
        """A listener at the sandbox's /dev/log: what eschool (and useradd,
        and anything else) sends to syslog arrives here, read with recv();
        drained all along (SyslogListener), so no sender ever blocks."""
        path = self.host_view("/dev/log")
        try:
            os.unlink(path)  # an earlier listener's socket file
        except FileNotFoundError:
            pass
        return SyslogListener(path)

    def exists(self, path):
        return self.cmd(["test", "-e", path]).returncode == 0

    def stat(self, path):
        """(mode as an int, uid, gid, file type) of path, not following a symlink."""
        out = self.cmd(["stat", "-c", "%a %u %g %F", path], check=True).stdout.split(None, 3)
        return int(out[0], 8), int(out[1]), int(out[2]), out[3].strip()

    def listdir(self, path):
        proc = self.cmd(["ls", "-A", path])
        return sorted(proc.stdout.split()) if proc.returncode == 0 else None

    def entry(self, path, name):
        """The colon-separated entry `name` of an account file (/etc/group ...)."""
        for line in self.read(path).splitlines():
            if line.startswith(name + ":"):
                return line.split(":")
        return None

    def group_entry(self, group):
        return self.entry("/etc/group", group)

    def count_entries(self, path, name):
        return sum(1 for l in self.read(path).splitlines() if l.split(":")[0] == name)

    def state_text(self, user, state_dir="/var/lib/eschool"):
        proc = self.cmd(["cat", f"{state_dir}/users/{user}"])
        return proc.stdout if proc.returncode == 0 else None

    def state(self, user, state_dir="/var/lib/eschool"):
        """The user's eschool state as a dict (values %XX-decoded), or None."""
        text = self.state_text(user, state_dir)
        return None if text is None else parse_state(text)

    def snapshot(self):
        """Everything an account-creating command may change: the account
        files, the homes and mail spools, and eschool's state files."""
        script = r'''
for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid; do
    echo "== $f"; cat "$f" 2>/dev/null
done
echo "== /home"; ls -A /home
echo "== /var/mail"; ls -A /var/mail
echo "== state"; ls -A /var/lib/eschool/users 2>/dev/null
for f in /var/lib/eschool/users/*; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
true
'''
        return self.cmd(["sh", "-c", script], check=True).stdout

    def bind_script(self, target, text):
        """Replaces the program `target` inside the sandbox only by a shell
        script (bind mount in the sandbox's private mount namespace)."""
        path = self.private(f"bin/{os.path.basename(target)}.{next(_script_ids)}")
        self.write(path, text, mode="755")
        self.cmd(["mount", "--bind", path, target], check=True)
        return path

    def copy_real(self, program):
        """A copy of a program on the sandbox's tmpfs, to be called by a
        wrapper bound over the original."""
        dst = self.private("real/" + os.path.basename(program))
        self.cmd(["sh", "-c", 'mkdir -p "$(dirname "$2")" && cp "$1" "$2"', "sh", program, dst],
                 check=True)
        return dst

    def as_nobody(self, argv, **kw):
        return self.cmd(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                        + list(argv), **kw)


def parse_state(text):
    """Parses a state file (SPEC 5): checks the framing, returns key -> value."""
    from urllib.parse import unquote
    lines = text.split("\n")
    assert lines[-1] == "", "a state file ends with a newline"
    lines = lines[:-1]
    assert lines[0] == "eschool-state 1", f"first line is {lines[0]!r}"
    assert lines[-1] == "end", f"last line is {lines[-1]!r}"
    out = {}
    for line in lines[1:-1]:
        key, sep, value = line.partition("=")
        assert sep == "=", f"not key=value: {line!r}"
        out[key] = unquote(value)
    return out
