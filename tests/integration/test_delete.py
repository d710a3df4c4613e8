"""`eschool delete`: accounts removed for good, with their homes (or
kept, or archived), their queued mails and their state; everything is
checked before anything goes, a terminal is asked, scripts say --yes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import import_roster, assert_fails, configure_mail, json_lines  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_production import queue  # noqa: E402

ROSTER = ("Nom;Prénom;Classe;Email\n"
          "DUPRÉ;Élodie;6A;e@school.example\n"
          "MARTIN;Léo;6A;l@school.example\n"
          "SMITH;John;6B;j@school.example\n")


def imported(sb):
    return import_roster(sb, ROSTER)


def gone(sb, user):
    return (sb.passwd_entry(user) is None and sb.state(user) is None and
            not sb.exists(f"/home/{user}") and user not in sb.read("/etc/group"))


def test_delete_a_class_with_its_homes_and_mails(sandbox, srv):
    sb = sandbox
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    srv.data_replies.extend(["451 4.3.0 try again later"] * 3)
    path = sb.private("r.csv")
    sb.write(path, ROSTER)
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stderr
    assert {m["kind"] for m in queue(sb)} == {"welcome-student"}
    sb.cmd(["sh", "-c", "echo homework > /home/edupre/devoir.txt"], check=True)
    p = sb.eschool("--json", "delete", "--class", "6A", "--yes")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [
        {"username": "edupre", "deleted": True, "home": "removed"},
        {"username": "lmartin", "deleted": True, "home": "removed"}]
    assert gone(sb, "edupre") and gone(sb, "lmartin")
    assert [m["to"] for m in queue(sb)] == ["j@school.example"]
    assert sb.state("jsmith") is not None and sb.passwd_entry("jsmith") is not None


def test_keep_or_archive_the_home(sandbox):
    sb = sandbox
    imported(sb)
    sb.cmd(["sh", "-c", "echo homework > /home/edupre/devoir.txt"], check=True)
    p = sb.eschool("delete", "edupre", "--keep-home", "--yes")
    assert p.returncode == 0, p.stderr
    assert sb.passwd_entry("edupre") is None and sb.state("edupre") is None
    assert sb.read("/home/edupre/devoir.txt") == "homework\n"
    archive = sb.private("archives")
    sb.cmd(["mkdir", "-p", archive], check=True)
    sb.cmd(["sh", "-c", "echo notes > /home/lmartin/notes.txt"], check=True)
    p = sb.eschool("delete", "lmartin", "--archive-home", archive, "--yes")
    assert p.returncode == 0, p.stderr
    assert not sb.exists("/home/lmartin") and sb.passwd_entry("lmartin") is None
    (tarball,) = sb.listdir(archive)
    assert tarball.startswith("lmartin-") and tarball.endswith(".tar.gz")
    assert sb.stat(f"{archive}/{tarball}")[:3] == (0o600, 0, 0)
    listing = sb.cmd(["tar", "tzf", f"{archive}/{tarball}"], check=True).stdout
    assert "lmartin/notes.txt" in listing
    assert_fails(sb.eschool("delete", "jsmith", "--keep-home", "--archive-home", archive,
                            "--yes"), 64, "choose one")


def test_nothing_goes_without_a_yes(sandbox):
    sb = sandbox
    imported(sb)
    before = sb.snapshot()
    # a script: --yes needed
    assert_fails(sb.eschool("delete", "edupre"), 64, "--yes")
    # a dry run lists and keeps
    p = sb.eschool("delete", "--class", "6A", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "2 account(s) to delete" in p.stdout and "edupre" in p.stdout and "lmartin" in p.stdout
    # on a terminal: asked; anything but yes keeps them
    p = sb.cmd(["script", "-qec", f"{ESCHOOL} delete edupre", "/dev/null"], input="no\n")
    assert p.returncode == 64 and "Type yes" in p.stdout, p.stdout
    assert sb.snapshot() == before
    # -q and --json do not hide the list the question is about
    p = sb.cmd(["script", "-qec", f"{ESCHOOL} -q --json delete --class 6A", "/dev/null"],
               input="\n")
    assert "2 account(s) to delete" in p.stdout and "lmartin" in p.stdout, p.stdout
    assert sb.snapshot() == before
    p = sb.cmd(["script", "-qec", f"{ESCHOOL} delete edupre", "/dev/null"], input="yes\n")
    assert p.returncode == 0, p.stdout
    assert gone(sb, "edupre")


def test_everything_checked_first(sandbox):
    sb = sandbox
    imported(sb)
    # one name unknown: none goes
    before = sb.snapshot()
    assert_fails(sb.eschool("delete", "edupre", "nobody", "--yes"), 67, "nobody",
                 "nothing was deleted")
    assert sb.snapshot() == before
    # a state that does not say its uid (older, or an interrupted add): the
    # account may be another's: refused
    text = sb.read("/var/lib/eschool/users/edupre")
    sb.write("/var/lib/eschool/users/edupre",
             "".join(l + "\n" for l in text.splitlines() if not l.startswith("uid=")))
    before = sb.snapshot()
    assert_fails(sb.eschool("delete", "edupre", "--yes"), 65, "which uid", "nothing was deleted")
    assert sb.snapshot() == before
    sb.write("/var/lib/eschool/users/edupre", text)
    # a name that is another account's now: never touched
    sb.cmd(["useradd", "-m", "filler"], check=True)  # the new jsmith gets another uid
    sb.cmd(["userdel", "-r", "jsmith"], check=True)
    sb.cmd(["useradd", "-m", "jsmith"], check=True)
    before = sb.snapshot()
    assert_fails(sb.eschool("delete", "jsmith", "--yes"), 65, "nothing was deleted")
    assert sb.snapshot() == before
    # an account removed outside eschool: its state and mails go
    sb.cmd(["userdel", "-r", "lmartin"], check=True)
    p = sb.eschool("--json", "delete", "lmartin", "--yes")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "lmartin", "deleted": True, "home": "gone"}]
    assert sb.state("lmartin") is None
    # not root
    assert_fails(sb.as_nobody([ESCHOOL, "delete", "edupre", "--yes"]), 77, "root")
    assert sb.passwd_entry("edupre") is not None
    # a name given twice goes once
    p = sb.eschool("--json", "delete", "edupre", "edupre", "--yes")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "edupre", "deleted": True, "home": "removed"}]


def test_archives_go_in_a_root_only_directory(sandbox):
    sb = sandbox
    imported(sb)
    shared = sb.private("shared")
    sb.cmd(["mkdir", "-p", "-m", "1777", shared], check=True)
    before = sb.snapshot()
    assert_fails(sb.eschool("delete", "edupre", "--archive-home", shared, "--yes"), 64,
                 "not writable by others")
    assert sb.snapshot() == before
