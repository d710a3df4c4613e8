"""eschool import against what is already there: a home directory that
exists (useradd -m's rule: left as it was, with a warning; never a write
through a link), users that only a directory knows (NSS that does not
enumerate), a user made by another program while the import runs, the
state left by a deleted account (made again), names that carry terminal
controls, and what a terminal shows (the progress bar never shares a line
with the password table)."""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ESCHOOL, json_lines, password_ok
from sandbox import Sandbox
from test_import import ENV, blocked_on_a_lock, kill9, table, wait_for, write

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FR = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "fr_FR.UTF-8"}


def child(p):
    """The host pid of the command a sandbox popen() runs."""
    pid = Sandbox.child_pid(p) if hasattr(Sandbox, "child_pid") else p.pid
    assert pid is not None, "the command ended before it could be watched"
    return pid


def tree(sb, path):
    """path and everything below it, not followed: (relative path, type,
    uid, gid, mode, size, sha256 of a file's bytes or a link's target)."""
    script = r'''cd "$1" || exit 1
find . -printf '%p\t%y\t%U\t%G\t%m\t%s\t' -exec sh -c '
  if [ -L "$1" ]; then readlink "$1"; elif [ -f "$1" ]; then sha256sum < "$1" | cut -c1-64;
  else echo -; fi' sh {} \;'''
    out = sb.cmd(["sh", "-c", script, "sh", path], check=True).stdout
    return sorted(line.split("\t") for line in out.splitlines())


# ---- item 3: a home that exists is left as it was ----

def test_existing_home_is_left_as_it_was(sandbox):
    """"Sam Hared" derives `shared`, and /home/shared is a root directory of
    the school's: the account is made, the directory and its file keep
    their owner, mode and contents, nothing of /etc/skel goes in, and the
    report says so (English and French, text and JSON)."""
    sb = sandbox
    sb.cmd(["sh", "-c", "mkdir -m 755 /home/shared && printf 'school data\\n' > /home/shared/notes"
            " && chmod 640 /home/shared/notes && mkdir -m 750 /home/shared/docs"], check=True)
    before = tree(sb, "/home/shared")
    stat_before = sb.stat("/home/shared")
    path = write(sb, "r.csv", "name,email\nSam Hared,sam@school.example\nAl Pha,al@school.example\n")

    p = sb.eschool("import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    assert "/home/shared exists: it will be left as it is" in p.stderr, p.stderr

    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    creds = table(p.stdout)
    assert sorted(creds) == ["apha", "shared"], p.stdout
    assert password_ok(sb, "shared", creds["shared"])
    assert sb.passwd_entry("shared")[5] == "/home/shared"
    assert sb.stat("/home/shared") == stat_before == (0o755, 0, 0, "directory")
    assert tree(sb, "/home/shared") == before, "the existing home was changed"
    assert sb.read("/home/shared/notes") == "school data\n"
    assert re.search(r"r\.csv:2: shared: /home/shared was there before the account \(a "
                     r"directory of uid 0, mode 0755\): left as it was, nothing copied from "
                     r"/etc/skel", p.stderr), p.stderr
    assert sb.state("shared")["home_kept"] == "1"
    # the other account's home is made as useradd makes it
    uid = int(sb.passwd_entry("apha")[2])
    assert sb.stat("/home/apha")[1] == uid and ".bashrc" in sb.listdir("/home/apha")
    assert "apha" not in p.stderr

    # --json: the warning is in the account's object too; French on a French terminal
    path2 = write(sb, "r2.csv", "name,email\nSam Hared,sam2@school.example\n")
    sb.cmd(["mkdir", "-m", "700", "/home/shared2"], check=True)
    p = sb.cmd([ESCHOOL, "--json", "import", path2], env=FR)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["username"] == "shared2" and obj["delivery"] == "printed"
    assert obj["warning"].startswith("/home/shared2 existait avant le compte"), obj
    assert "laissé tel quel" in p.stderr
    assert sb.stat("/home/shared2") == (0o700, 0, 0, "directory")
    assert sb.listdir("/home/shared2") == []


def test_home_that_is_a_link_or_a_file_is_not_touched(sandbox):
    """/home/NAME is a symbolic link to /etc, or a file: nothing is written
    through it or to it; the accounts are made, with a warning each."""
    sb = sandbox
    sb.cmd(["sh", "-c", "ln -s /etc /home/etcuser && printf 'x\\n' > /home/fileuser && "
            "chmod 600 /home/fileuser && ln -s /nowhere /home/dangling"], check=True)
    marker = sb.private("marker")
    sb.cmd(["sh", "-c", 'mkdir -p "$(dirname "$1")" && touch "$1"', "sh", marker], check=True)
    path = write(sb, "r.csv", "username,email\netcuser,e@school.example\n"
                 "fileuser,f@school.example\ndangling,d@school.example\n")
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stderr
    objs = {o["username"]: o for o in json_lines(p.stdout)}
    assert sorted(objs) == ["dangling", "etcuser", "fileuser"]
    for u in objs:
        assert password_ok(sb, u, objs[u]["password"])
    assert "/home/etcuser is a symbolic link: left as it was, not followed" in \
        objs["etcuser"]["warning"]
    assert "/home/fileuser is not a directory" in objs["fileuser"]["warning"]
    assert "/home/dangling is a symbolic link" in objs["dangling"]["warning"]
    for u in objs:
        assert f"r.csv:" in p.stderr and f"{u}: /home/{u}" in p.stderr, p.stderr
    # nothing was written, made or chowned in /etc but the account files
    # (the ctime of what was: contents, owner or mode)
    account_files = {"passwd", "shadow", "group", "gshadow", "subuid", "subgid"}
    changed = sb.cmd(["find", "/etc", "-mindepth", "1", "-cnewer", marker], check=True)
    changed = [c for c in changed.stdout.split()
               if c[len("/etc/"):].rstrip("-") not in account_files]
    assert not changed, changed
    assert sb.stat("/etc")[:3] == (0o755, 0, 0)
    assert sb.cmd(["readlink", "/home/etcuser"]).stdout.strip() == "/etc"
    assert sb.stat("/home/fileuser") == (0o600, 0, 0, "regular file")
    assert sb.read("/home/fileuser") == "x\n"
    assert not sb.exists("/nowhere")


def test_a_home_that_appears_after_the_import_started_it(sandbox):
    """The rule that tells the import's own half-made home from one that was
    there before: what is at HOME_BASE/NAME when the import records the
    account ("creating", before anything of it is written) is never touched,
    in this run or a resumed one; what appears after that can only be the
    import's own (root writes there), a home being made while it is root's.
    Killed while it waits for the account files' lock (the first chunk is
    recorded, nothing written): u000's home existed before, u001's is made
    afterwards the way a killed run leaves it (root's 0700, a torn copy of
    .bashrc); the resumed import leaves the first alone and completes the
    second."""
    sb = sandbox
    for g in ("students", "teachers"):
        sb.cmd(["groupadd", "-r", g], check=True)
    sb.cmd(["sh", "-c", "mkdir -m 711 /home/u000 && echo mine > /home/u000/keep"], check=True)
    before = tree(sb, "/home/u000")
    roster = write(sb, "r.csv", "username,email\n" + "".join(
        f"u{i:03d},u{i:03d}@school.example\n" for i in range(3)))
    lock = os.open(sb.host_view("/etc/.pwd.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        p = sb.popen([ESCHOOL, "import", "--json", roster], env=ENV,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: blocked_on_a_lock(child(p)), "eschool waiting for lckpwdf")
            kill9(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    finally:
        os.close(lock)
    assert sb.state("u000")["delivery"] == "creating"
    assert sb.passwd_entry("u000") is None
    # what a run killed in the middle of the home leaves: root's 0700, torn
    sb.cmd(["sh", "-c", "mkdir -m 700 /home/u001 && head -c 10 /etc/skel/.bashrc > "
            "/home/u001/.bashrc"], check=True)

    p = sb.eschool("import", "--json", roster)
    assert p.returncode == 0, p.stderr
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["u000", "u001", "u002"]
    assert tree(sb, "/home/u000") == before
    assert "/home/u000 was there before the account" in p.stderr
    # the decision, as the first run recorded it
    assert sb.state("u000")["home_kept"] == "1" and "home_kept" not in sb.state("u001")
    for u in ("u001", "u002"):
        pw = sb.passwd_entry(u)
        assert sb.stat(f"/home/{u}")[1:3] == (int(pw[2]), int(pw[3])), u
        assert sb.listdir(f"/home/{u}") == sb.listdir("/etc/skel")
        assert sb.read(f"/home/{u}/.bashrc") == sb.read("/etc/skel/.bashrc"), u
        assert sb.stat(f"/home/{u}/.bashrc")[1] == int(pw[2])
        assert f"/home/{u}" not in p.stderr


def test_skeleton_links_are_made_as_links(sandbox):
    """A link in /etc/skel is made again as a link owned by the account,
    never followed (its target is not copied, nor written)."""
    sb = sandbox
    sb.cmd(["sh", "-c", "ln -s /etc/shadow /etc/skel/.evil && mkdir -m 755 /etc/skel/.config && "
            "echo cfg > /etc/skel/.config/app"], check=True)
    shadow_stat = sb.stat("/etc/shadow")
    path = write(sb, "r.csv", "username,email\nlinky,l@school.example\n")
    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    uid = int(sb.passwd_entry("linky")[2])
    assert sb.cmd(["readlink", "/home/linky/.evil"]).stdout.strip() == "/etc/shadow"
    assert sb.stat("/home/linky/.evil")[1] == uid
    assert sb.stat("/etc/shadow") == shadow_stat
    assert sb.stat("/home/linky/.config")[:2] == (0o755, uid)
    assert sb.read("/home/linky/.config/app") == "cfg\n"
    assert "warning" not in p.stderr and "/home/linky" not in p.stderr


def test_home_base_that_is_a_link_is_followed(sandbox):
    """home_base itself is the administrator's setting and is followed, as
    useradd follows it (/home may be a link to /srv/home); only the home's
    own name never is."""
    sb = sandbox
    sb.write("/etc/eschool/eschool.conf", "[general]\nmode = debug\n[accounts]\n"
             "home_base = /home/link\n")
    sb.cmd(["sh", "-c", "mkdir -m 755 /home/real && ln -s real /home/link && "
            "ln -s /etc /home/real/lnk"], check=True)
    path = write(sb, "r.csv", "username,email\nbase1,b1@school.example\nlnk,l@school.example\n")
    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    uid = int(sb.passwd_entry("base1")[2])
    assert sb.passwd_entry("base1")[5] == "/home/link/base1"
    assert sb.stat("/home/real/base1")[1] == uid
    assert sb.listdir("/home/real/base1") == sb.listdir("/etc/skel")
    assert "/home/link/lnk is a symbolic link: left as it was, not followed" in p.stderr
    assert sb.stat("/etc")[:3] == (0o755, 0, 0) and not sb.exists("/etc/.bashrc")


# ---- item 8: users only a directory knows; a user made while the import runs ----

@pytest.fixture(scope="module")
def nss_noenum():
    """tests/nss_noenum built into a directory of its own (LD_LIBRARY_PATH)."""
    d = tempfile.mkdtemp(prefix="eschool-nss.", dir="/tmp")
    os.chmod(d, 0o755)
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                    os.path.join(d, "libnss_noenum.so.2"),
                    os.path.join(TOP, "tests", "nss_noenum", "nss_noenum.c")], check=True)
    yield d
    shutil.rmtree(d)


def test_users_and_groups_known_only_by_name(sandbox, nss_noenum):
    """An NSS source that answers getpwnam but does not enumerate (SSSD,
    LDAP with enumerate = false): import asks for each name, so a directory
    user is not made again in /etc/passwd, a derived name skips it, and a
    directory group is not taken for a username either."""
    sb = sandbox
    env = dict(ENV, LD_LIBRARY_PATH=nss_noenum)
    sb.cmd(["sed", "-i", "-e", "s/^passwd:.*/& noenum/", "-e", "s/^group:.*/& noenum/",
            "/etc/nsswitch.conf"], check=True)
    sb.write("/etc/nss-noenum", "user dirzoe 70001 70001\nuser sdir 70002 70002\n"
             "group gdir 70003\n", mode="644")
    # the source behaves as a directory does: found by name, never listed
    assert sb.cmd(["getent", "passwd", "dirzoe"], env=env).stdout.startswith("dirzoe:x:70001")
    assert sb.cmd(["getent", "group", "gdir"], env=env).stdout.startswith("gdir:x:70003")
    assert "dirzoe" not in sb.cmd(["getent", "passwd"], env=env).stdout
    assert "gdir" not in sb.cmd(["getent", "group"], env=env).stdout

    path = write(sb, "r.csv", "username,name,email\ndirzoe,Zoé Dir,zoe@school.example\n"
                 ",Sam Dir,sam@school.example\ngdir,Gil Dir,gil@school.example\n"
                 "ok1,Ok One,ok1@school.example\n")
    before = sb.snapshot()
    p = sb.cmd([ESCHOOL, "import", "--dry-run", path], env=env)
    assert p.returncode == 65, p.stdout + p.stderr
    assert f"{path}:2: user dirzoe already exists on this system" in p.stderr, p.stderr
    assert f"{path}:4: a group named gdir already exists" in p.stderr, p.stderr
    assert re.search(r":3\s+sdir2\s", p.stdout), p.stdout
    assert sb.snapshot() == before

    p = sb.cmd([ESCHOOL, "import", "--keep-going", "--json", path], env=env)
    assert p.returncode == 65, p.stderr
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["ok1", "sdir2"]
    users = sb.users_in()
    assert "dirzoe" not in users and "sdir" not in users and "gdir" not in users
    assert sb.state_text("dirzoe") is None and sb.state_text("gdir") is None


def test_a_user_made_while_the_import_runs_is_refused(sandbox):
    """The import found no user `racer`; while it waits for the account
    files' lock, another program (useradd) makes one. The import must not
    take it over (reset its password): that row is refused (exit 73, its
    entries, password and home as the other program left them, no state),
    the other rows are made. The same for `ghost`, whose account was
    deleted (its state, an orphan, would be made again): its old state is
    left as it was."""
    sb = sandbox
    for g in ("students", "teachers"):
        sb.cmd(["groupadd", "-r", g], check=True)
    first = write(sb, "r0.csv", "username,email\nghost,ghost@school.example\n")
    assert sb.eschool("import", first).returncode == 0
    sb.cmd(["userdel", "-r", "ghost"], check=True)
    ghost_state = sb.state_text("ghost")
    roster = write(sb, "r.csv", "username,name,email\ncalm1,Calm One,c1@school.example\n"
                   "racer,Race Her,racer@school.example\ncalm2,Calm Two,c2@school.example\n"
                   "ghost,,ghost@school.example\n")
    lock = os.open(sb.host_view("/etc/.pwd.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    entries = {"passwd": "racer:x:4242:4242:Someone Else:/home/racer:/bin/sh\n"
                         "ghost:x:4243:4243::/home/ghost:/bin/sh\n",
               "shadow": "racer:$6$someoneelse$hash:19000:0:99999:7:::\n"
                         "ghost:!:19000:0:99999:7:::\n",
               "group": "racer:x:4242:\nghost:x:4243:\n", "gshadow": "racer:!::\nghost:!::\n"}
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        p = sb.popen([ESCHOOL, "import", roster], env=ENV, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: blocked_on_a_lock(child(p)), "eschool waiting for lckpwdf")
            assert sb.state("racer")["delivery"] == "creating"
            assert sb.state("ghost")["delivery"] == "creating"  # made again
            # what useradd does, holding the same lock: here, the test holds it
            for f, line in entries.items():
                with open(sb.host_view(f"/etc/{f}"), "a") as fh:
                    fh.write(line)
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=120)
    finally:
        os.close(lock)
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 73, out + err
    for line, user in ((3, "racer"), (5, "ghost")):
        assert re.search(rf"r\.csv:{line}: user {user} was created by another program while "
                         r"the import ran: not changed", err), err
    creds = table(out)
    assert sorted(creds) == ["calm1", "calm2"], out
    for u in creds:
        assert password_ok(sb, u, creds[u])
    assert "2 account(s) created" in out
    for f, lines in entries.items():
        for line in lines.splitlines():
            user = line.split(":")[0]
            assert sb.count_entries(f"/etc/{f}", user) == 1
            assert sb.entry(f"/etc/{f}", user) == line.split(":"), f
    for user in ("racer", "ghost"):
        for g in ("students", "teachers"):
            assert user not in sb.group_entry(g)[3].split(",")
        for f in ("/etc/subuid", "/etc/subgid"):
            assert not sb.exists(f) or sb.entry(f, user) is None
        assert not sb.exists(f"/home/{user}")
    assert sb.state_text("racer") is None
    assert sb.state_text("ghost") == ghost_state


# ---- item 15: the state of a deleted account ----

ROSTER15 = ("username,name,email,parent_email\n"
            "tguerin,Théo Guérin,theo@school.example,parent@home.example\n"
            "amartin,Ana Martin,ana@school.example,\n")


def test_a_deleted_account_is_made_again(sandbox):
    """userdel -r a student, import the roster again: the account is made
    again (a new password, shown as for a new account, the welcome mail
    too), its state records the new account's uid."""
    sb = sandbox
    sb.write("/etc/eschool/eschool.conf", "[general]\nmode = debug\nschool_name = Lycée\n"
             "[mail]\nbackend = console\n")
    path = write(sb, "r.csv", ROSTER15)
    p = sb.eschool("import", "--json", path)
    assert p.returncode == 0, p.stderr
    first = {o["username"]: o["password"] for o in json_lines(p.stdout)}
    old_uid = int(sb.passwd_entry("tguerin")[2])
    assert sb.state("tguerin")["uid"] == str(old_uid)
    assert sb.state("amartin")["uid"] == sb.passwd_entry("amartin")[2]
    sb.cmd(["useradd", "-m", "filler"], check=True)  # the next uid is not the old one
    sb.cmd(["userdel", "-r", "tguerin"], check=True)

    p = sb.eschool("import", "--dry-run", "--json", path)
    assert p.returncode == 0, p.stderr
    assert {o["username"]: o["action"] for o in json_lines(p.stdout)} == \
        {"tguerin": "recreate", "amartin": "skip"}
    p = sb.eschool("import", "--dry-run", path)
    assert re.search(r":2\s+tguerin\s+student\s+create again\s", p.stdout), p.stdout

    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stderr
    creds = {o["username"]: o["password"] for o in json_lines(p.stdout)}
    assert list(creds) == ["tguerin"], p.stdout
    assert creds["tguerin"] != first["tguerin"]
    assert password_ok(sb, "tguerin", creds["tguerin"])
    assert "1 account(s) created, 0 completed, 1 already done" in p.stderr
    # the mail of a new account (printed by the console backend), not a reset
    kinds = re.findall(r"^X-Eschool-Kind: (\S+)", p.stderr, re.M)
    assert kinds == ["welcome-student", "parent-notice"], p.stderr
    pw = sb.passwd_entry("tguerin")
    assert int(pw[2]) != old_uid
    st = sb.state("tguerin")
    assert st["uid"] == pw[2] and st["delivery"] == "printed" and st["must_change"] == "1"
    assert sb.stat("/home/tguerin")[1] == int(pw[2])
    assert sb.listdir("/home/tguerin") == sb.listdir("/etc/skel")
    assert password_ok(sb, "amartin", first["amartin"])
    # and now it is complete
    p = sb.eschool("import", path)
    assert p.returncode == 0 and "0 account(s) created, 0 completed, 2 already done" in p.stdout


def test_a_deleted_account_whose_home_was_kept(sandbox):
    """userdel without -r leaves the home: made again, the account finds it
    as it was (as useradd -m would), with a warning."""
    sb = sandbox
    path = write(sb, "r.csv", ROSTER15)
    assert sb.eschool("import", path).returncode == 0
    sb.cmd(["sh", "-c", "echo work > /home/tguerin/essay.txt"], check=True)
    sb.cmd(["userdel", "tguerin"], check=True)
    before = tree(sb, "/home/tguerin")
    p = sb.eschool("import", "--json", path)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["username"] == "tguerin" and "was there before the account" in obj["warning"]
    assert password_ok(sb, "tguerin", obj["password"])
    assert tree(sb, "/home/tguerin") == before


def test_a_name_now_another_account_is_refused(sandbox):
    """After userdel, an unrelated useradd took the name: that account is not
    eschool's (another uid); the row is refused and the account untouched."""
    sb = sandbox
    path = write(sb, "r.csv", ROSTER15)
    assert sb.eschool("import", path).returncode == 0
    sb.cmd(["userdel", "-r", "tguerin"], check=True)
    sb.cmd(["useradd", "-u", "5555", "tguerin"], check=True)
    shadow = sb.shadow_entry("tguerin")
    p = sb.eschool("import", path)
    assert p.returncode == 65, p.stdout + p.stderr
    assert "tguerin already exists on this system, and it is not the account eschool made" \
        in p.stderr, p.stderr
    assert "'eschool forget tguerin'" in p.stderr
    assert sb.shadow_entry("tguerin") == shadow
    assert sb.passwd_entry("tguerin")[2] == "5555"


# ---- item 9: what reaches a terminal or a log carries no control ----

# C0 but line feed, DEL, C1 (U+0080..U+009F), the line and paragraph
# separators and the bidirectional embeddings, overrides and isolates
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")


def no_raw_control(text, what):
    m = RAW_CONTROL.search(text)
    assert m is None, f"{what} carries {m.group()!r} raw: {text!r}"


def test_names_with_terminal_controls_are_escaped(sandbox):
    sb = sandbox
    log = sb.syslog()
    try:
        roster = ("username,name,email\n"
                  "csi1,Anne \u009b31mRed,csi1@school.example\n"
                  "bidi1,Bob \u202etxt.exe,bidi1@school.example\n"
                  "esc1,Eve \x1b[31mRed,esc1@school.example\n"
                  "mail1,Mai Lé,mai\u202e@school.example\n"
                  "sep1,Line\u2028Break,sep1@school.example\n")
        # the roster's own name carries them too: it is quoted in messages and logs
        path = write(sb, "r\u202egpj.\u009b1m.csv", roster)
        p = sb.eschool("import", "--dry-run", path)
        assert p.returncode == 65
        no_raw_control(p.stdout, "dry-run stdout")
        no_raw_control(p.stderr, "dry-run stderr")
        assert "Anne \\xc2\\x9b31mRed" in p.stdout, p.stdout
        assert "Bob \\xe2\\x80\\xaetxt.exe" in p.stdout, p.stdout
        assert "r\\xe2\\x80\\xaegpj.\\xc2\\x9b1m.csv:4: column 'name' contains a control character" \
            in p.stderr, p.stderr
        assert "invalid email address 'mai\\xe2\\x80\\xae@school.example'" in p.stderr, p.stderr

        p = sb.eschool("import", "--keep-going", path)
        assert p.returncode == 65
        no_raw_control(p.stdout, "import stdout")
        no_raw_control(p.stderr, "import stderr")
        assert sorted(table(p.stdout)) == ["bidi1", "csi1", "sep1"], p.stdout
        assert "Line\\xe2\\x80\\xa8Break" in p.stdout
        # the names are stored as given (the state and the sheet are data)
        assert sb.state("csi1")["name"] == "Anne \u009b31mRed"

        # a missing roster with such a name: the error quotes it escaped
        p = sb.eschool("import", sb.private("gone\u009b2J.csv"))
        assert p.returncode == 65
        no_raw_control(p.stderr, "error")
        assert "gone\\xc2\\x9b2J.csv" in p.stderr

        lines = []
        log.setblocking(False)
        while True:
            try:
                lines.append(log.recv(65536).decode("utf-8"))
            except BlockingIOError:
                break
    finally:
        log.close()
    created = [l for l in lines if "account created: user=" in l]
    assert len(created) == 3, lines
    for line in lines:
        no_raw_control(line.rstrip("\n"), "syslog line")
    assert any("r\\xe2\\x80\\xaegpj.\\xc2\\x9b1m.csv" in l for l in created), created


# ---- item 16: the progress bar and the table on one terminal ----

class Screen:
    """What a terminal shows of a byte stream, enough for eschool's output:
    text, CR, LF and "ESC [ K" (erase to the end of the line)."""

    def __init__(self):
        self.lines, self.cur, self.col = [], [], 0

    def feed(self, text):
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\r":
                self.col = 0
            elif c == "\n":
                self.lines.append("".join(self.cur))
                self.cur, self.col = [], 0
            elif c == "\x1b":
                m = re.match(r"\x1b\[([0-9;]*)([A-Za-z])", text[i:])
                assert m, f"unknown escape sequence {text[i:i + 8]!r}"
                if m.group(2) == "K":
                    del self.cur[self.col:]
                i += len(m.group()) - 1
            else:
                if self.col < len(self.cur):
                    self.cur[self.col] = c
                else:
                    self.cur.append(c)
                self.col += 1
            i += 1

    def shown(self):
        return self.lines + (["".join(self.cur)] if self.cur else [])


def run_on_a_terminal(sb, argv, timeout=120):
    """Runs argv with stdout and stderr on one pty; returns (status, output)."""
    master, slave = pty.openpty()
    try:
        p = sb.popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=ENV)
        os.close(slave)
        slave = -1
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer is gone
                break
            if not chunk:
                break
            data += chunk
        rc = p.wait(timeout=60)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return rc, data.decode()


def test_progress_bar_never_shares_a_line_with_the_table(sandbox):
    sb = sandbox
    n = 40
    path = write(sb, "r.csv", "username,name,email\n" + "".join(
        f"p{i:02d},Pupil {i},p{i:02d}@school.example\n" for i in range(n)))
    rc, out = run_on_a_terminal(sb, [ESCHOOL, "import", path])
    assert rc == 0, out
    screen = Screen()
    screen.feed(out)
    lines = screen.shown()
    bar = re.compile(r"\[[# ]{30}\] \d+/\d+ accounts")
    row = re.compile(r"p\d\d\s+[A-HJ-NP-Za-km-z2-9]{12}\s+Pupil \d+")
    both = [l for l in lines if (bar.search(l) or "accounts" in l) and row.search(l)]
    assert not both, f"lines with the bar and a table row: {both[:3]}"
    rows = [l for l in lines if row.search(l)]
    assert len(rows) == n and all(row.fullmatch(l.strip()) for l in rows), rows
    assert any(bar.fullmatch(l) for l in lines), lines  # the bar was shown
    assert lines[-1].startswith(f"{n} account(s) created"), lines[-3:]
