"""eschool backup FILE / restore FILE: the state directory saved as a
gzipped tar (0600) and put back with one rename, the current state kept
aside; hostile archives (symlinks, not a backup) change nothing."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import add, prepare, state  # noqa: E402

STATE = "/var/lib/eschool"


@pytest.fixture
def sb():
    with new_sandbox() as s:
        prepare(s)
        # the sandbox's own /var/backups: never the host's
        s.cmd(["mkdir", "-p", "/var/backups"], check=True)
        s.cmd(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/backups"], check=True)
        yield s


def test_backup_and_restore(sb):
    add(sb, "zoe")
    assert sb.eschool("set-email", "zoe", "zoe.new@lycee-exemple.fr").returncode == 0
    before = sb.read(f"{STATE}/users/zoe")
    key = sb.cmd(["sha256sum", f"{STATE}/code.key"], check=True).stdout.split()[0]
    p = sb.eschool("backup", "/var/backups/s.tar.gz")
    assert p.returncode == 0, p.stderr
    assert sb.stat("/var/backups/s.tar.gz")[:2] == (0o600, 0)
    listing = sb.cmd(["tar", "-tzf", "/var/backups/s.tar.gz"], check=True).stdout.split()
    assert "./users/zoe" in listing and "./code.key" in listing
    assert not any(n.startswith("./locks") for n in listing)
    # life goes on, then the state is put back
    add(sb, "leo")
    sb.write(f"{STATE}/users/zoe", before.replace("role=student", "role=teacher"))
    p = sb.eschool("restore", "/var/backups/s.tar.gz")
    assert p.returncode == 0, p.stderr
    assert sb.read(f"{STATE}/users/zoe") == before
    assert not sb.exists(f"{STATE}/users/leo")
    assert sb.cmd(["sha256sum", f"{STATE}/code.key"]).stdout.split()[0] == key
    assert sb.stat(STATE)[:2] == (0o700, 0)
    assert sb.stat(f"{STATE}/users/zoe")[:2] == (0o600, 0)
    kept = [d for d in sb.listdir("/var/lib") if d.startswith("eschool.before-restore-")]
    assert len(kept) == 1 and sb.exists(f"/var/lib/{kept[0]}/users/leo")
    # the restored state works: the pending code still verifies against the key
    assert state(sb, "zoe")["pending_email"] == "zoe.new@lycee-exemple.fr"
    assert sb.eschool("show", "zoe").returncode == 0


def test_hostile_archives_change_nothing(sb):
    add(sb, "zoe")
    before = sb.read(f"{STATE}/users/zoe")
    evil = sb.private("evil")
    script = f"""set -e
mkdir -p {evil}/users
ln -s /etc/shadow {evil}/users/zoe
tar -czf /var/backups/evil.tar.gz -C {evil} .
echo 'not a tar' > /var/backups/junk.tar.gz
mkdir -p {evil}2 && echo x > {evil}2/file && tar -czf /var/backups/other.tar.gz -C {evil}2 .
"""
    sb.cmd(["sh", "-c", script], check=True)
    for name, why in (("evil", "unsafe entries"), ("junk", "not a backup eschool can read"),
                      ("other", "no users/ directory")):
        p = sb.eschool("restore", f"/var/backups/{name}.tar.gz")
        assert p.returncode == 65 and why in p.stderr, (name, p.stderr)
        assert sb.read(f"{STATE}/users/zoe") == before
        assert not any(d.startswith(".eschool-restore") for d in sb.listdir("/var/lib"))
    p = sb.eschool("restore", "/var/backups/none.tar.gz")
    assert p.returncode == 65 and "no such backup file" in p.stderr


def as_student(sb, uid, script, *args):
    """Runs a shell script as the student (real and effective uid)."""
    return sb.cmd(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                   "sh", "-c", script, "sh", *args])


def backup_after_a_plant(sb, uid, dest, plant):
    """The student plants files (the script gets DEST and the PID the backup
    will have: the old temporary name DEST.tmp-PID, guessed right), then
    root runs eschool backup DEST under that PID (exec)."""
    script = (f'setpriv --reuid={uid} --regid={uid} --clear-groups sh -c \'{plant}\' sh "$1" "$$"'
              f' && exec "$0" backup "$1"')
    return sb.cmd(["sh", "-c", script, ESCHOOL, dest])


# the student makes the old temporary name (and a link beside it), world-writable
PLANT = 'umask 0; : > "$1.tmp-$2"; ln -s /var/backups/stolen "$1.tmp-$(($2 + 1))"; : > "$1"'


def test_backup_refuses_a_directory_others_can_write(sb):
    add(sb, "zoe")
    uid = int(sb.passwd_entry("zoe")[2])
    for mode in ("777", "770"):
        d = f"/var/backups/drop{mode}"
        sb.cmd(["sh", "-c", f"mkdir -m {mode} {d} && chown root:{uid} {d}"], check=True)
        p = backup_after_a_plant(sb, uid, f"{d}/s.tar.gz", PLANT)
        assert p.returncode == 73, p.stdout + p.stderr
        assert f"{d} (mode 0{mode}) can be written by other users" in p.stderr, p.stderr
        assert f"chmod go-w {d}" in p.stderr and "/var/backups" in p.stderr
        # nothing written: the student's files are as planted, empty
        names = sb.listdir(d)
        assert len(names) == 3 and not any(n.startswith(".eschool-backup") for n in names), names
        for n in names:
            if sb.stat(f"{d}/{n}")[3] == "regular empty file":
                assert sb.stat(f"{d}/{n}")[1] == uid
            else:
                assert sb.stat(f"{d}/{n}")[3] == "symbolic link"
        assert not sb.exists("/var/backups/stolen")


def test_backup_in_a_sticky_directory_cannot_be_taken_over(sb):
    """/tmp-like (1777): O_EXCL under a random name is enough; the archive
    is a new root file 0600 whatever the student planted."""
    add(sb, "zoe")
    uid = int(sb.passwd_entry("zoe")[2])
    d = "/var/backups/shared"
    sb.cmd(["mkdir", "-p", d], check=True)
    sb.cmd(["mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", d], check=True)
    dest = f"{d}/s.tar.gz"
    p = backup_after_a_plant(sb, uid, dest, PLANT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sb.stat(dest) == (0o600, 0, 0, "regular file")
    listing = sb.cmd(["tar", "-tzf", dest], check=True).stdout.split()
    assert "./users/zoe" in listing
    # the planted names are the student's, empty; no temporary file is left
    names = sb.listdir(d)
    assert len(names) == 3 and not any(n.startswith(".eschool-backup") for n in names), names
    for n in names:
        if n != "s.tar.gz":
            st = sb.stat(f"{d}/{n}")
            assert st[3] == "symbolic link" or (st[1] == uid and st[3] == "regular empty file"), st
    assert not sb.exists("/var/backups/stolen")
    p = as_student(sb, uid, 'cat "$1" > /dev/null', dest)
    assert p.returncode != 0 and "Permission denied" in p.stderr


def test_restore_takes_no_mode_or_owner_from_the_archive(sb):
    add(sb, "zoe")
    uid = int(sb.passwd_entry("zoe")[2])
    assert sb.eschool("set-email", "zoe", "zoe.new@lycee-exemple.fr").returncode == 0  # code.key
    before = sb.read(f"{STATE}/users/zoe")
    assert sb.eschool("backup", "/var/backups/s.tar.gz").returncode == 0
    # the same state, every entry 0777 and the student's
    loose = sb.private("loose")
    sb.cmd(["sh", "-c", f"""set -e
mkdir -p {loose} && tar -xzf /var/backups/s.tar.gz -C {loose}
chmod -R 0777 {loose} && chown -R {uid}:{uid} {loose}
tar -czf /var/backups/loose.tar.gz -C {loose} .
"""], check=True)
    modes = sb.cmd(["tar", "-tvzf", "/var/backups/loose.tar.gz"], check=True).stdout
    assert "-rwxrwxrwx" in modes and "drwxrwxrwx" in modes
    p = sb.eschool("restore", "/var/backups/loose.tar.gz")
    assert p.returncode == 0, p.stderr
    assert sb.stat(STATE) == (0o700, 0, 0, "directory")
    assert sb.stat(f"{STATE}/users") == (0o700, 0, 0, "directory")
    for f in ("users/zoe", "code.key"):
        assert sb.stat(f"{STATE}/{f}") == (0o600, 0, 0, "regular file"), f
    out = sb.cmd(["find", STATE, "!", "-user", "root", "-o", "-perm", "/077"]).stdout
    assert out == "", out
    assert sb.read(f"{STATE}/users/zoe") == before
    assert sb.eschool("show", "zoe").returncode == 0
    # a FIFO or a device in the archive: refused, nothing changed
    for kind in ("p", "c 1 3"):
        odd = sb.private(f"odd{kind[0]}")
        sb.cmd(["sh", "-c", f"""set -e
mkdir -p {odd} && tar -xzf /var/backups/s.tar.gz -C {odd}
mknod {odd}/users/pipe {kind}
tar -czf /var/backups/odd.tar.gz -C {odd} .
"""], check=True)
        p = sb.eschool("restore", "/var/backups/odd.tar.gz")
        assert p.returncode == 65 and "unsafe entries" in p.stderr, p.stderr
        assert not sb.exists(f"{STATE}/users/pipe")
        assert not any(d.startswith(".eschool-restore") for d in sb.listdir("/var/lib"))


def test_backup_errors(sb):
    p = sb.eschool("backup", "/var/backups/s.tar.gz")
    assert p.returncode == 67 and "nothing to back up" in p.stderr  # no state yet
    add(sb, "zoe")
    p = sb.eschool("backup", "/nonexistent/dir/s.tar.gz")
    assert p.returncode == 73 and "there is no directory /nonexistent/dir" in p.stderr
    p = sb.eschool("backup")
    assert p.returncode == 64
