"""A sandbox for tests and benchmarks: eschool runs inside a private mount
namespace (tests/sandbox-start) with a copy of /etc and tmpfs over /home,
/var/log, /var/mail, /var/lib and /var/spool, so the host never changes."""
import os
import subprocess
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ESCHOOL = os.path.join(TOP, os.environ.get("ESCHOOL_BUILD", "build"), "eschool")
SANDBOX_START = os.path.join(TOP, "tests", "sandbox-start")


class Sandbox:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="eschool-test.")
        self.proc = subprocess.Popen([SANDBOX_START, self.dir], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("sandbox did not start: " + line + self.proc.stdout.read())
        self.pid = int(line.split()[1])

    def close(self):
        self.proc.kill()
        self.proc.wait()
        try:
            os.rmdir(self.dir)
        except OSError:
            pass

    def cmd(self, argv, input=None, env=None, check=False, timeout=300):
        """Runs argv inside the sandbox; returns the CompletedProcess."""
        full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        if env:
            full_env.update(env)
        proc = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "--"] + list(argv),
                              input=input, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def eschool(self, *args, **kw):
        return self.cmd([ESCHOOL] + list(args), **kw)

    def popen(self, argv, **kw):
        return subprocess.Popen(["nsenter", "-t", str(self.pid), "-m", "--"] + list(argv),
                                **kw)

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
