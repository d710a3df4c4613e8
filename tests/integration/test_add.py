"""eschool add: one account, created with useradd/chpasswd in the sandbox,
its password shown (debug mode), its state recorded; bad input creates nothing."""
import json
import re
import subprocess

import pytest

from conftest import (CONF, DEFAULT_CONF, ESCHOOL, RANDOM_PW, assert_fails,
                      credentials_human, hash_ok, json_lines, mail_when, password_ok)

ALICE = ["add", "alice", "--email", "alice@school.example", "--name", "Alice Martin",
         "--role", "student"]


def add_json(sb, user, *extra, **kw):
    p = sb.eschool("add", user, "--email", f"{user}@school.example", "--json", *extra, **kw)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    return obj["password"]


def login_defs(sb, key, default):
    for line in sb.read("/etc/login.defs").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key:
            return int(parts[1], 0)
    return default


# ---- the account ----

def test_add_creates_the_account_and_shows_the_password(sandbox):
    sb = sandbox
    p = sb.eschool(*ALICE)
    assert p.returncode == 0, p.stderr
    assert "Account created: alice (Alice Martin, student)" in p.stdout
    assert "debug mode" in p.stdout
    assert "It must be changed at the first login." in p.stdout
    creds = credentials_human(p.stdout)
    assert list(creds) == ["alice"]
    password = creds["alice"]
    assert len(password) == 12 and RANDOM_PW.fullmatch(password), password

    # the expiry shown is the one recorded (local time, 14 days by default),
    # in a sentence: written as the terminal's language (here English) does
    expires = int(sb.state("alice")["initial_expires"])
    assert f"  Unused, it stops working on {mail_when(expires, 'en')}\n" in p.stdout

    # passwd: GECOS, home, shell, a regular uid
    name, _, uid, gid, gecos, home, shell = sb.passwd_entry("alice")
    assert (gecos, home, shell) == ("Alice Martin", "/home/alice", "/bin/bash")
    assert int(uid) >= login_defs(sb, "UID_MIN", 1000)
    assert sb.count_entries("/etc/passwd", "alice") == 1

    # shadow: a yescrypt hash (the default) that the password opens
    sh = sb.shadow_entry("alice")
    assert sh[1].startswith("$y$"), sh
    assert password_ok(sb, "alice", password)
    assert not hash_ok(sh[1], password + "x")
    assert not hash_ok(sh[1], "")

    # the role's group: created as a system group, alice a member
    students = sb.group_entry("students")
    assert students is not None, "group students was not created"
    assert int(students[2]) < login_defs(sb, "GID_MIN", 1000), "students is not a system group"
    assert "alice" in students[3].split(",")
    assert "students" in sb.cmd(["id", "-nG", "alice"], check=True).stdout.split()

    # home from /etc/skel, owned by alice
    mode, huid, hgid, kind = sb.stat("/home/alice")
    assert kind == "directory" and (huid, hgid) == (int(uid), int(gid))
    skel = sb.listdir("/etc/skel")
    assert skel, "the sandbox's /etc/skel is empty: nothing to compare"
    assert sb.listdir("/home/alice") == skel
    for f in skel:
        if sb.stat(f"/etc/skel/{f}")[3] == "regular file":
            assert sb.read(f"/home/alice/{f}") == sb.read(f"/etc/skel/{f}")
            assert sb.stat(f"/home/alice/{f}")[1] == int(uid)


def test_add_json_is_one_object(sandbox):
    sb = sandbox
    p = sb.eschool(*ALICE, "--json")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n") == 1, p.stdout
    obj = json.loads(p.stdout)
    assert set(obj) == {"username", "password", "delivery"}
    assert obj["username"] == "alice" and obj["delivery"] == "printed"
    assert password_ok(sb, "alice", obj["password"])


def test_json_flag_before_the_command(sandbox):
    p = sandbox.eschool("--json", "add", "bob", "--email", "bob@school.example")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["username"] == "bob" and password_ok(sandbox, "bob", obj["password"])


def test_state_file(sandbox):
    sb = sandbox
    p = sb.eschool(*ALICE, "--class", "2nde A", "--lang", "fr",
                   "--parent-email", "parent.martin@home.example", "--json")
    assert p.returncode == 0, p.stderr
    password = json.loads(p.stdout)["password"]

    assert sb.stat("/var/lib/eschool/users/alice")[:3] == (0o600, 0, 0)
    assert sb.stat("/var/lib/eschool/users")[:3] == (0o700, 0, 0)
    assert sb.stat("/var/lib/eschool")[:3] == (0o700, 0, 0)
    text = sb.state_text("alice")
    lines = text.splitlines()
    assert lines[0] == "eschool-state 1" and lines[-1] == "end"
    st = sb.state("alice")
    assert st["email"] == "alice@school.example"
    assert st["name"] == "Alice Martin"
    assert st["role"] == "student"
    assert st["class"] == "2nde A"
    assert st["lang"] == "fr"
    assert st["parent_email"] == "parent.martin@home.example"
    assert st["must_change"] == "1"
    assert st["disabled"] == "0"
    assert st["delivery"] == "printed"
    created = int(st["created"])
    assert int(st["password_changed"]) == created
    # an unused initial password stops working after 14 days by default
    assert int(st["initial_expires"]) - created == 14 * 86400
    assert password not in text
    assert st["delivery"] == "printed"


def test_policy_of_the_config_is_applied(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[policy]\ninitial_password_ttl_days = 3\n"
             "first_login_change = no\n")
    add_json(sb, "carol")
    st = sb.state("carol")
    assert int(st["initial_expires"]) - int(st["created"]) == 3 * 86400
    assert st["must_change"] == "0"


def test_password_is_nowhere_on_disk(sandbox):
    sb = sandbox
    pw1 = add_json(sb, "alice", "--name", "Alice Martin")
    p = sb.eschool("reset", "alice", "--json")
    assert p.returncode == 0, p.stderr
    pw2 = json.loads(p.stdout)["password"]
    for pw in (pw1, pw2):
        g = sb.cmd(["grep", "-rlF", "--", pw, "/etc", "/var/lib", "/var/log", "/var/spool",
                    "/var/mail", "/home"])
        assert g.returncode == 1, f"the password is written in: {g.stdout}{g.stderr}"


def test_children_never_see_a_secret(sandbox):
    """useradd, groupadd, chpasswd, usermod run with an explicit argv and a
    minimal environment; chpasswd -e gets user:hash through its stdin."""
    sb = sandbox
    log, stdin_log = sb.private("calls.log"), sb.private("chpasswd.stdin")
    for tool in ("useradd", "groupadd", "chpasswd", "usermod", "userdel"):
        real = sb.copy_real(f"/usr/sbin/{tool}")
        feed = f'tee -a "{stdin_log}" | "{real}" "$@"' if tool == "chpasswd" \
            else f'exec "{real}" "$@"'
        sb.bind_script(f"/usr/sbin/{tool}", f"""#!/bin/sh
{{ printf 'CALL {tool}'; for a in "$@"; do printf ' <%s>' "$a"; done; printf '\\n'
  env | sed 's/^/ENV /'; }} >> "{log}"
{feed}
""")
    env = {"EMAIL_HOST_PASSWORD": "smtp-Secret-42"}
    p = sb.eschool(*ALICE, "--json", env=env)
    assert p.returncode == 0, p.stderr
    pw1 = json.loads(p.stdout)["password"]
    p = sb.eschool("reset", "alice", "--json", env=env)
    assert p.returncode == 0, p.stderr
    pw2 = json.loads(p.stdout)["password"]
    assert sb.eschool("disable", "alice", env=env).returncode == 0
    assert sb.eschool("enable", "alice", env=env).returncode == 0

    calls = sb.read(log)
    tools = [l.split()[1] for l in calls.splitlines() if l.startswith("CALL ")]
    assert tools.count("useradd") == 1 and tools.count("chpasswd") == 2, calls
    assert "groupadd" in tools and tools.count("usermod") == 2, calls
    for secret in (pw1, pw2, "smtp-Secret-42"):
        assert secret not in calls, f"{secret!r} reached a child's argv or environment"
    assert "CALL chpasswd <-e>" in calls.splitlines()
    # the hashes went through the pipe: the last one is the one in /etc/shadow
    fed = sb.read(stdin_log).splitlines()
    assert len(fed) == 2 and all(l.startswith("alice:$y$") for l in fed), fed
    assert fed[-1] == "alice:" + sb.shadow_entry("alice")[1]
    assert password_ok(sb, "alice", pw2)


# ---- roles and policy ----

def test_teacher_goes_to_teachers(sandbox):
    sb = sandbox
    p = sb.eschool("add", "tmartin", "--email", "t.martin@school.example",
                   "--name", "Thomas Martin", "--role", "teacher")
    assert p.returncode == 0, p.stderr
    assert "(Thomas Martin, teacher)" in p.stdout
    teachers = sb.group_entry("teachers")
    assert teachers is not None and "tmartin" in teachers[3].split(",")
    assert int(teachers[2]) < 1000
    students = sb.group_entry("students")
    assert students is None or "tmartin" not in students[3].split(",")
    assert sb.state("tmartin")["role"] == "teacher"


def test_role_section_overrides_policy(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[role teacher]\npassword_length = 16\n")
    teacher = add_json(sb, "tdurand", "--role", "teacher")
    student = add_json(sb, "sdurand")
    assert len(teacher) == 16 and RANDOM_PW.fullmatch(teacher)
    assert len(student) == 12
    assert password_ok(sb, "tdurand", teacher) and password_ok(sb, "sdurand", student)


def test_new_role_with_its_own_groups(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[role staff]\ngroups = staff, wifi\nshell = /bin/sh\n")
    add_json(sb, "gardien", "--role", "staff")
    for g in ("staff", "wifi"):
        entry = sb.group_entry(g)
        assert entry is not None and "gardien" in entry[3].split(","), g
    assert sb.passwd_entry("gardien")[6] == "/bin/sh"
    assert sb.state("gardien")["role"] == "staff"


def test_pronounceable_passwords(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[policy]\npassword_style = pronounceable\n")
    pw = add_json(sb, "alice")
    assert re.fullmatch(r"([bcdfghjkmnprstvwxz][aeiu]){5}[2-9]{2}", pw), pw
    assert password_ok(sb, "alice", pw)


def test_sha512_hash(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[policy]\npassword_hash = sha512\n")
    pw = add_json(sb, "alice")
    assert sb.shadow_entry("alice")[1].startswith("$6$")
    assert password_ok(sb, "alice", pw)


def test_gecos_separators_are_neutralised(sandbox):
    sb = sandbox
    p = sb.eschool("add", "jlmartin", "--email", "jl@school.example",
                   "--name", "Martin, Jean-Luc: a=b")
    assert p.returncode == 0, p.stderr
    entry = sb.passwd_entry("jlmartin")
    assert len(entry) == 7, entry
    assert entry[4] == "Martin  Jean-Luc  a b"
    assert sb.state("jlmartin")["name"] == "Martin, Jean-Luc: a=b"


@pytest.mark.parametrize("user", ["_svc", "a-b_c9", "z" * 32])
def test_usernames_shadow_accepts(sandbox, user):
    p = sandbox.eschool("add", user, "--email", "u@school.example", "--json")
    assert p.returncode == 0, p.stderr
    assert sandbox.passwd_entry(user) is not None and sandbox.state(user)["role"] == "student"


# ---- bad input: the documented exit code, a message, nothing created ----

BAD = [
    pytest.param(["add", "Alice", "--email", "a@school.example"], 65,
                 ["invalid username 'Alice'"], id="uppercase"),
    pytest.param(["add", "1abc", "--email", "a@school.example"], 65,
                 ["invalid username '1abc'"], id="leading-digit"),
    pytest.param(["add", "a" * 33, "--email", "a@school.example"], 65,
                 ["invalid username", "at most 32"], id="33-chars"),
    pytest.param(["add", "a b", "--email", "a@school.example"], 65,
                 ["invalid username 'a b'"], id="space"),
    pytest.param(["add", "../x", "--email", "a@school.example"], 65,
                 ["invalid username '../x'"], id="path"),
    pytest.param(["add", "bob", "--email", "bob-at-school.example"], 65,
                 ["invalid email address 'bob-at-school.example'"], id="bad-email"),
    pytest.param(["add", "bob", "--email", "bob@school"], 65,
                 ["invalid email address"], id="email-no-domain"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--parent-email", "mum"], 65,
                 ["invalid parent email address 'mum'"], id="bad-parent-email"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--role", "janitor"], 65,
                 ["unknown role 'janitor'"], id="unknown-role"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--lang", "de"], 65,
                 ["unknown language 'de'"], id="unknown-lang"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--name", "Bob\nDurand"], 65,
                 ["name contains a control character"], id="LF-in-name"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--name", "Bob\rDurand"], 65,
                 ["name contains a control character"], id="CR-in-name"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--class", "2A\r"], 65,
                 ["class contains a control character"], id="CR-in-class"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--class", "2A\nrm"], 65,
                 ["class contains a control character"], id="LF-in-class"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--name", b"Z\xe9bulon"], 65,
                 ["name is not valid UTF-8"], id="latin1-name"),
    pytest.param(["add", "root", "--email", "root@school.example"], 73,
                 ["root already exists", "not created by eschool"], id="linux-user"),
    pytest.param(["add", "bob"], 64, ["--email"], id="missing-email"),
    pytest.param(["add", "bob", "--email"], 64, ["--email", "needs a value"], id="email-no-value"),
    pytest.param(["add", "bob", "--email", "bob@school.example", "--frobnicate"], 64,
                 ["unknown option '--frobnicate'", "usage:"], id="unknown-option"),
    pytest.param(["add", "--email", "bob@school.example"], 64, ["usage:"], id="no-user"),
    pytest.param(["add", "bob", "carl", "--email", "bob@school.example"], 64, ["usage:"],
                 id="two-users"),
]


@pytest.mark.parametrize("argv,code,needles", BAD)
def test_bad_input_creates_nothing(sandbox, argv, code, needles):
    sb = sandbox
    before = sb.snapshot()
    p = sb.eschool(*argv)
    assert_fails(p, code, *needles)
    assert p.stderr.startswith("eschool: ") or p.stderr.startswith("usage:"), p.stderr
    assert sb.snapshot() == before


def test_existing_eschool_user(sandbox):
    sb = sandbox
    pw = add_json(sb, "alice")
    before = sb.snapshot()
    for email in ("alice@school.example", "other@school.example"):
        p = sb.eschool("add", "alice", "--email", email)
        assert_fails(p, 73, "alice already exists", "eschool reset alice")
    assert sb.snapshot() == before
    assert password_ok(sb, "alice", pw)


def test_existing_linux_user_is_left_alone(sandbox):
    sb = sandbox
    assert sb.cmd(["useradd", "-m", "localuser"]).returncode == 0
    before = sb.snapshot()
    p = sb.eschool("add", "localuser", "--email", "l@school.example")
    assert_fails(p, 73, "localuser already exists")
    assert sb.snapshot() == before


def test_name_of_an_existing_group(sandbox):
    """useradd refuses (a group has the name): its message is passed on and
    the state eschool wrote first is removed."""
    sb = sandbox
    sb.cmd(["groupadd", "-r", "students"], check=True)  # the role group may be created
    before = sb.snapshot()
    p = sb.eschool("add", "adm", "--email", "adm@school.example")
    assert_fails(p, 73, "adm", "useradd", "group adm exists")
    assert sb.snapshot() == before


def test_not_root(sandbox):
    sb = sandbox
    before = sb.snapshot()
    p = sb.as_nobody([ESCHOOL, "add", "bob", "--email", "bob@school.example"])
    assert_fails(p, 77, "must be run as root")
    assert sb.snapshot() == before


# ---- nothing half made ----

def test_rollback_when_chpasswd_fails(sandbox):
    sb = sandbox
    sb.cmd(["groupadd", "-r", "students"], check=True)  # the role group may stay
    before = sb.snapshot()
    sb.bind_script("/usr/sbin/chpasswd",
                   "#!/bin/sh\ncat >/dev/null\necho 'chpasswd: PAM: Authentication token "
                   "manipulation error' >&2\nexit 1\n")
    p = sb.eschool(*ALICE)
    assert p.returncode == 73, (p.returncode, p.stdout, p.stderr)
    assert "setting the password failed" in p.stderr
    assert "Authentication token manipulation error" in p.stderr
    assert "Password:" not in p.stdout
    # the account that useradd made is gone again, with its home and state
    assert sb.passwd_entry("alice") is None and sb.shadow_entry("alice") is None
    assert sb.group_entry("alice") is None
    assert not sb.exists("/home/alice")
    assert sb.state_text("alice") is None
    assert sb.snapshot() == before
    # and stdout does not tell the admin that it was created
    assert "Account created" not in p.stdout, (
        "stdout says 'Account created' for an account that was removed again:\n" + p.stdout)


def test_role_group_created_meanwhile_by_another_process(sandbox):
    """Between eschool's check and its groupadd, another eschool (or an admin)
    creates the role group: groupadd then says it exists. That is the wanted
    result, not a failure. (The groupadd stand-in plays both parts.)"""
    sb = sandbox
    real = sb.copy_real("/usr/sbin/groupadd")
    sb.bind_script("/usr/sbin/groupadd", f'#!/bin/sh\n"{real}" "$@"\nexec "{real}" "$@"\n')
    p = sb.eschool(*ALICE, "--json")
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert "alice" in sb.group_entry("students")[3].split(",")
    assert password_ok(sb, "alice", json_lines(p.stdout)[0]["password"])


def test_concurrent_adds_of_one_user(sandbox):
    sb = sandbox
    sb.cmd(["groupadd", "-r", "students"], check=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    procs = [sb.popen([ESCHOOL, "add", "alice", "--email", "alice@school.example", "--json"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(r[0] for r in results)
    assert codes == [0, 73, 73], results
    (obj,) = json_lines(next(r[1] for r in results if r[0] == 0))
    assert password_ok(sb, "alice", obj["password"])
    assert sb.count_entries("/etc/passwd", "alice") == 1


def test_interrupted_add_is_completed_by_the_same_command(sandbox):
    """kill -9 between useradd and chpasswd (the chpasswd stand-in kills
    eschool): the same add completes the account; another address is refused."""
    sb = sandbox
    sb.bind_script("/usr/sbin/chpasswd", "#!/bin/sh\ncat >/dev/null\nkill -9 $PPID\nexit 1\n")
    p = sb.eschool(*ALICE)
    assert p.returncode == -9, (p.returncode, p.stderr)
    assert sb.passwd_entry("alice") is not None
    assert sb.state("alice")["delivery"] == "creating"
    sb.cmd(["umount", "/usr/sbin/chpasswd"], check=True)

    p = sb.eschool("add", "alice", "--email", "someone.else@school.example")
    assert_fails(p, 73, "alice already exists")

    p = sb.eschool(*ALICE, "--json")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert password_ok(sb, "alice", obj["password"])
    assert sb.count_entries("/etc/passwd", "alice") == 1
    assert sb.count_entries("/etc/shadow", "alice") == 1
    assert sb.state("alice")["delivery"] == "printed"
