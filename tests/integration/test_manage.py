"""reset, show, list, disable, enable on accounts made by eschool add."""
import datetime
import json
import re
import unicodedata

import pytest

from conftest import (ESCHOOL, RANDOM_PW, assert_fails, credentials_human, json_lines,
                      password_ok)

SHOW_KEYS = {"username", "email", "name", "role", "class", "lang", "parent_email", "created",
             "password_changed", "must_change", "expires", "last_login", "disabled",
             "pending_email", "orphan", "verdict", "days_left"}


@pytest.fixture
def school(sandbox):
    """alice (student, every field) and bob (teacher); their passwords."""
    sb = sandbox
    p = sb.eschool("add", "alice", "--email", "alice@school.example", "--name", "Alice Martin",
                   "--class", "2nde A", "--lang", "fr", "--parent-email", "mum@home.example",
                   "--json")
    assert p.returncode == 0, p.stderr
    p2 = sb.eschool("add", "bob", "--email", "bob@school.example", "--name", "Bob Durand",
                    "--role", "teacher", "--json")
    assert p2.returncode == 0, p2.stderr
    return sb, {"alice": json.loads(p.stdout)["password"], "bob": json.loads(p2.stdout)["password"]}


def iso(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def edit_state(sb, user, **changes):
    """Rewrites fields of a state file, as a later issue's PAM module would."""
    lines = sb.state_text(user).splitlines()
    out = []
    for line in lines:
        key = line.split("=", 1)[0]
        out.append(f"{key}={changes.pop(key)}" if key in changes else line)
    out[-1:-1] = [f"{k}={v}" for k, v in changes.items()]
    sb.write(f"/var/lib/eschool/users/{user}", "\n".join(out) + "\n")


# ---- reset ----

def test_reset_gives_a_new_temporary_password(school):
    sb, pw = school
    # as if alice had changed her password long ago
    edit_state(sb, "alice", must_change="0", password_changed="1700000000",
               initial_expires="0")
    p = sb.eschool("reset", "alice")
    assert p.returncode == 0, p.stderr
    assert "New temporary password for alice" in p.stdout
    assert "It must be changed at the first login." in p.stdout
    new = credentials_human(p.stdout)["alice"]
    assert new != pw["alice"] and len(new) == 12 and RANDOM_PW.fullmatch(new)
    assert password_ok(sb, "alice", new)
    assert not password_ok(sb, "alice", pw["alice"])
    st = sb.state("alice")
    assert st["must_change"] == "1"
    assert int(st["password_changed"]) > 1700000000
    assert int(st["initial_expires"]) - int(st["password_changed"]) == 14 * 86400
    assert st["delivery"] == "printed"
    assert new not in sb.state_text("alice")
    # the other account is untouched
    assert password_ok(sb, "bob", pw["bob"])


def test_reset_of_an_account_whose_role_was_removed(school):
    """A role gone from the config falls back to the global policy, as the
    module does (lib/es_account): reset used to fail on it. The new
    password's aging in shadow is the global policy's."""
    sb, _ = school
    edit_state(sb, "bob", role="ghost")
    p = sb.eschool("reset", "bob", "--json")
    assert p.returncode == 0, p.stderr
    assert password_ok(sb, "bob", json_lines(p.stdout)[0]["password"])
    assert sb.shadow_entry("bob")[2:6] == ["0", "0", "90", "7"]
    assert sb.state("bob")["must_change"] == "1"


def test_reset_json(school):
    sb, pw = school
    p = sb.eschool("reset", "bob", "--json")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert set(obj) == {"username", "password", "delivery"}
    assert obj["username"] == "bob" and obj["delivery"] == "printed"
    assert obj["password"] != pw["bob"] and password_ok(sb, "bob", obj["password"])
    assert not password_ok(sb, "bob", pw["bob"])


def test_reset_keeps_unknown_state_keys(school):
    sb, _ = school
    edit_state(sb, "alice", x_site_note="salle B12 %25")
    assert sb.eschool("reset", "alice", "-q").returncode == 0
    assert "x_site_note=salle B12 %25" in sb.state_text("alice").splitlines()


def test_failed_reset_changes_nothing(school):
    """chpasswd fails: the old password still works and the state still says
    what is true (the user changed it; no new temporary password)."""
    sb, pw = school
    edit_state(sb, "alice", must_change="0", password_changed="1700000000",
               initial_expires="0")
    state_before = sb.state_text("alice")
    sb.bind_script("/usr/sbin/chpasswd",
                   "#!/bin/sh\ncat >/dev/null\necho 'chpasswd: cannot lock /etc/shadow' >&2\n"
                   "exit 1\n")
    p = sb.eschool("reset", "alice")
    assert p.returncode != 0
    assert "setting the password failed" in p.stderr and "cannot lock" in p.stderr
    assert "Password:" not in p.stdout
    assert password_ok(sb, "alice", pw["alice"])
    assert sb.state_text("alice") == state_before, (
        "a failed reset rewrote the state:\n" + sb.state_text("alice"))


# ---- show ----

def test_show(school):
    sb, _ = school
    p = sb.eschool("show", "alice")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith("alice — Alice Martin\n")
    for label, value in [("role", "student"), ("email", "alice@school.example"),
                         ("class", "2nde A"), ("language", "fr"),
                         ("parent email", "mum@home.example"), ("must change", "yes"),
                         ("disabled", "no"), ("last login", "-")]:
        assert any(l.split() and l.strip().startswith(label) and l.strip().endswith(value)
                   for l in out.splitlines()), (label, value, out)


def test_show_json(school):
    sb, _ = school
    p = sb.eschool("show", "alice", "--json")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert set(obj) == SHOW_KEYS
    st = sb.state("alice")
    assert obj == {
        "username": "alice", "email": "alice@school.example", "name": "Alice Martin",
        "role": "student", "class": "2nde A", "lang": "fr", "parent_email": "mum@home.example",
        "created": iso(st["created"]), "password_changed": iso(st["created"]),
        "must_change": True, "expires": iso(int(st["created"]) + 14 * 86400),
        "verdict": "must-change", "days_left": 14,
        "last_login": None, "disabled": False, "pending_email": None, "orphan": False,
    }
    p = sb.eschool("--json", "show", "bob")
    (obj,) = json_lines(p.stdout)
    assert obj["role"] == "teacher" and obj["class"] is None and obj["lang"] is None


def test_any_printable_text_round_trips(sandbox):
    """Names and classes may hold quotes, <, &, %, backslashes, accents: kept as
    they are, escaped in the state file (%) and in JSON."""
    sb = sandbox
    name = 'Zoë "Zozo" O\'Brien <b>&amp; 100% \\ fin'
    klass = "3e %41 / <B>"
    p = sb.eschool("add", "zobrien", "--email", "z@school.example", "--name", name,
                   "--class", klass)
    assert p.returncode == 0, p.stderr
    text = sb.state_text("zobrien")
    assert "name=Zoë \"Zozo\" O'Brien <b>&amp; 100%25 \\ fin" in text.splitlines()
    assert "class=3e %2541 / <B>" in text.splitlines()
    (obj,) = json_lines(sb.eschool("show", "zobrien", "--json").stdout)
    assert (obj["name"], obj["class"]) == (name, klass)
    (obj,) = json_lines(sb.eschool("list", "--json").stdout)
    assert obj["name"] == name
    assert sb.eschool("show", "zobrien").stdout.startswith(f"zobrien — {name}\n")
    assert sb.passwd_entry("zobrien")[4] == name


# ---- list ----

def list_rows(stdout):
    """`list`'s table: the header's cell names, and each row's cells cut at
    the header's columns (counted in display columns, as a terminal shows
    them), by username; and the last line."""
    lines = stdout.splitlines()
    header = lines[0]
    starts = [width(header[:m.start()]) for m in re.finditer(r"(?:^|(?<=  ))\S", header)]
    names = cut(header, starts)
    rows = {}
    for line in lines[1:-1]:
        cells = cut(line, starts)
        rows[cells[0]] = dict(zip(names, cells))
    return names, rows, lines[-1]


def cut(line, starts):
    cells, cur, col, i = [], "", 0, 0
    for ch in line:
        if i + 1 < len(starts) and col >= starts[i + 1]:
            cells.append(cur.strip())
            cur, i = "", i + 1
        cur += ch
        col += width(ch)
    cells.append(cur.strip())
    return cells


def width(text):
    """Display columns, as wcwidth counts them."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_list(school):
    sb, _ = school
    p = sb.eschool("list")
    assert p.returncode == 0, p.stderr
    names, rows, last = list_rows(p.stdout)
    assert names == ["USERNAME", "NAME", "ROLE", "CLASS", "MUST", "OFF", "LAST LOGIN", "EMAIL"]
    assert set(rows) == {"alice", "bob"}
    assert rows["alice"]["ROLE"] == "student" and rows["alice"]["EMAIL"] == "alice@school.example"
    assert rows["alice"]["NAME"] == "Alice Martin" and rows["alice"]["CLASS"] == "2nde A"
    assert rows["bob"]["ROLE"] == "teacher" and rows["bob"]["CLASS"] == "-"
    assert last == "2 account(s)"

    p = sb.eschool("list", "--role", "teacher")
    assert p.returncode == 0
    assert [l.split()[0] for l in p.stdout.splitlines()[1:-1]] == ["bob"]
    assert p.stdout.splitlines()[-1] == "1 account(s)"


WIDE = [("edupre", "Élodie Dupré", "Première"), ("yamada", "山田太郎", "高一 A"),
        ("zemoji", "Zoë 😀 Lefèvre", "2nde 🎓"), ("nfd", "Jose\u0301 Nun\u0303ez", "CE2")]


@pytest.mark.parametrize("lang", ["C.UTF-8", "C", "fr_FR.UTF-8"])
def test_list_columns_line_up_by_display_width(school, lang):
    """Accents, CJK and emoji take 1 or 2 columns whatever their bytes: every
    cell starts under its header (item 16); the French header has accents."""
    sb, _ = school
    for user, name, klass in WIDE:
        p = sb.eschool("add", user, "--email", f"{user}@school.example", "--name", name,
                       "--class", klass)
        assert p.returncode == 0, p.stderr
    p = sb.eschool("list", env={"LANG": lang})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    header = lines[0]
    labels = (["IDENTIFIANT", "NOM", "RÔLE", "CLASSE", "CHANG", "DÉSAC", "DERNIÈRE CONNEX.",
               "EMAIL"] if lang.startswith("fr") else
              ["USERNAME", "NAME", "ROLE", "CLASS", "MUST", "OFF", "LAST LOGIN", "EMAIL"])
    starts, pos = [], 0
    for label in labels:
        at = header.index(label, pos)
        assert header[pos:at].strip() == "", header  # nothing unknown between
        starts.append(width(header[:at]))
        pos = at + len(label)
    people = {user: (name, klass) for user, name, klass in WIDE}
    people["alice"] = ("Alice Martin", "2nde A")
    people["bob"] = ("Bob Durand", "-")
    seen = set()
    for line in lines[1:-1]:
        user = line.split()[0]
        name, klass = people[user]
        email = f"{user}@school.example"
        # each known cell begins at its header's column, counted by display width
        for cell, col in ((user, 0), (name, 1), (klass, 3), (email, 7)):
            at = line.index(cell, len(user) if col else 0)
            assert width(line[:at]) == starts[col], (lang, line, cell)
        seen.add(user)
    assert seen == set(people)


def test_list_escapes_control_characters(school):
    """A state edited by hand may hold an escape sequence: list and show
    print it as \\xHH, never raw."""
    sb, _ = school
    edit_state(sb, "alice", name="Alice%1B[2J%C2%9B31m", **{"class": "A%E2%80%AEB"})
    for argv in (["list"], ["show", "alice"]):
        p = sb.eschool(*argv)
        assert p.returncode == 0, p.stderr
        assert "\x1b" not in p.stdout and "\u009b" not in p.stdout and "\u202e" not in p.stdout
        assert "Alice\\x1b[2J\\xc2\\x9b31m" in p.stdout, p.stdout
        assert "A\\xe2\\x80\\xaeB" in p.stdout


def test_list_into_a_pipe_closed_early_is_quiet(sandbox):
    """`eschool list | head -1`: the reader stops early; no "cannot write
    the output", exit 0 (item 16). 1,500 rows are more than a pipe holds, so
    eschool is still writing when head has gone."""
    sb = sandbox
    script = (
        "mkdir -p -m 700 /var/lib/eschool/users && cd /var/lib/eschool/users && "
        "for i in $(seq 1500); do printf 'eschool-state 1\\nemail=u%s@school.example\\n"
        "name=Utilisateur num\\303\\251ro %s\\nrole=student\\nend\\n' $i $i > u$i; done && "
        "chmod 600 u*")
    sb.cmd(["sh", "-c", script], check=True)
    p = sb.cmd(["bash", "-c", f"set -o pipefail; {ESCHOOL} list | head -1"], timeout=60)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert p.stdout.split() == ["USERNAME", "NAME", "ROLE", "CLASS", "MUST", "OFF", "LAST",
                                "LOGIN", "EMAIL"]


def test_list_json(school):
    sb, _ = school
    p = sb.eschool("list", "--json")
    assert p.returncode == 0, p.stderr
    objs = json_lines(p.stdout)
    assert sorted(o["username"] for o in objs) == ["alice", "bob"]
    assert all(set(o) == SHOW_KEYS for o in objs)
    objs = json_lines(sb.eschool("list", "--json", "--role", "student").stdout)
    assert [o["username"] for o in objs] == ["alice"]


def test_list_ignores_accounts_not_made_by_eschool(school):
    sb, _ = school
    sb.cmd(["useradd", "-m", "localuser"], check=True)
    objs = json_lines(sb.eschool("list", "--json").stdout)
    assert sorted(o["username"] for o in objs) == ["alice", "bob"]


def test_list_unknown_role(school):
    sb, _ = school
    assert_fails(sb.eschool("list", "--role", "janitor"), 65, "unknown role 'janitor'")


def test_list_reports_a_corrupt_state_and_shows_the_others(school):
    sb, _ = school
    sb.write("/var/lib/eschool/users/bob", "eschool-state 1\nemail=bob@school.example\n")
    p = sb.eschool("list", "--json")
    assert p.returncode == 65
    assert "/var/lib/eschool/users/bob" in p.stderr
    assert [o["username"] for o in json_lines(p.stdout)] == ["alice"]
    assert_fails(sb.eschool("show", "bob"), 65, "/var/lib/eschool/users/bob", "end")


def test_state_symlink_is_not_followed(school):
    sb, _ = school
    sb.cmd(["ln", "-s", "/var/lib/eschool/users/alice", "/var/lib/eschool/users/carol"],
           check=True)
    p = sb.eschool("show", "carol", "--json")
    assert p.returncode != 0 and "symbolic link" in p.stderr
    assert "alice" not in p.stdout


# ---- disable / enable ----

def test_disable_and_enable(school):
    sb, pw = school
    hash_before = sb.shadow_entry("alice")[1]
    p = sb.eschool("disable", "alice")
    assert p.returncode == 0, p.stderr
    assert "Account disabled: alice" in p.stdout
    sh = sb.shadow_entry("alice")
    assert sh[1] == "!" + hash_before, sh
    assert sh[7] == "1", "the account is not expired: SSH keys would still work"
    assert sb.state("alice")["disabled"] == "1"
    assert json_lines(sb.eschool("show", "alice", "--json").stdout)[0]["disabled"] is True
    assert not password_ok(sb, "alice", pw["alice"])
    assert password_ok(sb, "bob", pw["bob"])

    p = sb.eschool("enable", "alice")
    assert p.returncode == 0, p.stderr
    assert "Account enabled: alice" in p.stdout
    sh = sb.shadow_entry("alice")
    assert sh[1] == hash_before and sh[7] == ""
    assert sb.state("alice")["disabled"] == "0"
    assert password_ok(sb, "alice", pw["alice"])


def test_disable_enable_json(school):
    sb, _ = school
    p = sb.eschool("disable", "bob", "--json")
    assert p.returncode == 0 and json_lines(p.stdout) == [{"username": "bob", "disabled": True}]
    p = sb.eschool("enable", "bob", "--json")
    assert p.returncode == 0 and json_lines(p.stdout) == [{"username": "bob", "disabled": False}]


def test_reset_of_a_disabled_account_is_refused(school):
    sb, pw = school
    assert sb.eschool("disable", "alice").returncode == 0
    before = sb.snapshot()
    p = sb.eschool("reset", "alice")
    assert_fails(p, 65, "alice is disabled", "eschool enable alice")
    assert sb.snapshot() == before


# ---- users eschool does not manage ----

@pytest.mark.parametrize("command", ["show", "reset", "disable", "enable"])
def test_unknown_user(school, command):
    sb, _ = school
    before = sb.snapshot()
    assert_fails(sb.eschool(command, "ghost"), 67, "no account ghost managed by eschool")
    assert sb.snapshot() == before


@pytest.mark.parametrize("command", ["show", "reset", "disable", "enable"])
def test_linux_user_not_managed_by_eschool(school, command):
    sb, _ = school
    sb.cmd(["useradd", "-m", "localuser"], check=True)
    sb.cmd(["sh", "-c", "echo 'localuser:Local-Pass-1' | chpasswd"], check=True)
    before = sb.snapshot()
    for user in ("root", "localuser"):
        assert_fails(sb.eschool(command, user), 67, f"no account {user} managed by eschool")
    assert sb.snapshot() == before  # root and localuser were not locked or reset


def test_state_without_a_system_account(school):
    sb, _ = school
    sb.cmd(["userdel", "-r", "alice"], check=True)
    assert_fails(sb.eschool("reset", "alice"), 67,
                 "alice has eschool state but no Linux account", "eschool forget alice")


def test_bad_username_is_bad_data(school):
    sb, _ = school
    for command in ("show", "reset", "disable", "enable"):
        assert_fails(sb.eschool(command, "../alice"), 65, "invalid username")


def test_usage_errors(school):
    sb, _ = school
    for argv in (["reset"], ["show"], ["show", "alice", "--class", "2A"], ["list", "alice"],
                 ["disable"], ["show", "alice", "--frobnicate"], ["disable", "--class"]):
        p = sb.eschool(*argv)
        assert p.returncode == 64, (argv, p.returncode, p.stderr)
        assert "usage: eschool" in p.stderr


def test_not_root(school):
    sb, _ = school
    for argv in (["reset", "alice"], ["show", "alice"], ["list"], ["disable", "alice"]):
        p = sb.as_nobody([ESCHOOL] + argv)
        assert_fails(p, 77, "must be run as root")
    assert sb.state("alice")["disabled"] == "0"


def test_reset_refused_in_production_mode(school):
    sb, pw = school
    before = sb.snapshot()
    p = sb.eschool("reset", "alice", env={"DEBUG": "False"})
    assert_fails(p, 78, "production", "mail.from")  # no mail settings
    assert sb.snapshot() == before
    assert password_ok(sb, "alice", pw["alice"])
