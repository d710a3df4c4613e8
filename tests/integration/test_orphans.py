"""A state file whose Linux account is gone (userdel), or whose name is
another uid's now (userdel, then an unrelated useradd), is an orphan (issue
16, item 15): `add` records the uid; list and show mark orphans (JSON
"orphan"); doctor reports them with the command that cleans them and does
not count them as accounts; disable, enable and reset refuse them with 67
and touch nothing (no usermod on someone else's account); remind mails them
nothing; `eschool forget USER` removes what is left; `add` makes the
account again."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import ESCHOOL, assert_fails, json_lines, new_sandbox  # noqa: E402

STATE = "/var/lib/eschool"
# faketime preloads itself: under SANITIZE=1 ASan must not insist on coming first
ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}
GONE = "tguerin has eschool state but no Linux account (removed with userdel?)"
CLEAN = "'eschool forget tguerin' removes"


@pytest.fixture
def school():
    """tguerin, then alice (so that a later useradd gets a new uid), then
    tguerin removed with userdel -r."""
    with new_sandbox() as sb:
        for user, name in (("tguerin", "Thomas Guérin"), ("alice", "Alice Martin")):
            p = sb.eschool("add", user, "--email", f"{user}@lycee-exemple.fr", "--name", name)
            assert p.returncode == 0, p.stderr
        uid = int(sb.passwd_entry("tguerin")[2])
        assert int(sb.state("tguerin")["uid"]) == uid  # recorded by add
        assert int(sb.state("alice")["uid"]) == int(sb.passwd_entry("alice")[2])
        sb.cmd(["userdel", "-r", "tguerin"], check=True)
        sb.old_uid = uid
        yield sb


def listed(sb):
    p = sb.eschool("list", "--json")
    assert p.returncode == 0, p.stderr
    return {o["username"]: o for o in json_lines(p.stdout)}


def test_list_and_show_mark_an_orphan(school):
    sb = school
    objs = listed(sb)
    assert objs["tguerin"]["orphan"] is True and objs["alice"]["orphan"] is False
    p = sb.eschool("list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    row, = [l for l in lines if l.startswith("tguerin ")]
    assert row.endswith("[orphan: no Linux account]"), row
    assert not [l for l in lines if l.startswith("alice ")][0].endswith("]")
    assert lines[-1].startswith("1 account(s); 1 orphan state(s) without their Linux account")
    p = sb.eschool("show", "tguerin")
    assert p.returncode == 0, p.stderr
    assert GONE in p.stdout and CLEAN in p.stdout
    assert json_lines(sb.eschool("show", "tguerin", "--json").stdout)[0]["orphan"] is True
    p = sb.eschool("show", "alice")
    assert f"Linux account      uid {sb.passwd_entry('alice')[2]}" in p.stdout, p.stdout


@pytest.mark.parametrize("command", [["disable"], ["enable"], ["reset"], ["resend"],
                                     ["set-email", "tguerin", "t.guerin@lycee-exemple.fr"],
                                     ["verify-email", "tguerin", "ABCDEFGH"]])
def test_commands_refuse_an_orphan(school, command):
    sb = school
    before = sb.snapshot()
    argv = command if len(command) > 1 else command + ["tguerin"]
    assert_fails(sb.eschool(*argv), 67, GONE, CLEAN)
    assert sb.snapshot() == before


def test_a_new_account_with_the_same_name_is_not_the_old_one(school):
    """useradd tguerin again: another person, another uid. eschool never
    acts on that account through the old state."""
    sb = school
    sb.cmd(["useradd", "-m", "tguerin"], check=True)
    sb.cmd(["sh", "-c", "echo 'tguerin:His-Own-Pass-1' | chpasswd"], check=True)
    new_uid = int(sb.passwd_entry("tguerin")[2])
    assert new_uid != sb.old_uid
    assert listed(sb)["tguerin"]["orphan"] is True
    row, = [l for l in sb.eschool("list").stdout.splitlines() if l.startswith("tguerin ")]
    assert row.endswith("[orphan: the name is another account's now]"), row
    p = sb.eschool("show", "tguerin")
    assert f"made for uid {sb.old_uid}" in p.stdout and f"(uid {new_uid}" in p.stdout
    before = sb.snapshot()
    for command in ("disable", "reset"):
        assert_fails(sb.eschool(command, "tguerin"), 67, f"made for uid {sb.old_uid}", CLEAN)
    assert_fails(sb.eschool("add", "tguerin", "--email", "t@lycee-exemple.fr"), 73,
                 "another account", CLEAN)
    assert sb.snapshot() == before  # his password and his account are his
    # forget: the old state goes, his account stays
    p = sb.eschool("forget", "tguerin")
    assert p.returncode == 0, p.stderr
    assert "Forgotten: tguerin" in p.stdout
    assert sb.state("tguerin") is None and not sb.exists(f"{STATE}/locks/tguerin")
    assert int(sb.passwd_entry("tguerin")[2]) == new_uid
    assert "tguerin" not in listed(sb)


def test_orphans_among_many_accounts(school):
    """With more than a few accounts, the commands that look up every one
    read /etc/passwd once (an index of its lines, helper/accounts.c) instead
    of one getpwnam each: the same answers, a gone account and a reused name
    still orphans, the others each with its own uid."""
    sb = school
    lines = "".join(f"s{i:02d}:x:{30000 + i}:100::/nonexistent:/usr/sbin/nologin\n"
                    for i in range(40))
    with open(sb.host_view("/etc/passwd"), "a") as f:
        f.write(lines)
    for i in range(40):
        user = f"s{i:02d}"
        sb.write(f"{STATE}/users/{user}",
                 f"eschool-state 1\nemail={user}@lycee-exemple.fr\nrole=student\n"
                 f"uid={30000 + i + (1 if i == 7 else 0)}\ncreated=1\nmust_change=1\n"
                 f"initial_expires=0\ndisabled=0\nend\n", mode="600")
    trace = sb.private("list.trace")
    sb.write(trace, "")
    # (under SANITIZE=1: LeakSanitizer cannot run under ptrace)
    p = sb.cmd(["strace", "-f", "-qq", "-e", "trace=open,openat", "-o", trace, ESCHOOL,
                "list", "--json"], env={"ASAN_OPTIONS": "detect_leaks=0:verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    # NSS read once for all (the index), not once per account
    assert sb.read(trace).count('"/etc/passwd"') < 20, sb.read(trace).count('"/etc/passwd"')
    objs = listed(sb)
    assert len(objs) == 42
    orphans = sorted(u for u, o in objs.items() if o["orphan"])
    # tguerin's account is gone; s07's state was made for another uid
    assert orphans == ["s07", "tguerin"], orphans
    p = sb.eschool("show", "s07")
    assert "made for uid 30008" in p.stdout and "(uid 30007" in p.stdout, p.stdout
    # a name twice in /etc/passwd: the first line is the account, as for getpwnam
    with open(sb.host_view("/etc/passwd"), "a") as f:
        f.write("s09:x:39999:100::/nonexistent:/usr/sbin/nologin\n")
    assert listed(sb)["s09"]["orphan"] is False
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "--json", "remind", "--dry-run"], env=ASAN)
    due = {m["username"] for m in json_lines(p.stdout)}
    assert "s07" not in due and "tguerin" not in due and "s08" in due, p.stdout


def test_doctor_reports_orphans_apart(school):
    sb = school
    p = sb.eschool("--json", "doctor")
    checks = {c["item"]: c for c in json.loads(p.stdout)["checks"]}
    acc = checks["accounts"]
    assert acc["status"] == "warn", acc
    assert "1 eschool state(s) without their Linux account" in acc["detail"]
    assert "tguerin" in acc["detail"] and acc["fix"] == "eschool forget tguerin"
    assert checks["addresses"]["detail"].startswith("1 accounts:"), checks["addresses"]
    human = sb.eschool("doctor").stdout
    assert "! accounts" in human and "→ eschool forget tguerin" in human, human
    assert sb.eschool("forget", "tguerin").returncode == 0
    checks = {c["item"]: c for c in json.loads(sb.eschool("--json", "doctor").stdout)["checks"]}
    assert checks["accounts"]["status"] == "ok", checks["accounts"]


def test_doctor_names_five_and_counts_the_rest(school):
    sb = school
    good = sb.state_text("alice")
    for i in range(7):
        sb.write(f"{STATE}/users/gone{i}", good)
    checks = {c["item"]: c for c in json.loads(sb.eschool("--json", "doctor").stdout)["checks"]}
    acc = checks["accounts"]
    assert "8 eschool state(s)" in acc["detail"] and "and 3 more (eschool list marks them)" \
        in acc["detail"], acc
    assert acc["fix"].count("eschool forget") == 5


def test_remind_leaves_orphans_alone(school):
    sb = school
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "--json", "remind"], env=ASAN)
    assert p.returncode == 0, p.stderr
    assert [m["username"] for m in json_lines(p.stdout)] == ["alice"]
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "remind", "--dry-run"], env=ASAN)
    assert "1 orphan state(s) without their Linux account" in p.stdout, p.stdout


def test_forget(school):
    sb = school
    assert_fails(sb.eschool("forget", "alice"), 65, "alice still has its Linux account",
                 "userdel -r alice")
    assert sb.state("alice") is not None
    assert_fails(sb.eschool("forget", "nobody"), 67, "no eschool state for nobody")
    assert "nobody" not in sb.listdir(f"{STATE}/locks")  # no lock file made for it
    assert_fails(sb.eschool("forget", "../alice"), 65, "invalid username")
    p = sb.eschool("forget", "tguerin", "--json")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "tguerin", "forgotten": True,
                                     "queued_mails": 0}]
    assert sb.listdir(f"{STATE}/users") == ["alice"]
    assert "tguerin" not in sb.listdir(f"{STATE}/locks")


def test_forget_a_corrupt_state_of_a_removed_account(school):
    sb = school
    sb.write(f"{STATE}/users/tguerin", "garbage\n")
    assert sb.eschool("forget", "tguerin").returncode == 0
    assert sb.state("tguerin") is None
    sb.write(f"{STATE}/users/alice", "garbage\n")
    assert_fails(sb.eschool("forget", "alice"), 65, "still has its Linux account")


def test_add_makes_a_removed_account_again(school):
    sb = school
    p = sb.eschool("add", "tguerin", "--email", "tguerin@lycee-exemple.fr", "--name",
                   "Thomas Guérin")
    assert p.returncode == 0, p.stderr
    assert "tguerin had eschool state but no Linux account: the new account replaces it" \
        in p.stdout
    assert int(sb.state("tguerin")["uid"]) == int(sb.passwd_entry("tguerin")[2])
    assert listed(sb)["tguerin"]["orphan"] is False


def test_every_exit_code_is_documented():
    """eschool(8) lists every code a command can return (item 17: 71 was
    not): every category of lib/es_err.h."""
    import re
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(top, "man", "eschool.8"), encoding="utf-8") as f:
        section = f.read().split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    with open(os.path.join(top, "lib", "es_err.h"), encoding="utf-8") as f:
        codes = {int(c) for c in re.findall(r"= (\d+),", f.read())}
    assert {64, 65, 67, 69, 70, 71, 73, 74, 75, 77, 78} <= codes
    for code in sorted(codes):
        assert re.search(rf"\b{code}\b", section), f"exit {code} is not in eschool(8)"
