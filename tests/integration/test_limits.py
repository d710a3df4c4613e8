"""Full disk and limits (issue 8, item 4), for the helper and for the PAM
module wherever they touch a state or queue file:

- state_dir and spool_dir on a small tmpfs filled to the brim: the helper
  exits 74 with "the disk is full" and changes nothing (no account without
  its state, no temporary file left, the previous state file intact); the
  module never refuses a login for its bookkeeping (SPEC 7, SECURITY.md) and
  logs one line; once space is freed the same commands complete;
- a small RLIMIT_FSIZE (`ulimit -f`): the same, and SIGXFSZ kills nobody —
  the helper ignores it, the module refuses a file that would pass the limit
  before writing it, without touching its host's signal dispositions (an
  sshd-like C caller with SIGXFSZ at its default survives);
- a read-only state directory: reading works, writing fails with one clear
  line, logins go on;
- a FIFO, a symlink, a directory, someone else's file or a file with the
  wrong mode where a state or queue file should be: refused at once (never
  waited on, never followed) with one line naming the file and what to do;
- torn writes: a state file or a queue file cut at any byte is never read
  back as valid.

Exit codes (SPEC 4, eschool(8)): 74 when nothing could be written (a full
disk, a file size limit, a read-only file system), 75 only when the mail
stays queued for retry, 65 for a refused (corrupt or unsafe) file."""
import json
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, new_sandbox, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
# the module's paths and the ASan preload of a SANITIZE=1 build
from test_pam import DRIVER, MODULE, SAN_ENV, SET_ITEMS, TEMPLATES  # noqa: E402

PAMLOOP = os.path.join(os.path.dirname(ESCHOOL), "pamloop")
STATE = "/var/lib/eschool"
USERS = f"{STATE}/users"
SPOOL = "/var/spool/eschool"
SUCCESS, SYSTEM_ERR, NEW_AUTHTOK = 0, 4, 12
NEW_PW = "Tr3s-Bien-Choisi!"
EIO, EDATA, ETEMP = 74, 65, 75
ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}  # faketime under SANITIZE=1

SERVICES = {
    # the module's own verdict
    "es-acct": f"account required {MODULE}\n",
    # a session stack that lets in unless the module refuses (pam_permit
    # succeeds, so the module's PAM_IGNORE is a success and an error a denial)
    "es-sess": f"session required pam_permit.so\nsession optional {SET_ITEMS}\n"
               f"session required {MODULE}\n",
    # a workstation: pam_unix changes the password, the module records it
    "es-login": f"auth required pam_unix.so\naccount required {MODULE}\n"
                f"account required pam_unix.so\npassword requisite pam_unix.so yescrypt\n"
                f"password required {MODULE}\nsession required pam_permit.so\n"
                f"session optional {SET_ITEMS}\nsession required {MODULE}\n",
}




# ---- setting up ----

def school(sb, production=None, extra=""):
    """Debug mode (or production against production=(port, ca)), the shipped
    templates, the PAM services."""
    if production:
        configure_mail(sb, production[0], production[1], mode="production")
        conf = sb.read("/etc/eschool/eschool.conf")
    else:
        conf = "[general]\nmode = debug\nschool_name = Lycée Exemple\n"
    conf = conf.replace("[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1)
    sb.write("/etc/eschool/eschool.conf", conf + extra)
    for name, text in SERVICES.items():
        sb.write(f"/etc/pam.d/{name}", text, mode="644")


def small_fs(sb, path, size="256k"):
    """A small tmpfs of its own at path (inside the sandbox's namespace)."""
    sb.cmd(["mkdir", "-p", path], check=True)
    sb.cmd(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "eschool-small", path],
           check=True)


def fill(sb, path):
    """Fills path's file system to the brim: not one more byte fits."""
    p = sb.cmd(["sh", "-c", '''
dd if=/dev/zero of="$1/.fill" bs=4096 2>/dev/null
if dd if=/dev/zero of="$1/.probe" bs=1 count=1 2>/dev/null; then echo room left; exit 1; fi
rm -f "$1/.probe"
df --output=avail -B1 "$1" | tail -n 1''', "sh", path])
    assert p.returncode == 0 and p.stdout.strip() == "0", (p.stdout, p.stderr)


def unfill(sb, path):
    sb.cmd(["rm", "-f", f"{path}/.fill"], check=True)


def temp_files(sb):
    """What an interrupted or failed write would leave: dot files beside the
    state files, anything in the spool's tmp/."""
    p = sb.cmd(["sh", "-c", f"ls -A {USERS} 2>/dev/null | grep '^[.]'; "
                            f"ls -A {SPOOL}/tmp 2>/dev/null; true"])
    return p.stdout.split()


def queue_files(sb, sub="new"):
    return sb.listdir(f"{SPOOL}/{sub}") or []


def add(sb, user, *extra, env=None, prefix=()):
    p = sb.cmd(list(prefix) + [ESCHOOL, "--json", "add", user, "--email",
                               f"{user}@school.example", *extra], env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def one_line(proc):
    """The helper's refusal or failure: exactly one line on stderr."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# ---- PAM ----

def drive(sb, service, user, ops, passwords=(), env=None, prefix=(), timeout=60):
    argv = list(prefix) + ["/usr/bin/python3", DRIVER,
                           json.dumps({"service": service, "user": user, "ops": ops,
                                       "passwords": list(passwords)})]
    p = sb.cmd(argv, env={**SAN_ENV, **(env or {})}, timeout=timeout)
    assert p.stdout.strip(), p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["ok"], (ops, out)
    return out


def session(sb, user, rhost):
    return drive(sb, "es-sess", user, [["open", SUCCESS]], env={"PAM_RHOST": rhost})


def module_log(sb, fn, *args, **kw):
    """Runs fn(sb, ...) with a socket at the sandbox's /dev/log; returns the
    module's warnings and errors sent meanwhile (its notices, such as a
    demanded password change, are its normal work). The socket is bound only
    for the call: an unread datagram socket fills up and then blocks every
    syslog() of the processes that write to it."""
    sock = sb.syslog()
    sock.setblocking(False)
    lines = []
    try:
        fn(sb, *args, **kw)
        while True:  # the call has returned: what it sent is all there
            try:
                lines.append(sock.recv(65536).decode("utf-8", "replace"))
            except BlockingIOError:
                break
    finally:
        sock.close()
    out = []
    for line in lines:
        m = re.match(r"<(\d+)>", line)
        if "pam_eschool(" in line and m and int(m.group(1)) % 8 <= 4:
            out.append(line)
    return out


def one_module_line(lines, *needles):
    assert len(lines) == 1, lines
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def sb():
    with new_sandbox(conf=None) as s:
        yield s


# ---- a full disk ----

def test_full_state_disk_changes_nothing_then_completes(sb):
    """add, import, set-email, disable and reset on a full state_dir: exit 74,
    "the disk is full", nothing half done; after freeing space the same
    commands complete."""
    school(sb)
    small_fs(sb, STATE)
    add(sb, "zoe")
    p = sb.eschool("set-email", "zoe", "first@school.example")  # makes code.key too
    assert p.returncode == 0, p.stderr
    zoe_state = sb.state_text("zoe")
    zoe_hash = sb.shadow_entry("zoe")[1]
    roster = sb.private("roster.csv")
    sb.write(roster, "username,name,email\nana,Ana Lima,ana@school.example\n"
                     "bob,Bob Roy,bob@school.example\n")
    fill(sb, STATE)
    before = sb.snapshot()

    for argv in (["add", "max", "--email", "max@school.example"],
                 ["import", roster],
                 ["set-email", "zoe", "second@school.example"],
                 ["disable", "zoe"],
                 ["reset", "zoe"]):
        p = sb.eschool(*argv)
        assert p.returncode == EIO, (argv, p.returncode, p.stdout, p.stderr)
        line = one_line(p)
        assert "the disk is full" in line and STATE in line, line
        assert "Password:" not in p.stdout and "Code" not in p.stdout, p.stdout
        assert temp_files(sb) == [], (argv, temp_files(sb))
        assert sb.snapshot() == before, f"{argv} changed something"
    assert sb.state_text("zoe") == zoe_state
    assert sb.shadow_entry("zoe")[1] == zoe_hash  # disable and reset undone

    unfill(sb, STATE)
    pw = add(sb, "max")["password"]
    assert password_ok(sb, "max", pw)
    p = sb.eschool("--json", "import", roster)
    assert p.returncode == 0, p.stderr
    got = {o["username"]: o["password"] for o in map(json.loads, p.stdout.splitlines())}
    assert set(got) == {"ana", "bob"} and all(password_ok(sb, u, w) for u, w in got.items())
    assert sb.eschool("set-email", "zoe", "second@school.example").returncode == 0
    assert sb.state("zoe")["pending_email"] == "second@school.example"
    assert sb.eschool("disable", "zoe").returncode == 0
    assert sb.shadow_entry("zoe")[1].startswith("!")
    assert temp_files(sb) == []


def test_an_import_whose_working_copy_does_not_fit_makes_nothing(sb):
    """An import keeps its rows in a working copy in state_dir (an unnamed
    file): on a state file system too small for it, the import stops while
    it reads the roster, exit 74, saying where and what to do, and makes
    nothing; nothing is left in state_dir; with room, the same roster goes."""
    school(sb, extra="[policy]\npassword_hash = sha512\n")  # (2,500 hashes: quick ones)
    small_fs(sb, STATE, size="128k")
    roster = sb.private("roster.csv")
    rows = [f"s{i:05d},Élève Numéro{i},s{i:05d}@school.example,3e B" for i in range(2500)]
    sb.write(roster, "username,name,email,class\n" + "\n".join(rows) + "\n")
    before = sb.snapshot()
    p = sb.eschool("import", roster)
    assert p.returncode == EIO, (p.returncode, p.stdout, p.stderr)
    line = one_line(p)
    assert "working copy" in line and STATE in line and "the disk is full" in line, line
    assert "Password:" not in p.stdout, p.stdout
    assert sb.snapshot() == before
    # no file left, named or not: the copy's blocks are free again
    assert [f for f in sb.cmd(["ls", "-A", STATE]).stdout.split() if f != "users"] == []
    used = int(sb.cmd(["df", "--output=used", "-B1", STATE]).stdout.split()[-1])
    assert used < 16384, used
    sb.cmd(["umount", STATE], check=True)
    p = sb.eschool("-q", "import", roster)
    assert p.returncode == 0, p.stderr
    assert "s02499" in sb.cmd(["getent", "passwd", "s02499"]).stdout


def test_full_spool_keeps_the_queue_whole(sb, srv):
    """Production with a full spool_dir: a new account's mail cannot be
    queued (the password is shown instead, as import does); a queue run
    cannot record a retry (exit 75: the mail stays queued, its file
    untouched); then, with space again, it is delivered."""
    school(sb, production=(srv.port, srv.ca_file))
    small_fs(sb, SPOOL)
    srv.data_replies.append("451 4.3.0 try again later")
    lea = add(sb, "lea")
    assert lea["delivery"] == "fallback"  # deferred by the 451: it stays queued
    (ident,) = queue_files(sb)
    queued = sb.read(f"{SPOOL}/new/{ident}")
    fill(sb, SPOOL)

    # add: the credentials mail does not fit: the password is shown
    p = sb.eschool("--json", "add", "zoe", "--email", "zoe@school.example")
    assert p.returncode == 0, p.stderr
    zoe = json.loads(p.stdout)
    assert zoe["delivery"] == "fallback" and password_ok(sb, "zoe", zoe["password"])
    line = one_line(p)
    assert "the disk is full" in line and "nothing was queued" in line, line
    assert sb.state("zoe")["delivery"] == "fallback"
    assert queue_files(sb) == [ident] and temp_files(sb) == []
    # import: the same for each row, every account with its state
    roster = sb.private("roster.csv")
    sb.write(roster, "username,email\nana,ana@school.example\nbob,bob@school.example\n")
    p = sb.eschool("--json", "import", roster)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["username"], r["delivery"]) for r in rows] == [("ana", "fallback"),
                                                             ("bob", "fallback")]
    assert all(password_ok(sb, r["username"], r["password"]) for r in rows)
    assert all(sb.state(u)["delivery"] == "fallback" for u in ("ana", "bob"))
    assert p.stderr.count("the disk is full") == 2, p.stderr
    assert queue_files(sb) == [ident] and temp_files(sb) == []

    # queue run: a 4xx again, and its retry cannot be written
    n0 = len(srv.messages)
    srv.data_replies.append("451 4.3.0 try again later")
    p = sb.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == ETEMP, (p.stdout, p.stderr)
    line = one_line(p)
    assert "the disk is full" in line and ident in line and "stays queued" in line, line
    assert sb.read(f"{SPOOL}/new/{ident}") == queued  # not torn, not lost
    assert temp_files(sb) == []

    # space again: it goes, once
    unfill(sb, SPOOL)
    p = sb.cmd(["faketime", "-f", "+20m", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == 0, p.stderr
    assert [m["To"] for _, m in srv.messages[n0:]] == ["lea@school.example"]
    assert queue_files(sb) == []


def test_full_disk_never_refuses_a_login(sb):
    """The module on a full state_dir and spool_dir: the login goes on, one
    log line says why, the state file stays whole; once there is room the
    next login is recorded and its notice queued."""
    school(sb)
    small_fs(sb, STATE)
    small_fs(sb, SPOOL)
    add(sb, "zoe")
    session(sb, "zoe", "10.0.0.1")  # the first login: known from now on
    state = sb.state_text("zoe")
    fill(sb, STATE)
    fill(sb, SPOOL)

    # account: no write, same verdict, nothing to say
    assert module_log(sb, drive, "es-acct", "zoe", [["account", NEW_AUTHTOK]]) == []
    # session from a new host: cannot record it, lets in
    one_module_line(module_log(sb, session, "zoe", "10.0.0.2"), f"{USERS}/zoe",
                    "the disk is full")
    # password change: pam_unix changed it (/etc is not full); not recorded
    one_module_line(module_log(sb, drive, "es-login", "zoe", [["chauthtok", SUCCESS]],
                               [NEW_PW, NEW_PW]), f"{USERS}/zoe", "the disk is full")
    assert password_ok(sb, "zoe", NEW_PW)
    assert sb.state_text("zoe") == state and temp_files(sb) == []
    assert queue_files(sb) == []

    # room for the state, none for the notice: recorded; the lost notice
    # is one line, the login still goes on
    unfill(sb, STATE)
    one_module_line(module_log(sb, session, "zoe", "10.0.0.3"), "new-login-source",
                    "not queued", "the disk is full")
    assert sb.state("zoe")["sources"].startswith("10.0.0.3,")
    unfill(sb, SPOOL)
    assert module_log(sb, session, "zoe", "10.0.0.4") == []
    assert len(queue_files(sb)) == 1 and temp_files(sb) == []


# ---- a file size limit (ulimit -f) ----

def test_file_size_limit_helper(sb, srv):
    """Under prlimit --fsize the helper is not killed by SIGXFSZ: a state file
    over the limit is 74 with nothing made; a queue file over it is not
    queued (the password is shown); a retry that cannot be recorded leaves
    the queued mail as it was (75)."""
    school(sb)
    limit = ["prlimit", "--fsize=100"]  # smaller than any state file
    before = sb.snapshot()
    p = sb.cmd(limit + [ESCHOOL, "add", "zoe", "--email", "zoe@school.example"])
    assert p.returncode == EIO, (p.returncode, p.stderr)  # not -25 (SIGXFSZ)
    line = one_line(p)
    assert "file size limit" in line and "the disk is full" in line, line
    assert sb.snapshot() == before and temp_files(sb) == []

    # production, accounts made elsewhere (accounts.backend = none: no
    # useradd, whose home copy would need more than the limit): the state
    # (~200 bytes) fits under 1000, the mail (~4 KB) does not
    school(sb, production=(srv.port, srv.ca_file), extra="[accounts]\nbackend = none\n")
    sb.cmd(["useradd", "-m", "lea"], check=True)
    sb.cmd(["useradd", "-m", "max"], check=True)
    srv.data_replies.append("451 4.3.0 try again later")
    add(sb, "lea")  # queued (deferred) without a limit
    (ident,) = queue_files(sb)
    queued = sb.read(f"{SPOOL}/new/{ident}")
    limit = ["prlimit", "--fsize=1000"]
    mx = add(sb, "max", prefix=limit)
    assert mx["delivery"] == "fallback" and "password" in mx
    assert queue_files(sb) == [ident] and temp_files(sb) == []
    n0 = len(srv.messages)
    srv.data_replies.append("451 4.3.0 try again later")
    p = sb.cmd(limit + ["faketime", "-f", "+10m", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == ETEMP, (p.returncode, p.stderr)
    assert "file size limit" in one_line(p)
    assert sb.read(f"{SPOOL}/new/{ident}") == queued and temp_files(sb) == []
    p = sb.cmd(["faketime", "-f", "+20m", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == 0 and len(srv.messages) == n0 + 1, p.stderr


# A PAM transaction in a Python whose SIGXFSZ is back at its default (Python
# itself ignores it) under a 100-byte RLIMIT_FSIZE: it prints the stages'
# results and whether SIGXFSZ is still neither ignored nor caught (from
# /proc/self/status), or dies of SIGXFSZ.
SIGXFSZ_PROBE = r'''
import json, resource, signal, sys
import pypamtest
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (100, resource.RLIM_INFINITY))
cases = [pypamtest.TestCase(pypamtest.PAMTEST_ACCOUNT, expected_rv=12),
         pypamtest.TestCase(pypamtest.PAMTEST_OPEN_SESSION, expected_rv=0)]
try:
    pypamtest.run_pamtest("zoe", "es-sess-acct", cases, [], [])
    ok = True
except pypamtest.PamTestError as e:
    ok = str(e)
masks = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    if k in ("SigIgn", "SigCgt"):
        masks[k] = int(v, 16)
bit = 1 << (signal.SIGXFSZ - 1)
print(json.dumps({"ok": ok, "default": not (masks["SigIgn"] | masks["SigCgt"]) & bit}))
'''


def test_file_size_limit_module(sb):
    """The module under a small RLIMIT_FSIZE in a host that keeps SIGXFSZ at
    its default (sshd, login): the login goes on, one log line, the state
    file intact, and the module has not touched SIGXFSZ's disposition."""
    school(sb)
    sb.write("/etc/pam.d/es-sess-acct", SERVICES["es-acct"] + SERVICES["es-sess"], mode="644")
    add(sb, "zoe")
    session(sb, "zoe", "10.0.0.1")
    state = sb.state_text("zoe")
    run = []

    def probe(sb):
        run.append(sb.cmd(["/usr/bin/python3", "-c", SIGXFSZ_PROBE],
                          env={**SAN_ENV, "PAM_RHOST": "10.0.0.2"}))
    lines = module_log(sb, probe)
    (p,) = run
    assert p.returncode == 0, (p.returncode, p.stderr)  # -25: killed by SIGXFSZ
    out = json.loads(p.stdout)
    assert out == {"ok": True, "default": True}, out
    one_module_line(lines, f"{USERS}/zoe", "file size limit")
    assert sb.state_text("zoe") == state and temp_files(sb) == []
    # the same through a C host (tests/pamloop.c: account + session + chauthtok,
    # a new source each time)
    sb.write("/etc/pam.d/es-loop", SERVICES["es-acct"] + SERVICES["es-sess"], mode="644")
    p = sb.cmd(["prlimit", "--fsize=100", PAMLOOP, "es-loop", "zoe", "3"], env=SAN_ENV)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert sb.state_text("zoe") == state and temp_files(sb) == []


# ---- a read-only state directory ----

def test_read_only_state_dir(sb):
    school(sb)
    small_fs(sb, STATE)
    pw = add(sb, "zoe")["password"]
    session(sb, "zoe", "10.0.0.1")
    state = sb.state_text("zoe")
    hash_before = sb.shadow_entry("zoe")[1]
    sb.cmd(["mount", "-o", "remount,ro", STATE], check=True)
    before = sb.snapshot()

    # the helper reads; writing is one clear line, exit 74, nothing changed
    p = sb.eschool("--json", "show", "zoe")
    assert p.returncode == 0 and json.loads(p.stdout)["username"] == "zoe", p.stderr
    for argv in (["add", "max", "--email", "max@school.example"],
                 ["set-email", "zoe", "new@school.example"],
                 ["disable", "zoe"],
                 ["reset", "zoe"]):
        p = sb.eschool(*argv)
        assert p.returncode == EIO, (argv, p.returncode, p.stderr)
        assert "read-only" in one_line(p), p.stderr
        assert "Password:" not in p.stdout
    assert sb.snapshot() == before
    assert sb.shadow_entry("zoe")[1] == hash_before

    # the module: the login goes on, one line per write it could not make
    assert module_log(sb, drive, "es-login", "zoe",
                      [["auth", SUCCESS], ["account", NEW_AUTHTOK]], [pw]) == []
    one_module_line(module_log(sb, session, "zoe", "10.0.0.2"), f"{USERS}/zoe", "read-only")
    one_module_line(module_log(sb, drive, "es-login", "zoe", [["chauthtok", SUCCESS]],
                               [NEW_PW, NEW_PW]), f"{USERS}/zoe", "read-only")
    assert sb.state_text("zoe") == state

    sb.cmd(["mount", "-o", "remount,rw", STATE], check=True)
    add(sb, "max")
    session(sb, "zoe", "10.0.0.3")
    assert sb.state("zoe")["sources"].startswith("10.0.0.3,")


# ---- hostile entries where a state or queue file should be ----

DECOY_STATE = ("eschool-state 1\nemail=decoy@evil.example\nrole=student\ncreated=1\n"
               "must_change=0\ndisabled=0\nend\n")


@pytest.fixture(scope="module")
def hostile():
    """One sandbox for the hostile-entry cases: zoe managed, the services,
    a decoy root file for the symlinks."""
    with new_sandbox(conf=None) as s:
        school(s)
        add(s, "zoe")
        s.write(s.private("decoy-state"), DECOY_STATE)
        yield s, s.state_text("zoe")


def plant(sb, path, kind, good):
    """Puts `kind` at path in place of a good file (text good)."""
    sb.cmd(["rm", "-rf", path], check=True)
    if kind == "fifo":
        sb.cmd(["mkfifo", "-m", "600", path], check=True)
    elif kind == "symlink":
        sb.cmd(["ln", "-s", sb.private("decoy-" + ("state" if STATE in path else "queue")),
                path], check=True)
    elif kind == "directory":
        sb.cmd(["mkdir", "-m", "700", path], check=True)
    elif kind == "other_owner":
        sb.write(path, good)
        sb.cmd(["chown", "1000:1000", path], check=True)
    else:  # mode_NNN
        sb.write(path, good, mode=kind[len("mode_"):])


HOSTILE = ["fifo", "symlink", "directory", "other_owner", "mode_666"]
WHY = {"fifo": "FIFO", "symlink": "symbolic link", "directory": "directory",
       "other_owner": "owned by uid 1000", "mode_666": "mode 666"}
DO = {"fifo": "move it away", "symlink": "move it away", "directory": "move it away",
      "other_owner": "chown root:root", "mode_666": "chmod 600"}


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    out = fn(*a, **kw)
    return out, time.monotonic() - t0


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_state_file(hostile, kind):
    """show, list, remind, set-email and the module's account and session
    stages refuse it at once, with one line naming the file, why, and what
    to do; a symlink's target is neither read nor written."""
    sb, good = hostile
    path = f"{USERS}/zoe"
    decoy = sb.private("decoy-state")
    plant(sb, path, kind, good)
    try:
        for argv in (["show", "zoe"], ["list"], ["remind"],
                     ["set-email", "zoe", "new@school.example"]):
            p, secs = timed(sb.eschool, *argv, timeout=20)
            assert secs < 2, (argv, secs)
            assert p.returncode == EDATA, (argv, p.returncode, p.stderr)
            line = one_line(p)
            for needle in (path, WHY[kind], DO[kind]):
                assert needle in line, (argv, needle, line)
            assert "decoy" not in p.stdout
        for service, op in (("es-acct", "account"), ("es-sess", "open")):
            lines, secs = timed(module_log, sb, drive, service, "zoe", [[op, SYSTEM_ERR]],
                                timeout=20)
            assert secs < 2, (service, secs)
            one_module_line(lines, path, WHY[kind], DO[kind])
        assert sb.read(decoy) == DECOY_STATE
    finally:
        sb.cmd(["rm", "-rf", path], check=True)
        sb.write(path, good)
    assert sb.eschool("show", "zoe").returncode == 0


@pytest.mark.parametrize("kind", ["fifo", "directory", "other_owner"])
def test_hostile_lock_file_never_refuses_a_session(hostile, kind):
    """Something unsafe at locks/USER stops the bookkeeping, not the login:
    only corrupt state follows on_error (SPEC 7). One line, no hang."""
    sb, good = hostile
    path = f"{STATE}/locks/zoe"
    before = sb.state_text("zoe")
    plant(sb, path, kind, "")
    try:
        lines, secs = timed(module_log, sb, session, "zoe", f"lock-{kind}.example")
        assert secs < 2, secs
        one_module_line(lines, path)
        assert sb.state_text("zoe") == before  # nothing written without the lock
    finally:
        sb.cmd(["rm", "-rf", path], check=True)
    session(sb, "zoe", f"lock-{kind}.example")
    assert f"lock-{kind}.example" in sb.state_text("zoe")


def test_state_file_readable_by_others_is_accepted(hostile):
    """SPEC 7 refuses a state file that is not root's or that others may
    write; 0644 is neither (it holds no secret: a pending code only as a
    keyed hash), so the helper and the module read it."""
    sb, good = hostile
    path = f"{USERS}/zoe"
    plant(sb, path, "mode_644", good)
    try:
        assert sb.eschool("show", "zoe").returncode == 0
        drive(sb, "es-acct", "zoe", [["account", NEW_AUTHTOK]])
    finally:
        sb.cmd(["chmod", "600", path], check=True)


def queue_text(ident, to, body="Hello"):
    """A queue file as lib/es_queue.c writes it (see es_queue.h)."""
    msg = (f"From: noreply@school.example\r\nTo: {to}\r\nSubject: test\r\n"
           f"Message-ID: <{ident}@school.example>\r\n\r\n{body}\r\n")
    return (f"eschool-queue 1\nid={ident}\nto={to}\nkind=test\nuser=\npriority=1\n"
            f"created=1\nnext_try=0\nattempts=0\nlast_error=\nsecret=0\n"
            f"size={len(msg.encode())}\nend\n{msg}")


@pytest.fixture(scope="module")
def spool_box(srv):
    with new_sandbox(conf=None) as s:
        school(s, production=(srv.port, srv.ca_file))
        s.cmd(["mkdir", "-p", f"{SPOOL}/new"], check=True)
        s.cmd(["chmod", "-R", "700", SPOOL], check=True)
        yield s


@pytest.mark.parametrize("kind", HOSTILE + ["mode_644"])
def test_hostile_queue_file(spool_box, srv, kind):
    """queue list, status and run refuse it at once (a queue file may hold a
    password: 0600 exactly) with one line; it is never sent, a symlink's
    target never read; the good mails beside it go."""
    sb = spool_box
    ident = f"{int(time.time()):010d}.{os.urandom(8).hex()}"
    path = f"{SPOOL}/new/{ident}"
    sb.write(sb.private("decoy-queue"), queue_text(ident, "decoy@evil.example"))
    plant(sb, path, kind, queue_text(ident, "planted@evil.example"))
    why = WHY.get(kind, "mode 644")
    try:
        p, secs = timed(sb.eschool, "--json", "queue", "list", timeout=20)
        assert secs < 2 and p.returncode == 0 and p.stdout == "", (secs, p.stdout, p.stderr)
        line = one_line(p)
        for needle in (path, why, "move it away"):
            assert needle in line, (needle, line)
        p = sb.eschool("--json", "queue", "status", timeout=20)
        assert json.loads(p.stdout)["corrupt"] == 1, p.stdout
        good = f"{int(time.time()):010d}.{os.urandom(8).hex()}"
        sb.write(f"{SPOOL}/new/{good}", queue_text(good, "good@school.example"))
        n0 = len(srv.messages)
        p, secs = timed(sb.eschool, "queue", "run", timeout=20)
        assert secs < 5 and p.returncode == 0, (secs, p.stderr)
        assert path in one_line(p)
        assert [m["To"] for _, m in srv.messages[n0:]] == ["good@school.example"]
        assert ident in queue_files(sb)  # left for the admin, not deleted
    finally:
        sb.cmd(["rm", "-rf", path], check=True)


def test_module_refuses_a_symlinked_spool_directory(sb):
    """The module writes the queue: a symlink in place of spool/new is not
    written through; one line, and the login goes on."""
    school(sb)
    add(sb, "zoe")
    session(sb, "zoe", "10.0.0.1")
    elsewhere = sb.private("elsewhere")
    sb.cmd(["mkdir", "-p", "-m", "700", elsewhere], check=True)
    sb.cmd(["mkdir", "-p", "-m", "700", SPOOL], check=True)
    sb.cmd(["rm", "-rf", f"{SPOOL}/new"], check=True)
    sb.cmd(["ln", "-s", elsewhere, f"{SPOOL}/new"], check=True)
    # a new source: a notice to queue
    one_module_line(module_log(sb, session, "zoe", "10.0.0.2"), f"{SPOOL}/new",
                    "symbolic link")
    assert sb.listdir(elsewhere) == []
    assert sb.state("zoe")["sources"].startswith("10.0.0.2,")  # recorded all the same
    p = sb.eschool("queue", "list")
    assert p.returncode == 77 and "symbolic link" in one_line(p), (p.returncode, p.stderr)


def test_quota_file_fifo_does_not_hang(sb, srv):
    """spool_dir/quota (the day's and month's counts) is checked like a queue
    file: status shows zeros with one line, run refuses to start (65)."""
    school(sb, production=(srv.port, srv.ca_file))
    sb.cmd(["mkdir", "-p", "-m", "700", SPOOL], check=True)
    sb.cmd(["mkfifo", "-m", "600", f"{SPOOL}/quota"], check=True)
    for argv, code in ((["queue", "status"], 0), (["queue", "run"], EDATA)):
        p, secs = timed(sb.eschool, *argv, timeout=20)
        assert secs < 2 and p.returncode == code, (argv, secs, p.returncode, p.stderr)
        line = one_line(p)
        assert f"{SPOOL}/quota" in line and "FIFO" in line and "move it away" in line, line


# ---- torn writes ----

TORN_LOOP = r'''
# $1 the whole file, $2 where it goes, $3 how many bytes to step past the
# first 400 (the last 16 are all tried), $4 the exit status the command must
# give for a torn file, with nothing on stdout; then the command. Each cut
# (and the whole file with one byte too many, "+1") goes in place in turn.
# Prints "TRIED:BAD", BAD listing the cuts for which the command did
# anything else.
full=$1 dst=$2 step=$3 want=$4; shift 4
[ "$step" -ge 1 ] && [ "$step" -le 16 ] || exit 2
umask 077
n=$(wc -c < "$full") i=0 tried=0 bad=""
while [ $i -le $n ]; do
    if [ $i -lt $n ]; then head -c $i "$full" > "$dst"; what=$i
    else cp "$full" "$dst"; printf x >> "$dst"; what=+1; fi
    out=$("$@" 2>/dev/null); rc=$?
    if [ $rc -ne "$want" ] || [ -n "$out" ]; then bad="$bad $what"; fi
    tried=$((tried + 1))
    if [ $i -lt 400 ] || [ $((n - i)) -le 16 ]; then i=$((i + 1)); else i=$((i + step)); fi
done
cp "$full" "$dst"
echo "$tried:$bad"
'''


def test_torn_state_file_is_never_valid(sb):
    """A state file cut at every byte (and one with a byte too many) is
    refused by the helper; a sample through the module too."""
    school(sb)
    add(sb, "zoe", "--name", "Zoë Lefèvre", "--class", "2nde A", "--parent-email",
        "parent@school.example")
    session(sb, "zoe", "10.0.0.1")
    full = sb.private("zoe.state")
    sb.cmd(["install", "-D", "-m", "600", f"{USERS}/zoe", full], check=True)
    size = len(sb.read(full).encode())
    p = sb.cmd(["sh", "-c", TORN_LOOP, "sh", full, f"{USERS}/zoe", "1", str(EDATA), ESCHOOL,
                "show", "zoe"])
    tried, bad = p.stdout.strip().split(":")
    assert bad == "", f"cuts read back as valid: {bad}"
    assert int(tried) == size + 1, (tried, size)
    assert sb.eschool("show", "zoe").returncode == 0  # the whole file is good
    text = sb.read(full)
    for cut in (0, 15, 16, len(text) // 2, len(text) - 4, len(text) - 1):
        sb.write(f"{USERS}/zoe", text[:cut])
        one_module_line(module_log(sb, drive, "es-acct", "zoe", [["account", SYSTEM_ERR]]),
                        f"{USERS}/zoe", "corrupt")
    sb.write(f"{USERS}/zoe", text)
    drive(sb, "es-acct", "zoe", [["account", NEW_AUTHTOK]])


def test_torn_queue_file_is_never_valid(sb, srv):
    """A real queue file (a production credentials mail) cut at every byte of
    its header and the first 400, then every 13th, and the last 16: never
    listed, never sent."""
    school(sb, production=(1, srv.ca_file))  # the server is down: it stays queued
    add(sb, "zoe")
    (ident,) = queue_files(sb)
    path = f"{SPOOL}/new/{ident}"
    full = sb.private("queued")
    sb.cmd(["install", "-D", "-m", "600", path, full], check=True)
    p = sb.cmd(["sh", "-c", TORN_LOOP, "sh", full, path, "13", "0", ESCHOOL, "--json",
                "queue", "list"])
    tried, bad = p.stdout.strip().split(":")
    assert bad == "", f"cuts listed as valid: {bad}"
    size = int(sb.cmd(["stat", "-c", "%s", full]).stdout)
    assert int(tried) > 600 and size > 2000, (tried, size)
    # the whole file is listed; one byte short is never sent
    listed = sb.eschool("--json", "queue", "list").stdout.splitlines()
    assert [json.loads(line)["id"] for line in listed] == [ident]
    school(sb, production=(srv.port, srv.ca_file))
    sb.cmd(["sh", "-c", 'head -c $(($(wc -c < "$1") - 1)) "$1" > "$2"', "sh", full, path],
           check=True)
    n0 = len(srv.messages)
    p = sb.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == 0 and "corrupt or incomplete" in one_line(p), p.stderr
    assert len(srv.messages) == n0 and queue_files(sb) == [ident]
