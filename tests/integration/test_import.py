"""eschool import: rosters as school software exports them (RFC 4180, BOM,
CRLF, ';', accents), validation before anything is created, the credentials
sheet, and resuming after kill -9."""
import csv
import fcntl
import io
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter

import pytest

from sandbox import Sandbox
from conftest import (ESCHOOL, RANDOM_PW, USERNAME, assert_fails, hash_ok, json_lines,
                      new_sandbox, password_ok)

GIVEN = ["Élodie", "Zoë", "Chloé", "Loïc", "Maëlle", "Jérôme", "Anaïs", "Hélène", "François",
         "Noémie", "Gaëlle", "Benoît", "Cécile", "Agnès", "Jean-Luc", "Marie-Ève", "Léa",
         "Inès", "Thaïs", "Åsa", "Søren", "Œlig", "Ýrr", "Ángel", "Çağla", "Hugo"]
FAMILY = ["Dupré", "Lefèvre", "Müller", "Gérard", "Çelik", "O'Brien", "Le Gall", "Strauß",
          "García-López", "Brontë", "Nguyễn", "Dąbrowski", "Łukasz", "Šimek", "Martin"]


def roster_300(n=300, seed=3):
    """Rows of a realistic roster (dicts), no username: usernames are derived."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        given, family = rnd.choice(GIVEN), rnd.choice(FAMILY)
        if i % 7 == 0:
            name = f"{family}, {given}"           # family name first, with a comma
        elif i % 11 == 0:
            name = f'{given} "Zozo" {family}'     # quotes inside the name
        elif i % 13 == 0:
            name = f"{family.upper()} {given}"    # DUPRÉ Élodie, as Pronote exports
        else:
            name = f"{given} {family}"
        rows.append({
            "name": name,
            "email": f"eleve{i:03d}@school.example",
            "class": rnd.choice(["2nde A", "1ère B", "Tle S; option \"maths\"", ""]),
            "role": "teacher" if i % 25 == 0 else "student",
        })
    rows[0]["name"], rows[1]["name"] = "Élodie Dupré", "Zoë Lefèvre"
    return rows


def to_csv(rows, columns, sep=",", bom=False, crlf=False):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n" if crlf else "\n",
                   quoting=csv.QUOTE_MINIMAL)
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return ("\ufeff" if bom else "") + buf.getvalue()


def table(stdout):
    """username -> password from import's human output."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and USERNAME.fullmatch(parts[0]) and RANDOM_PW.fullmatch(parts[1]):
            assert parts[0] not in out, f"{parts[0]} printed twice"
            out[parts[0]] = parts[1]
    return out


def shown_name(name):
    """The name eschool greets a roster's name by: "Dupré, Élodie" and
    "DUPRÉ Élodie" are "Élodie Dupré" (casefold: "STRAUß" is written
    "STRAUSS" in capitals, and comes back "Strauss")."""
    m = re.fullmatch(r"([^,\"]+), ([^,\"]+)", name)
    if m:
        return f"{m.group(2)} {m.group(1)}"
    words = name.split()
    caps = [w for w in words if w.upper() == w and sum(c.isalpha() for c in w) >= 2]
    if caps and len(caps) < len(words) and words[:len(caps)] == caps:
        return " ".join(words[len(caps):] + [w.title() for w in caps])
    return name


def gecos_of(name):
    return name.replace(":", " ").replace(",", " ").replace("=", " ")


def new_users(sb, before):
    return [u for u in sb.users_in() if u not in before]


def write(sb, name, text):
    path = sb.private(name)
    sb.write(path, text)
    return path


def consistency(sb):
    """What shadow's own checkers (pwck, grpck: read-only) say of the files."""
    return [(p.returncode, p.stdout, p.stderr)
            for p in (sb.cmd(["pwck", "-r", "-q"]), sb.cmd(["grpck", "-r"]))]


def states_by_email(sb, users):
    return {sb.state(u)["email"]: u for u in users}


# ---- a 300-row roster, imported once (module scope), examined by several tests ----

@pytest.fixture(scope="module")
def big():
    with new_sandbox() as sb:
        rows = roster_300()
        path = write(sb, "roster.csv",
                     to_csv(rows, ["name", "email", "class", "role"], bom=True, crlf=True))
        before = sb.users_in()
        checks = consistency(sb)
        sheet = sb.private("sheet-2A.csv")
        p = sb.eschool("import", path, "--output", sheet)
        yield {"sb": sb, "rows": rows, "path": path, "before": before, "proc": p,
               "checks": checks,
               "sheet": sheet, "creds": table(p.stdout)}


def test_big_import_creates_every_account(big):
    sb, p = big["sb"], big["proc"]
    assert p.returncode == 0, p.stderr[-2000:]
    assert "300 account(s) created" in p.stdout
    users = new_users(sb, big["before"])
    assert len(users) == 300 and len(set(users)) == 300
    passwd, shadow = sb.read("/etc/passwd"), sb.read("/etc/shadow")
    group, gshadow = sb.read("/etc/group"), sb.read("/etc/gshadow")
    shadow_users = [l.split(":")[0] for l in shadow.splitlines()]
    group_names = [l.split(":")[0] for l in group.splitlines()]
    gshadow_names = [l.split(":")[0] for l in gshadow.splitlines()]
    states = sb.listdir("/var/lib/eschool/users")
    for u in users:
        assert USERNAME.fullmatch(u) and u.isascii(), u
        assert shadow_users.count(u) == 1, u
        assert group_names.count(u) == 1 and gshadow_names.count(u) == 1, u  # private group
        assert u in states, u
    assert sorted(states) == sorted(users)
    # every account has a usable (not locked) yescrypt hash
    for line in shadow.splitlines():
        if line.split(":")[0] in users:
            assert line.split(":")[1].startswith("$y$"), line
    # ids as useradd gives them: unique, private group with the same name
    entries = {l.split(":")[0]: l.split(":") for l in passwd.splitlines()}
    groups = {l.split(":")[0]: l.split(":") for l in group.splitlines()}
    uids = Counter(e[2] for e in entries.values())
    gids = Counter(g[2] for g in groups.values())
    for u in users:
        assert uids[entries[u][2]] == 1, f"{u} shares its uid"
        assert gids[groups[u][2]] == 1, f"{u}'s group shares its gid"
        assert int(entries[u][2]) >= 1000 and groups[u][2] == entries[u][3], u
    # shadow's checkers find nothing new
    assert consistency(sb) == big["checks"]


def test_big_import_prints_every_password(big):
    sb, creds = big["sb"], big["creds"]
    assert sorted(creds) == sorted(new_users(sb, big["before"]))
    # a sample with crypt (yescrypt costs ~12 ms a check), accented names included
    by_email = states_by_email(sb, creds)
    sample = [by_email["eleve000@school.example"], by_email["eleve001@school.example"]]
    # the hashing pool holds 256 credentials at a time: the rows after
    # those reuse its slots
    sample += [by_email[f"eleve{i}@school.example"] for i in (255, 256, 257, 298, 299)]
    sample += random.Random(1).sample(sorted(creds), 28)
    for u in sample:
        assert password_ok(sb, u, creds[u]), u
    assert not password_ok(sb, sample[0], creds[sample[1]])


def test_big_import_records_the_roster(big):
    sb, rows = big["sb"], big["rows"]
    users = new_users(sb, big["before"])
    by_email = states_by_email(sb, users)
    assert sorted(by_email) == sorted(r["email"] for r in rows)
    assert by_email["eleve000@school.example"] == "edupre"      # Élodie Dupré
    assert by_email["eleve001@school.example"] == "zlefevre"    # Zoë Lefèvre
    group = {l.split(":")[0]: l.split(":")[3].split(",") for l in sb.read("/etc/group").splitlines()}
    for r in rows:
        u = by_email[r["email"]]
        st = sb.state(u)
        assert st["name"].casefold() == shown_name(r["name"]).casefold(), r["name"]
        assert st.get("class", "") == r["class"]
        assert st["role"] == r["role"]
        assert st["must_change"] == "1" and st["delivery"] == "printed"
        assert int(st["initial_expires"]) - int(st["created"]) == 14 * 86400
        assert u in group[r["role"] + "s"]
        entry = sb.passwd_entry(u)
        assert entry[4] == gecos_of(st["name"]), (entry, r["name"])
        assert entry[5] == f"/home/{u}" and entry[6] == "/bin/bash"


def test_big_import_homes_from_skel(big):
    sb = big["sb"]
    skel = sb.listdir("/etc/skel")
    users = new_users(sb, big["before"])
    for u in random.Random(2).sample(users, 10):
        entry = sb.passwd_entry(u)
        mode, uid, gid, kind = sb.stat(f"/home/{u}")
        assert kind == "directory" and (uid, gid) == (int(entry[2]), int(entry[3]))
        assert sb.listdir(f"/home/{u}") == skel
    assert sb.cmd(["test", "-d", "/home/edupre"]).returncode == 0


def test_big_import_sheet(big):
    sb, creds = big["sb"], big["creds"]
    assert sb.stat(big["sheet"])[:3] == (0o600, 0, 0)
    raw = sb.read(big["sheet"]).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert {"username", "password"} <= set(rows[0])
    assert {r["username"]: r["password"] for r in rows} == creds


def test_big_import_again_creates_nothing(big):
    sb = big["sb"]
    before = sb.snapshot()
    p = sb.eschool("import", big["path"])
    assert p.returncode == 0, p.stderr
    assert "0 account(s) created, 0 completed, 300 already done" in p.stdout
    assert table(p.stdout) == {}
    assert sb.snapshot() == before
    p = sb.eschool("import", big["path"], "--json")
    assert p.returncode == 0 and p.stdout == ""


def test_import_300_json():
    with new_sandbox() as sb:
        rows = roster_300(seed=5)
        path = write(sb, "roster.csv", to_csv(rows, ["name", "email", "class", "role"]))
        p = sb.eschool("import", "--json", path)
        assert p.returncode == 0, p.stderr[-2000:]
        objs = json_lines(p.stdout)
        assert len(objs) == 300
        assert all(set(o) == {"username", "password", "delivery"} for o in objs)
        assert all(o["delivery"] == "printed" for o in objs)
        assert len({o["username"] for o in objs}) == 300
        assert "300 account(s) created" in p.stderr  # people's text goes to stderr
        for o in objs[::30]:
            assert password_ok(sb, o["username"], o["password"])


def test_the_account_files_are_rewritten_line_for_line(sandbox):
    """The import streams each account file (issue 20: memory is the chunk's,
    not the files'): FILE- is the file as it was, byte for byte, and the
    new file keeps every line in its place and as it was, but the lines the
    batch must change (the first line of a role group it adds to), with the
    new accounts' lines at the end. A last line without its newline gets
    one; a name twice is changed at its first line only; a role group of
    6,000 members (36 KB: longer than two of the buffers the second pass
    streams the file through) is read and written whole."""
    sb = sandbox
    for g in ("teachers", "students"):
        sb.cmd(["sh", "-c", f"getent group {g} >/dev/null || groupadd -r {g}"], check=True)
    members = ",".join(f"t{i:04d}" for i in range(6000))
    assert len(members) > 2 * 16384
    group = sb.read("/etc/group")
    group = re.sub(r"(?m)^(teachers:[^:]*:[0-9]+:)$", lambda m: m.group(1) + members, group)
    assert members in group
    planted = {
        "/etc/group": (group + "teachers:x:59998:dupmember").encode(),
        "/etc/shadow": sb.read("/etc/shadow").rstrip("\n").encode(),
    }
    for path, data in planted.items():
        with open(sb.host_view(path), "wb") as f:  # owner and mode kept
            f.write(data)
    before = {path: os.stat(sb.host_view(path)) for path in planted}
    path = write(sb, "r.csv", "username,name,email,role\n"
                 "alice,Alice A,a@school.example,teacher\nbob,Bob B,b@school.example,student\n")
    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    for path, data in planted.items():
        with open(sb.host_view(path + "-"), "rb") as f:
            assert f.read() == data, path + "- is not the file as it was"
        # FILE is a new file with the old one's owner and mode, FILE- a copy:
        # never a hard link to FILE, which shadow's next backup (fopen "w"
        # of FILE-) would truncate, emptying the live file until its rename
        old, backup, now = before[path], os.stat(sb.host_view(path + "-")), \
            os.stat(sb.host_view(path))
        assert now.st_ino != old.st_ino and backup.st_ino != now.st_ino, path
        assert now.st_nlink == 1 and backup.st_nlink == 1, path
        assert (now.st_mode, now.st_uid, now.st_gid) == (old.st_mode, old.st_uid, old.st_gid)
    old = planted["/etc/group"].decode().split("\n")
    new = sb.read("/etc/group")
    assert new.endswith("\n")
    new = new[:-1].split("\n")
    changed = [i for i in range(len(old)) if new[i] != old[i]]
    first = {name: next(i for i, l in enumerate(old) if l.startswith(name + ":"))
             for name in ("teachers", "students")}
    assert changed == sorted(first.values()), (changed, first)
    assert new[first["teachers"]] == old[first["teachers"]] + ",alice"
    assert new[first["students"]] in (old[first["students"]] + ",bob",
                                      old[first["students"]] + "bob")
    assert new[len(old) - 1] == "teachers:x:59998:dupmember"
    assert [l.split(":")[0] for l in new[len(old):]] == ["alice", "bob"]
    old = planted["/etc/shadow"].decode().split("\n")
    new = sb.read("/etc/shadow")
    assert new.endswith("\n")
    new = new[:-1].split("\n")
    assert new[:len(old)] == old
    assert [l.split(":")[0] for l in new[len(old):]] == ["alice", "bob"]


def test_import_makes_the_accounts_useradd_makes():
    """An imported account looks like one made by add (useradd -m) and the
    next useradd does not collide with it."""
    with new_sandbox() as sb:
        checks = consistency(sb)
        assert sb.eschool("add", "alice", "--email", "a@school.example", "--name", "Alice A",
                          "--role", "teacher").returncode == 0
        path = write(sb, "r.csv", "username,name,email,role\nbob,Bob B,b@school.example,teacher\n")
        assert sb.eschool("import", path).returncode == 0
        a, b = sb.passwd_entry("alice"), sb.passwd_entry("bob")
        assert b[1:2] + b[5:] == ["x", "/home/bob", "/bin/bash"] and a[1] == "x"
        assert int(b[2]) != int(a[2]) and b[3] == b[2]
        sa, sbb = sb.shadow_entry("alice"), sb.shadow_entry("bob")
        assert sa[2:] == sbb[2:], (sa, sbb)  # last change, aging, expiry
        for path_ in ("/etc/group", "/etc/gshadow"):
            t = sb.entry(path_, "teachers")
            assert t[3].split(",") == ["alice", "bob"], t
            assert sb.entry(path_, "bob") is not None
        for path_ in ("/etc/subuid", "/etc/subgid"):
            if sb.exists(path_) and sb.entry(path_, "alice") is not None:
                ea, eb = sb.entry(path_, "alice"), sb.entry(path_, "bob")
                assert eb is not None and eb[2] == ea[2], (ea, eb)
                assert int(eb[1]) >= int(ea[1]) + int(ea[2]), "overlapping subordinate ids"
        ma, mb = sb.stat("/home/alice"), sb.stat("/home/bob")
        assert ma[0] == mb[0] and mb[1:3] == (int(b[2]), int(b[3]))
        assert sb.listdir("/home/alice") == sb.listdir("/home/bob")
        sb.cmd(["useradd", "-m", "carol"], check=True)
        assert sb.eschool("add", "dave", "--email", "d@school.example").returncode == 0
        uids = [int(sb.passwd_entry(u)[2]) for u in ("alice", "bob", "carol", "dave")]
        assert len(set(uids)) == 4, uids
        assert consistency(sb) == checks


def test_quiet_import_still_shows_the_passwords(sandbox):
    """-q: "Print only what is asked for (credentials, JSON) and errors" (eschool(8))."""
    sb = sandbox
    path = write(sb, "r.csv", "username,email\nq1,q1@school.example\nq2,q2@school.example\n")
    p = sb.eschool("-q", "import", path)
    assert p.returncode == 0, p.stderr
    creds = table(p.stdout)
    assert sorted(creds) == ["q1", "q2"], (
        "-q import created the accounts and recorded them as printed, but showed no "
        f"password: stdout={p.stdout!r}")
    assert password_ok(sb, "q1", creds["q1"])
    assert "account(s) created" not in p.stdout


def test_accounts_made_by_add_are_skipped(sandbox):
    sb = sandbox
    p = sb.eschool("add", "alice", "--email", "alice@school.example", "--json")
    pw = json_lines(p.stdout)[0]["password"]
    path = write(sb, "r.csv", "username,email\nalice,alice@school.example\nbob,bob@school.example\n")
    p = sb.eschool("import", "--json", path)
    assert p.returncode == 0, p.stderr
    assert [o["username"] for o in json_lines(p.stdout)] == ["bob"]
    assert "1 already done" in p.stderr
    assert password_ok(sb, "alice", pw)
    # the same username for someone else is an error on its line
    path = write(sb, "r2.csv", "username,email\ncarl,carl@school.example\nalice,other@school.example\n")
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 65, f"{path}:3:", "alice already exists")
    assert sb.snapshot() == before


def test_roles_policies_and_columns(sandbox):
    sb = sandbox
    sb.write("/etc/eschool/eschool.conf", "[general]\nmode = debug\n[policy]\n"
             "password_hash = sha512\n[role teacher]\npassword_length = 16\n"
             "[role staff]\ngroups = staff\n")
    path = write(sb, "r.csv", "username,name,email,role,lang,parent_email,class\n"
                 "s1,Sam Un,s1@school.example,,en,mum@home.example,6e B\n"
                 "t1,Tom Deux,t1@school.example,teacher,fr,,\n"
                 "g1,Guy Trois,g1@school.example,staff,,,\n")
    p = sb.eschool("import", "--json", path)
    assert p.returncode == 0, p.stderr
    pw = {o["username"]: o["password"] for o in json_lines(p.stdout)}
    assert len(pw["s1"]) == 12 and len(pw["t1"]) == 16 and len(pw["g1"]) == 12
    for u in pw:
        assert sb.shadow_entry(u)[1].startswith("$6$") and password_ok(sb, u, pw[u])
    st = sb.state("s1")
    assert (st["role"], st["lang"], st["parent_email"], st["class"]) == \
        ("student", "en", "mum@home.example", "6e B")
    assert sb.state("t1")["lang"] == "fr" and "lang" not in sb.state("g1")
    assert "g1" in sb.group_entry("staff")[3].split(",")
    assert "t1" in sb.group_entry("teachers")[3].split(",")


def test_two_imports_at_once_hand_out_working_passwords(sandbox):
    """Two admins (or a cron job and an admin) run the same import at the same
    time: every password shown must open its account; an account shown by
    both runs got two passwords of which only one can work."""
    sb = sandbox
    for g in ("students", "teachers"):
        sb.cmd(["groupadd", "-r", g], check=True)
    rows = [{"username": f"c{i:03d}", "email": f"c{i:03d}@school.example"} for i in range(200)]
    path = write(sb, "r.csv", to_csv(rows, ["username", "email"]))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    procs = [sb.popen([ESCHOOL, "import", "--json", path], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    shown = [{o["username"]: o["password"] for o in json_lines(out)} for out, _ in outs]
    assert all(p.returncode in (0, 75) for p in procs), [(p.returncode, e) for p, (_, e) in
                                                          zip(procs, outs)]
    twice = sorted(set(shown[0]) & set(shown[1]))
    shadow = {l.split(":")[0]: l.split(":")[1] for l in sb.read("/etc/shadow").splitlines()}
    wrong = [u for u in twice[:10] if not (hash_ok(shadow[u], shown[0][u])
                                      and hash_ok(shadow[u], shown[1][u]))]
    assert not twice, (f"{len(twice)} accounts were shown by both imports, each with its own "
                       f"password; {len(wrong)} of those checked have a wrong one (e.g. {twice[:3]})")
    assert sorted(set(shown[0]) | set(shown[1])) == [r["username"] for r in rows] or \
        any(p.returncode == 75 for p in procs)
    for run in shown:
        for u in random.Random(6).sample(sorted(run), min(10, len(run))):
            assert hash_ok(shadow[u], run[u]), u
    users = sb.users_in()
    assert len(users) == len(set(users)), "an account is in /etc/passwd twice"


# ---- usernames ----

def test_derived_usernames():
    with new_sandbox() as sb:
        rows = [("Élodie Dupré", "e1@school.example"), ("Élodie Dupré", "e2@school.example"),
                ("DUPRÉ Élodie", "e3@school.example"), ("Jean-Luc Le Gall", "jl@school.example"),
                ("Zoë Lefèvre", "z@school.example"), ("Martin, Jean-Luc", "jm@school.example"),
                ("Rob Oot", "ro@school.example"), ("Œdipe Strauß", "os@school.example")]
        path = write(sb, "r.csv", "name,email\n" + "".join(f"{n},{e}\n" if "," not in n
                                                            else f'"{n}",{e}\n' for n, e in rows))
        p = sb.eschool("import", "--dry-run", "--json", path)
        assert p.returncode == 0, p.stderr
        plan = [(o["line"], o["username"], o["action"]) for o in json_lines(p.stdout)]
        expected = ["edupre", "edupre2", "edupre3", "jlegall", "zlefevre", "jmartin",
                    "root2", "ostrauss"]  # root is taken by the system
        assert plan == [(i + 2, u, "create") for i, u in enumerate(expected)]
        p = sb.eschool("import", "--json", path)
        assert p.returncode == 0, p.stderr
        assert [o["username"] for o in json_lines(p.stdout)] == expected
        for u, (name, email) in zip(expected, rows):
            assert sb.state(u)["email"] == email and sb.state(u)["name"] == shown_name(name)
        assert sb.passwd_entry("root")[:3] == ["root", "x", "0"]
        # a second roster with the same person again: the existing account, not edupre4
        p = sb.eschool("import", path)
        assert p.returncode == 0 and "8 already done" in p.stdout


def test_username_column_and_empty_cells():
    with new_sandbox() as sb:
        path = write(sb, "r.csv", "Username,Name,EMAIL,Role\nalice,Alice Martin,a@school.example,"
                     "\n,Bruno Petit,b@school.example,teacher\n")
        p = sb.eschool("import", "--json", path)
        assert p.returncode == 0, p.stderr
        assert sorted(o["username"] for o in json_lines(p.stdout)) == ["alice", "bpetit"]
        assert sb.state("alice")["role"] == "student"   # empty role: the default
        assert "bpetit" in sb.group_entry("teachers")[3].split(",")


# ---- formats ----

def test_semicolon_separated_crlf_bom():
    with new_sandbox() as sb:
        text = ('\ufeffname;email;class\r\n'
                'Martin, Jean-Luc;jl@school.example;"1ère; B"\r\n'
                '"Zoë ""Zozo"" Lefèvre";zoe@school.example;2nde A\r\n')
        path = write(sb, "r.csv", text)
        p = sb.eschool("import", "--json", path)
        assert p.returncode == 0, p.stderr
        users = [o["username"] for o in json_lines(p.stdout)]
        assert len(users) == 2 and users[0] == "jmartin", users
        st = sb.state(users[0])
        assert (st["name"], st["class"]) == ("Jean-Luc Martin", "1ère; B")
        assert sb.state(users[1])["email"] == "zoe@school.example"
        assert sb.state(users[1])["name"] == 'Zoë "Zozo" Lefèvre'


def test_quoted_fields_and_blank_lines():
    with new_sandbox() as sb:
        text = ('username,name,email,class\n\n'
                'ldupont,"Dupont, ""Lulu"" Louise",lulu@school.example,"3e ""A"", groupe 2"\n'
                '\n')
        path = write(sb, "r.csv", text)
        p = sb.eschool("import", path)
        assert p.returncode == 0, p.stderr
        st = sb.state("ldupont")
        assert st["name"] == 'Dupont, "Lulu" Louise'
        assert st["class"] == '3e "A", groupe 2'


def test_old_mac_line_endings_and_a_quoted_line_break():
    """Excel's "CSV (Macintosh)" ends lines with a lone CR; the rows are
    counted before they are read (the array is made once), which must find
    every one of them, blank lines and a line break inside quotes aside."""
    with new_sandbox() as sb:
        rows = [f's{i:02d},Eleve {i},s{i:02d}@school.example' for i in range(30)]
        rows[7] = 's07,"Eleve\r7 bis",s07@school.example'  # refused: a control character
        text = "username,name,email\r\r" + "\r".join(rows) + "\r\r"
        path = write(sb, "r.csv", text)
        p = sb.eschool("import", "--keep-going", "--json", path)
        assert p.returncode == 65, p.stderr
        users = sorted(o["username"] for o in json_lines(p.stdout))
        assert users == [f"s{i:02d}" for i in range(30) if i != 7], users
        assert "r.csv:10:" in p.stderr, p.stderr  # the bad row, on its own line
        assert sb.state("s29")["name"] == "Eleve 29"


# ---- dry run ----

def test_dry_run_changes_nothing():
    with new_sandbox() as sb:
        rows = [{"username": f"u{i}", "name": f"User {i}", "email": f"u{i}@school.example"}
                for i in range(5)]
        path = write(sb, "r.csv", to_csv(rows, ["username", "name", "email"]))
        before = sb.snapshot()
        p = sb.eschool("import", "--dry-run", path, "--output", sb.private("sheet.csv"))
        assert p.returncode == 0, p.stderr
        for i in range(5):
            assert re.search(rf"^{re.escape(path)}:{i + 2}\s+u{i}\s+student\s+create\s+User {i}$",
                             p.stdout, re.M), p.stdout
        assert "dry run: 5 to create" in p.stdout and "nothing was changed" in p.stdout
        assert table(p.stdout) == {}
        assert sb.snapshot() == before
        assert not sb.exists(sb.private("sheet.csv"))
        # after the real import, the plan says they exist
        assert sb.eschool("import", path).returncode == 0
        p = sb.eschool("import", "--dry-run", "--json", path)
        assert {o["action"] for o in json_lines(p.stdout)} == {"skip"}


def test_dry_run_reports_bad_rows():
    with new_sandbox() as sb:
        path = write(sb, "r.csv", "username,email\nok1,ok1@school.example\nBAD,b@school.example\n")
        before = sb.snapshot()
        p = sb.eschool("import", "--dry-run", path)
        assert_fails(p, 65, f"{path}:3: invalid username 'BAD'")
        assert "1 bad row(s)" in p.stdout
        assert sb.snapshot() == before


# ---- bad rows: nothing is created, the line is named ----

def rows_with(n, bad_line, bad):
    """n good rows (lines 2..n+1) with line `bad_line` replaced by `bad`."""
    lines = ["username,name,email,class"] + [f"s{i},Student {i},s{i}@school.example,2A"
                                             for i in range(2, n + 2)]
    lines[bad_line - 1] = bad
    return "\n".join(lines) + "\n"


BAD_ROWS = [
    pytest.param("s7,Student 7,not-an-email,2A", "invalid email address 'not-an-email'",
                 id="email"),
    pytest.param("s7,Student 7,s7@school.example,2A,extra", "expected 4 fields", id="fields"),
    pytest.param("S7,Student 7,s7@school.example,2A", "invalid username 'S7'", id="username"),
    pytest.param("root,Student 7,s7@school.example,2A", "root already exists", id="existing"),
    pytest.param("adm,Student 7,s7@school.example,2A", "adm", id="group-name"),
    pytest.param('s7,"Student\r7",s7@school.example,2A', "control character", id="CR-name"),
    pytest.param('s7,Student 7,s7@school.example,"2\nA"', "control character", id="LF-class"),
]


@pytest.mark.parametrize("bad,needle", BAD_ROWS)
def test_bad_row_aborts_before_anything_is_created(sandbox, bad, needle):
    sb = sandbox
    path = write(sb, "r.csv", rows_with(10, 7, bad))
    before = sb.snapshot()
    p = sb.eschool("import", path)
    assert_fails(p, 65, f"{path}:7: ", needle, "nothing was created", "--keep-going")
    assert sb.snapshot() == before


def test_username_of_a_role_group(sandbox):
    """A row named like a role group the import is about to create: useradd
    (and so `add`) refuses such a name; import must not make an account whose
    primary group is the role group every student is in."""
    sb = sandbox
    # refused as bad data before anything is made (useradd would refuse it later)
    assert_fails(sb.eschool("add", "teachers", "--email", "t@school.example",
                            "--role", "teacher"), 65, "teachers", "role's group")
    path = write(sb, "r.csv", "username,email\nanna,anna@school.example\n"
                 "students,s@school.example\n")
    before = sb.snapshot()
    p = sb.eschool("import", path)
    entry = sb.passwd_entry("students")
    shared = entry is not None and sb.group_entry("students") is not None and \
        entry[3] == sb.group_entry("students")[2]
    assert not shared, f"user students has the role group as primary group: {entry}"
    assert_fails(p, 65, f"{path}:3:", "students")
    assert sb.snapshot() == before


def test_unknown_role_in_a_row(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "username,email,role\na1,a1@school.example,student\n"
                 "a2,a2@school.example,janitor\n")
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 65, f"{path}:3: unknown role 'janitor'")
    assert sb.snapshot() == before


def test_keep_going_creates_the_good_rows(sandbox):
    sb = sandbox
    lines = ["username,name,email"] + [f"k{i},K {i},k{i}@school.example" for i in range(2, 12)]
    lines[2] = "k3,K 3,k3-at-school"        # line 3
    lines[5] = "K6,K 6,k6@school.example"   # line 6
    path = write(sb, "r.csv", "\n".join(lines) + "\n")
    before = sb.users_in()
    p = sb.eschool("import", "--keep-going", path)
    assert p.returncode == 65, p.stderr
    assert f"{path}:3: invalid email address 'k3-at-school'" in p.stderr
    assert f"{path}:6: invalid username 'K6'" in p.stderr
    good = [f"k{i}" for i in range(2, 12) if i not in (3, 6)]
    assert sorted(new_users(sb, before)) == sorted(good)
    creds = table(p.stdout)
    assert sorted(creds) == sorted(good)
    assert password_ok(sb, "k2", creds["k2"]) and password_ok(sb, "k11", creds["k11"])
    assert sb.state_text("k3") is None and sb.state_text("K6") is None


def test_duplicate_usernames_name_both_lines(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "username,email\nzed,z1@school.example\nyves,y@school.example\n"
                 "zed,z2@school.example\n")
    before = sb.snapshot()
    p = sb.eschool("import", path)
    assert_fails(p, 65, f"{path}:4:", "zed", "line 2")
    assert sb.snapshot() == before


def test_same_person_twice_without_username(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "name,email\nAnn Lee,ann@school.example\nAnn Lee,ann@school.example\n")
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 65, f"{path}:3:", "line 2")
    assert sb.snapshot() == before


def test_not_utf8_is_windows_1252(sandbox):
    """Bytes that are not UTF-8 are Windows-1252, what Excel writes; said
    to be UTF-8 (--encoding), they are refused with the line."""
    sb = sandbox
    path = sb.private("latin1.csv")
    sb.cmd(["sh", "-c", 'mkdir -p "$(dirname "$1")"; printf "name,email\\nAnn Lee,a@school.example\\n'
            'Z\\351bulon Dupr\\351,z@school.example\\n" > "$1"', "sh", path], check=True)
    before = sb.snapshot()
    for extra in ([], ["--keep-going"], ["--dry-run"]):
        assert_fails(sb.eschool("import", path, "--encoding", "utf-8", *extra), 65,
                     f"{path}:3:", "UTF-8", "--encoding")
    assert sb.snapshot() == before
    p = sb.eschool("import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    assert f"{path}: Windows-1252, separator ','" in p.stderr
    assert "Zébulon Dupré" in p.stdout
    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    assert sb.state("zdupre")["name"] == "Zébulon Dupré"


@pytest.mark.parametrize("header,needle", [
    ("email,class", "needs a username, a name, or a last name column"),
    ("username,email,Email", "columns 'email' and 'Email' both give the email"),
])
def test_bad_header(sandbox, header, needle):
    sb = sandbox
    ncol = header.count(",") + 1
    path = write(sb, "r.csv", header + "\n" + ",".join(["x1", "x1@school.example", "z"][:ncol]) + "\n")
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 65, f"{path}:1:", needle)
    assert sb.snapshot() == before


def test_columns_used_by_nothing(sandbox):
    """Columns no field reads are listed once, all of them, and ignored;
    --strict refuses them, --map says what one is."""
    sb = sandbox
    path = write(sb, "r.csv", "username;Téléphone;email;Sexe;Option 1\n"
                              "x1;0600000000;x1@school.example;F;Latin\n")
    before = sb.snapshot()
    p = sb.eschool("import", "--strict", path)
    assert_fails(p, 65, f"{path}:1: 3 column(s) used by nothing: 'Téléphone', 'Sexe', 'Option 1'",
                 "--map")
    assert sb.snapshot() == before
    p = sb.eschool("import", "--dry-run", "--strict", "--map", "Téléphone=ignore",
                   "--map", "sexe=ignore, OPTION 1 = class", path)
    assert p.returncode == 0, p.stderr
    assert "'Option 1' -> class" in p.stderr and "used by nothing" not in p.stderr
    p = sb.eschool("import", path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("used by nothing") == 1
    assert "3 column(s) used by nothing, ignored: 'Téléphone', 'Sexe', 'Option 1'" in p.stderr
    assert "class" not in sb.state("x1")
    # a map that names no field is a usage error, before anything
    assert_fails(sb.eschool("import", "--map", "Sexe=gender", path), 64, "'gender' is not a field")


def test_line_numbers_count_line_breaks_inside_quotes(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", 'username,name,email,class\n'
                 'a1,A,a1@school.example,"2nde A\n(groupe 2)"\n'   # lines 2-3
                 'b1,B,b1-at-school,1A\n')                          # line 4
    p = sb.eschool("import", "--dry-run", path)
    assert f"{path}:4: invalid email address 'b1-at-school'" in p.stderr
    assert f"{path}:2: column 'class' contains a control character" in p.stderr


def test_control_character_at_the_end_of_a_quoted_cell(sandbox):
    """A CR or tab inside quotes is refused, not trimmed away."""
    sb = sandbox
    path = write(sb, "r.csv", 'name,email\nBob,"bob@school.example\r"\n'
                 'Ann,"ann@school.example\t"\n')
    before = sb.snapshot()
    p = sb.eschool("import", path)
    assert_fails(p, 65, f"{path}:2: column 'email' contains a control character",
                 f"{path}:3: column 'email' contains a control character")
    assert sb.snapshot() == before


def test_unterminated_quote(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", 'username,name,email\nok,Ok,ok@school.example\n'
                 'zz,"Zed,zz@school.example\n')
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 65, f"{path}:3:", "not closed")
    assert sb.snapshot() == before


def test_missing_and_empty_files(sandbox):
    sb = sandbox
    assert_fails(sb.eschool("import", sb.private("nope.csv")), 65, "nope.csv")
    assert_fails(sb.eschool("import", write(sb, "empty.csv", "")), 65, "empty")
    assert_fails(sb.eschool("import"), 64, "usage")
    assert_fails(sb.eschool("import", "a.csv", "--frobnicate"), 64, "unknown option")


# ---- the credentials sheet ----

def test_sheet_is_private_and_neutralises_formulas(sandbox):
    sb = sandbox
    text = ('username,name,email,class\n'
            'f1,"=HYPERLINK(""http://evil.example"",""x"")",f1@school.example,2A\n'
            'f2,+33 6 12 34 56 78,f2@school.example,-1\n'
            'f3,@SUM(A1),f3@school.example,=1+1\n'
            'f4,Élodie Dupré,f4@school.example,1ère B\n')
    path = write(sb, "r.csv", text)
    sheet = sb.private("sheet.csv")
    p = sb.eschool("import", path, "--output", sheet)
    assert p.returncode == 0, p.stderr
    assert sheet in p.stdout
    assert sb.stat(sheet)[:3] == (0o600, 0, 0)
    rows = list(csv.DictReader(io.StringIO(sb.read(sheet).lstrip("\ufeff"))))
    by_user = {r["username"]: r for r in rows}
    assert sorted(by_user) == ["f1", "f2", "f3", "f4"]
    for r in rows:
        for field, value in r.items():
            assert not value or value[0] not in "=+-@", f"{field}={value!r} would run as a formula"
    assert by_user["f1"]["name"].lstrip("'") == '=HYPERLINK("http://evil.example","x")'
    assert by_user["f3"]["class"].lstrip("'") == "=1+1"
    assert by_user["f4"]["name"] == "Élodie Dupré" and by_user["f4"]["class"] == "1ère B"
    creds = table(p.stdout)
    for u, r in by_user.items():
        assert r["password"] == creds[u]
    assert password_ok(sb, "f4", by_user["f4"]["password"])


def test_sheet_never_overwrites(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "username,email\nalice,a@school.example\n")
    sheet = write(sb, "sheet.csv", "passwords of last year\n")
    before = sb.snapshot()
    p = sb.eschool("import", path, "--output", sheet)
    assert_fails(p, 73, sheet, "exists")
    assert sb.read(sheet) == "passwords of last year\n"
    assert sb.snapshot() == before


def test_sheet_is_not_announced_when_not_written(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "username,email\nalice,a@school.example\n")
    assert sb.eschool("import", path).returncode == 0
    sheet = sb.private("second-sheet.csv")
    p = sb.eschool("import", path, "--output", sheet)
    assert p.returncode == 0, p.stderr
    assert "1 already done" in p.stdout
    assert sb.exists(sheet) or sheet not in p.stdout, (
        f"the output names a credentials sheet that was not written: {p.stdout!r}")


# ---- progress bar ----

def test_progress_bar_on_a_terminal_only(sandbox):
    sb = sandbox
    path = write(sb, "r.csv", "username,email\n" + "".join(
        f"p{i},p{i}@school.example\n" for i in range(20)))
    master, slave = os.openpty()
    try:
        p = sb.popen([ESCHOOL, "import", path], stdout=subprocess.PIPE, stderr=slave,
                     env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        os.close(slave)
        out = p.stdout.read()
        assert p.wait(timeout=120) == 0
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
    finally:
        os.close(master)
    assert b"[" + b"#" * 30 + b"] 20/20 accounts" in tty, tty
    assert len(table(out.decode())) == 20
    # not a terminal: no bar
    path2 = write(sb, "r2.csv", "username,email\nq1,q1@school.example\n")
    p = sb.eschool("import", path2)
    assert p.returncode == 0 and "1/1" not in p.stderr and "#" not in p.stderr


# ---- kill -9 in the middle, then the same command again ----
#
# Where the kill lands is made deterministic, without timing: either eschool
# is killed once it has written some state files (it is then still hashing
# the first chunk), or its stdout is a pipe nobody reads, shrunk with
# F_SETPIPE_SZ (and possibly filled beforehand), so that eschool blocks in
# write(2) on a credential at a known point: it is killed there.

F_SETPIPE_SZ = 1031
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def wait_for(cond, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def count_files(path):
    try:
        return len(os.listdir(path))
    except FileNotFoundError:
        return 0


def blocked_writing_stdout(pid):
    """True when the process sleeps in write(2) on a full pipe."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
        with open(f"/proc/{pid}/syscall") as f:
            syscall = f.read().split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "pipe_write" in wchan or syscall[:2] == ["1", "0x1"]  # x86-64 write(1, ...)


def kill9(p):
    pid = Sandbox.child_pid(p)  # nsenter forks eschool into the sandbox
    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() == "eschool"
    os.kill(pid, signal.SIGKILL)
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL, "the import ended before it could be killed"


def import_killed_after_states(sb, roster, n_states):
    out = sb.private("run1.out")
    p = sb.popen(["sh", "-c", 'exec "$0" "$@" > "$OUT"', ESCHOOL, "import", "--json", roster],
                 env=dict(ENV, OUT=out), stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: count_files(sb.host_view("/var/lib/eschool/users")) >= n_states,
                 "state files")
        kill9(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return sb.read(out)


def blocked_on_a_lock(pid):
    """True when the process sleeps in fcntl(F_SETLKW) (lckpwdf)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
        with open(f"/proc/{pid}/syscall") as f:
            syscall = f.read().split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "setlk" in wchan or syscall[:1] == ["72"]  # x86-64 fcntl


def import_killed_waiting_for_the_password_files(sb, roster):
    """Another program holds lckpwdf(): eschool has recorded the first chunk
    ("creating") and waits to write the account files; it is killed there."""
    for g in ("students", "teachers"):  # groupadd would wait for the lock too
        sb.cmd(["groupadd", "-r", g], check=True)
    lock = os.open(sb.host_view("/etc/.pwd.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    out = sb.private("run1.out")
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        p = sb.popen(["sh", "-c", 'exec "$0" "$@" > "$OUT"', ESCHOOL, "import", "--json",
                      roster], env=dict(ENV, OUT=out), stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: blocked_on_a_lock(Sandbox.child_pid(p)), "eschool waiting for lckpwdf")
            kill9(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    finally:
        os.close(lock)
    return sb.read(out)


def import_killed_on_full_pipe(sb, roster, pipe_size, prefill):
    r, w = os.pipe()
    try:
        assert fcntl.fcntl(w, F_SETPIPE_SZ, pipe_size) == pipe_size
        filler = 0
        if prefill:
            os.set_blocking(w, False)
            try:
                while True:
                    filler += os.write(w, b"\n" * 512)
            except BlockingIOError:
                pass
            os.set_blocking(w, True)
        p = sb.popen([ESCHOOL, "import", "--json", roster], stdout=w, stderr=subprocess.DEVNULL,
                     env=ENV)
        os.close(w)
        w = -1
        try:
            wait_for(lambda: blocked_writing_stdout(Sandbox.child_pid(p)), "eschool blocked on its stdout")
            kill9(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        data = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert data[:filler] == b"\n" * filler
    return data[filler:].decode()


KILL_POINTS = [
    # (how, value, prefill, delivered before the kill: min, max, roster accounts in passwd)
    pytest.param("states", 20, False, 0, 299, None, id="soon-after-the-start"),
    pytest.param("pwlock", 0, False, 0, 0, 0, id="first-chunk-recorded-files-locked"),
    pytest.param("pipe", 4096, True, 0, 0, 128, id="accounts-written-nothing-shown"),
    pytest.param("pipe", 4096, False, 1, 127, 128, id="while-showing-the-first-chunk"),
    pytest.param("pipe", 16384, False, 129, 255, "chunk", id="while-showing-a-later-chunk"),
]

# Where import's chunks end for 300 rows (cmd_import.c, chunk_end): 128 rows,
# then half of what is left, 8 at least: the chunks shrink toward the end.
CHUNK_ENDS_300 = [128, 214, 257, 278, 289, 297, 300]


@pytest.mark.parametrize("how,value,prefill,dmin,dmax,in_passwd", KILL_POINTS)
def test_kill_9_then_run_again(sandbox, how, value, prefill, dmin, dmax, in_passwd):
    sb = sandbox
    n = 300
    rows = roster_300(n, seed=11)
    roster = write(sb, "roster.csv", to_csv(rows, ["name", "email", "class", "role"],
                                            bom=True, crlf=True))
    before_users = sb.users_in()
    checks = consistency(sb)
    if how == "states":
        shown = import_killed_after_states(sb, roster, value)
    elif how == "pwlock":
        shown = import_killed_waiting_for_the_password_files(sb, roster)
    else:
        shown = import_killed_on_full_pipe(sb, roster, value, prefill)

    first_pw = {o["username"]: o["password"] for o in json_lines(shown)}
    states_at_kill = sb.listdir("/var/lib/eschool/users")
    delivered = {u for u in states_at_kill if sb.state(u).get("delivery") == "printed"}
    # the state says "printed" only once the credential was written out
    assert delivered <= set(first_pw)
    if how == "pipe":
        assert delivered == set(first_pw)
    if how == "pwlock":
        assert len(states_at_kill) == 128  # the first chunk, all "creating"
    assert dmin <= len(delivered) <= dmax, len(delivered)
    if in_passwd == "chunk":  # the whole chunk being shown is written
        in_passwd = min(e for e in CHUNK_ENDS_300 if e > len(delivered))
    if in_passwd is not None:
        assert len(new_users(sb, before_users)) == in_passwd
    hashes_before = {l.split(":")[0]: l.split(":")[1] for l in sb.read("/etc/shadow").splitlines()}

    # the same command again
    p2 = sb.eschool("import", "--json", roster)
    assert p2.returncode == 0, p2.stderr[-2000:]
    second = json_lines(p2.stdout)
    second_pw = {o["username"]: o["password"] for o in second}
    assert len(second_pw) == len(second), "an account was printed twice"

    users = new_users(sb, before_users)
    assert len(users) == n, f"{len(users)} accounts for {n} roster rows"
    assert sorted(sb.listdir("/var/lib/eschool/users")) == sorted(users)
    by_email = states_by_email(sb, users)
    assert sorted(by_email) == sorted(r["email"] for r in rows), "a person has two accounts"
    passwd, shadow = sb.read("/etc/passwd"), sb.read("/etc/shadow")
    group, gshadow = sb.read("/etc/group"), sb.read("/etc/gshadow")
    col = lambda text: [l.split(":")[0] for l in text.splitlines()]  # noqa: E731
    pw_users, sh_users, gr_names, gs_names = col(passwd), col(shadow), col(group), col(gshadow)
    shadow_hash = {l.split(":")[0]: l.split(":")[1] for l in shadow.splitlines()}
    homes = set(sb.listdir("/home"))
    for u in users:
        assert (pw_users.count(u), sh_users.count(u), gr_names.count(u), gs_names.count(u)) == \
            (1, 1, 1, 1), u
        assert shadow_hash[u].startswith("$y$"), f"{u} has no usable hash: {shadow_hash[u]!r}"
        assert sb.state(u)["delivery"] == "printed"
        assert u in homes
    m = re.search(r"(\d+) account\(s\) created, (\d+) completed, (\d+) already done", p2.stderr)
    assert m, p2.stderr
    assert [int(x) for x in m.groups()] == [n - len(states_at_kill), len(states_at_kill) - len(delivered),
                                            len(delivered)]

    # the re-run shows exactly the accounts whose credentials were never shown
    assert set(second_pw) == set(users) - delivered
    # what was shown and recorded in the first run still opens the account
    for u in delivered:
        assert shadow_hash[u] == hashes_before[u], f"{u}'s password changed on the re-run"
    for u in random.Random(4).sample(sorted(delivered), min(10, len(delivered))):
        assert hash_ok(shadow_hash[u], first_pw[u]), u
    # every password of the re-run works: all the resumed accounts, a sample of the others
    resumed = [u for u in second_pw if u in hashes_before]
    fresh = [u for u in second_pw if u not in hashes_before]
    for u in resumed + random.Random(5).sample(fresh, min(10, len(fresh))):
        assert hash_ok(shadow_hash[u], second_pw[u]), u

    assert consistency(sb) == checks

    # a third run has nothing to do
    p3 = sb.eschool("import", roster)
    assert p3.returncode == 0, p3.stderr
    assert f"0 account(s) created, 0 completed, {n} already done" in p3.stdout
    assert table(p3.stdout) == {}
