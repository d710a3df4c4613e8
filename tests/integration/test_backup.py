"""eschool backup FILE / restore FILE: the state directory saved as a
gzipped tar (0600) and put back with one rename, the current state kept
aside; hostile archives (symlinks, not a backup) change nothing."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
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


def test_backup_errors(sb):
    p = sb.eschool("backup", "/var/backups/s.tar.gz")
    assert p.returncode == 67 and "nothing to back up" in p.stderr  # no state yet
    add(sb, "zoe")
    p = sb.eschool("backup", "/nonexistent/dir/s.tar.gz")
    assert p.returncode == 73 and "there is no directory /nonexistent/dir" in p.stderr
    p = sb.eschool("backup")
    assert p.returncode == 64
