"""`eschool sync` (the start of the school year) and `[import] class_groups`
(one Unix group per class, its members kept in step with the roster)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import DEFAULT_CONF, assert_fails, json_lines, new_sandbox  # noqa: E402

GROUPS_CONF = DEFAULT_CONF + "[import]\nclass_groups = yes\n"

# The first year: 16 pupils in three classes, as a Pronote-style export
# (Nom;Prénom;Classe;Email), four without an address.
YEAR1 = [
    ("DUPRÉ", "Élodie", "6ème A", "edupre@school.example"),
    ("MARTIN", "Léo", "6ème A", "lmartin@school.example"),
    ("SMITH", "John", "6ème A", ""),
    ("NGUYEN", "Minh", "6ème A", "mnguyen@school.example"),
    ("BERNARD", "Chloé", "6ème A", "cbernard@school.example"),
    ("PETIT", "Hugo", "6ème B", "hpetit@school.example"),
    ("ROBERT", "Inès", "6ème B", ""),
    ("RICHARD", "Lucas", "6ème B", "lrichard@school.example"),
    ("DURAND", "Manon", "6ème B", "mdurand@school.example"),
    ("LEROY", "Nathan", "6ème B", "nleroy@school.example"),
    ("MOREAU", "Camille", "5ème A", "cmoreau@school.example"),
    ("SIMON", "Louise", "5ème A", ""),
    ("LAURENT", "Jules", "5ème A", "jlaurent@school.example"),
    ("LEFEBVRE", "Emma", "5ème A", "elefebvre@school.example"),
    ("MICHEL", "Adam", "5ème A", "amichel@school.example"),
    ("GARCIA", "Léna", "5ème A", ""),
]
# The second year: 5 left (the 5ème A who went to another school and two
# more), 3 changed class (one without an address: found by name), 6 new.
LEFT = {"LAURENT", "LEFEBVRE", "MICHEL", "NGUYEN", "LEROY"}
MOVED = {"DUPRÉ": "5ème B", "SMITH": "5ème B", "PETIT": "5ème A"}
NEW = [
    ("FOURNIER", "Rose", "6ème A", "rfournier@school.example"),
    ("GIRARD", "Tom", "6ème A", ""),
    ("BONNET", "Alice", "6ème B", "abonnet@school.example"),
    ("DUPONT", "Paul", "6ème B", "pdupont@school.example"),
    ("LAMBERT", "Jade", "5ème B", "jlambert@school.example"),
    ("FONTAINE", "Noah", "5ème B", ""),
]


def roster(rows):
    return "Nom;Prénom;Classe;Email\n" + "".join(f"{r[0]};{r[1]};{r[2]};{r[3]}\n" for r in rows)


def year2():
    kept = [(n, p, MOVED.get(n, c), e) for n, p, c, e in YEAR1 if n not in LEFT]
    return kept + NEW


def members(sb, group):
    entry = sb.group_entry(group)
    assert entry is not None, f"no group {group}"
    return sorted(m for m in entry[3].split(",") if m)


def user_of(sb, surname):
    for line in sb.read("/etc/passwd").splitlines():
        f = line.split(":")
        if surname.lower() in f[4].lower():
            return f[0]
    raise AssertionError(f"no account for {surname}")


def write(sb, name, text):
    path = sb.private(name)
    sb.write(path, text)
    return path


def test_second_year(tmp_path):
    with new_sandbox(GROUPS_CONF) as sb:
        p = sb.eschool("--json", "import", write(sb, "y1.csv", roster(YEAR1)))
        assert p.returncode == 0, p.stderr
        made = {o["username"] for o in json_lines(p.stdout)}
        assert len(made) == 16
        # one group per class, named from it
        assert members(sb, "c-6a") == sorted(user_of(sb, n) for n, _, c, _ in YEAR1
                                             if c == "6ème A")
        assert len(members(sb, "c-6b")) == 5 and len(members(sb, "c-5a")) == 6
        before = {n: user_of(sb, n) for n, *_ in YEAR1}

        path = write(sb, "y2.csv", roster(year2()))
        p = sb.eschool("--json", "sync", path, "--dry-run")
        assert p.returncode == 0, p.stderr
        plan = json_lines(p.stdout)
        assert sum(o["action"] == "create" for o in plan) == 6
        assert sorted(o["username"] for o in plan if o["action"] == "update") == sorted(
            before[n] for n in MOVED)
        assert sorted(o["username"] for o in plan if o["action"] == "disable") == sorted(
            before[n] for n in LEFT)
        assert sb.group_entry("c-5b") is None  # a dry run changes nothing

        p = sb.eschool("--json", "sync", path)
        assert p.returncode == 0, p.stderr
        out = json_lines(p.stdout)
        created = [o for o in out if "password" in o]
        updated = {o["username"]: o["updated"] for o in out if "updated" in o}
        disabled = sorted(o["username"] for o in out if o.get("disabled"))
        assert len(created) == 6
        assert sorted(updated) == sorted(before[n] for n in MOVED)
        assert "class 6ème A -> 5ème B" in updated[before["DUPRÉ"]]
        assert "group c-6a -> c-5b" in updated[before["DUPRÉ"]]
        assert disabled == sorted(before[n] for n in LEFT)
        assert "6 account(s) created" in p.stderr and "3 updated, 5 disabled, 8 unchanged" \
            in p.stderr
        # the same accounts, their states and groups in step
        for n in MOVED:
            st = sb.state(before[n])
            assert st["class"] == MOVED[n] and st["disabled"] == "0"
        for n in LEFT:
            assert sb.state(before[n])["disabled"] == "1"
            assert sb.shadow_entry(before[n])[1].startswith("!")
        assert before["SMITH"] in members(sb, "c-5b") and before["SMITH"] not in members(
            sb, "c-6a")
        assert before["PETIT"] in members(sb, "c-5a")
        assert members(sb, "c-5b") == sorted([before["DUPRÉ"], before["SMITH"],
                                              user_of(sb, "LAMBERT"), user_of(sb, "FONTAINE")])

        # idempotent: the same roster again changes nothing
        snap = sb.snapshot()
        p = sb.eschool("sync", path)
        assert p.returncode == 0, p.stderr
        assert "0 updated, 0 disabled, 17 unchanged" in p.stdout
        assert sb.snapshot() == snap

        # the year after, --delete-missing removes the pupils who left
        p = sb.eschool("--json", "sync", path, "--delete-missing", "--yes")
        assert p.returncode == 0, p.stderr
        assert sorted(o["username"] for o in json_lines(p.stdout) if o.get("deleted")) == \
            sorted(before[n] for n in LEFT)
        for n in LEFT:
            assert sb.passwd_entry(before[n]) is None and sb.state(before[n]) is None


def test_a_class_emptied_loses_its_group():
    with new_sandbox(GROUPS_CONF) as sb:
        rows = [("DUPRÉ", "Élodie", "3ème C", "e@school.example"),
                ("MARTIN", "Léo", "3ème C", "l@school.example"),
                ("SMITH", "John", "4ème D", "j@school.example")]
        assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
        assert members(sb, "c-3c") == ["edupre", "lmartin"]
        moved = [(n, p, "4ème D", e) for n, p, c, e in rows]
        p = sb.eschool("sync", write(sb, "b.csv", roster(moved)))
        assert p.returncode == 0, p.stderr
        assert sb.group_entry("c-3c") is None
        assert members(sb, "c-4d") == ["edupre", "jsmith", "lmartin"]
        # deleting a class's last members removes its group
        assert sb.eschool("delete", "--class", "4ème D", "--yes").returncode == 0
        assert sb.group_entry("c-4d") is None


def test_class_group_names_collide_and_foreign_groups_are_not_taken():
    with new_sandbox(GROUPS_CONF) as sb:
        # a group the administrator made, with the name a class would get
        sb.cmd(["groupadd", "c-2b"], check=True)
        rows = [("DUPRÉ", "Élodie", "1ère G1", "e@school.example"),
                ("MARTIN", "Léo", "1re G1", "l@school.example"),
                ("SMITH", "John", "2nde B", "j@school.example")]
        p = sb.eschool("--json", "import", write(sb, "a.csv", roster(rows)), "--dry-run")
        assert p.returncode == 0, p.stderr
        assert [o["class_group"] for o in json_lines(p.stdout)] == ["c-1g1", "c-1g1-2", "c-2b-2"]
        assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
        assert members(sb, "c-1g1") == ["edupre"] and members(sb, "c-1g1-2") == ["lmartin"]
        assert members(sb, "c-2b") == [] and members(sb, "c-2b-2") == ["jsmith"]
        # a later import keeps each class's group, whatever exists since
        more = [("PETIT", "Hugo", "1re G1", "h@school.example")]
        assert sb.eschool("import", write(sb, "b.csv", roster(more))).returncode == 0
        assert members(sb, "c-1g1-2") == ["hpetit", "lmartin"]
        assert sb.state("hpetit")["class_group"] == "c-1g1-2"


def test_turning_class_groups_on_and_other_changes(sandbox):
    sb = sandbox
    rows = [("DUPRÉ", "Élodie", "6A", "e@school.example"),
            ("SMITH", "John", "6A", "j@school.example")]
    assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
    assert sb.group_entry("c-6a") is None  # off by default
    sb.write("/etc/eschool/eschool.conf", GROUPS_CONF)
    # a new address (found by name), a corrected name (found by address);
    # an empty cell changes nothing
    text = ("Nom;Prénom;Classe;Email;Email parent\n"
            "DUPRÉ;Élodie;6A;elodie.dupre@school.example;\n"
            "SMYTHE;John;6A;j@school.example;parent@home.example\n")
    p = sb.eschool("--json", "sync", write(sb, "b.csv", text))
    assert p.returncode == 0, p.stderr
    updated = {o["username"]: o["updated"] for o in json_lines(p.stdout) if "updated" in o}
    assert updated["edupre"] == ("email e@school.example -> elodie.dupre@school.example; "
                                 "group - -> c-6a")
    assert updated["jsmith"] == ("name John Smith -> John Smythe; parent email - -> "
                                 "parent@home.example; group - -> c-6a")
    assert sb.passwd_entry("jsmith")[4] == "John Smythe"
    assert sb.state("jsmith")["name"] == "John Smythe"
    assert sb.state("edupre")["email"] == "elodie.dupre@school.example"
    assert sb.state("jsmith")["parent_email"] == "parent@home.example"
    assert members(sb, "c-6a") == ["edupre", "jsmith"]
    # a roster without the class column keeps the classes
    text = "Nom;Prénom;Email\nDUPRÉ;Élodie;elodie.dupre@school.example\nSMYTHE;John;\n"
    assert sb.eschool("sync", write(sb, "c.csv", text), "--dry-run").returncode == 0
    p = sb.eschool("sync", write(sb, "c.csv", text))
    assert p.returncode == 0, p.stderr
    assert sb.state("edupre")["class"] == "6A" and members(sb, "c-6a") == ["edupre", "jsmith"]


def test_a_pupil_who_comes_back_stays_disabled_until_enabled(sandbox):
    """sync disables who left; a later roster that lists them again says
    so, and 'eschool enable' is the administrator's (a namesake who
    arrives is not given the account of the one who left)."""
    sb = sandbox
    rows = [("DUPRÉ", "Élodie", "6A", "e@school.example"),
            ("MARTIN", "Léo", "6A", "l@school.example"),
            ("SMITH", "John", "6B", "")]
    assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
    p = sb.eschool("sync", write(sb, "b.csv", roster(rows[:2])))
    assert p.returncode == 0, p.stderr
    assert sb.state("jsmith")["disabled"] == "1" and sb.shadow_entry("jsmith")[1].startswith("!")
    # listed again, same class: found, said, left disabled
    p = sb.eschool("--json", "sync", write(sb, "c.csv", roster(rows)), "--dry-run")
    plan = {o["username"]: o for o in json_lines(p.stdout)}
    assert plan["jsmith"]["disabled"] is True and plan["jsmith"]["action"] == "skip"
    p = sb.eschool("sync", write(sb, "c.csv", roster(rows)), "--dry-run")
    assert "eschool enable" in p.stdout
    # another class: a namesake without an address is someone new
    namesake = rows[:2] + [("SMITH", "John", "3C", "")]
    p = sb.eschool("--json", "sync", write(sb, "d.csv", roster(namesake)))
    assert p.returncode == 0, p.stderr
    assert [o["username"] for o in json_lines(p.stdout) if "password" in o] == ["jsmith2"]
    assert sb.state("jsmith")["disabled"] == "1" and sb.state("jsmith")["class"] == "6B"


def test_loose_matches_keep_to_the_role_and_the_name(sandbox):
    sb = sandbox
    rows = [("DUPRÉ", "Élodie", "6A", "famille.dupre@home.example"),
            ("MARTIN", "Léo", "6A", "l@school.example")]
    assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
    assert sb.eschool("add", "aroux", "--email", "a.roux@school.example", "--name",
                      "Anne Roux", "--role", "teacher").returncode == 0
    # a sibling given the family's address is not his sister's account
    sibling = [("DUPRÉ", "Hugo", "6B", "famille.dupre@home.example"), rows[1]]
    p = sb.eschool("--json", "sync", write(sb, "b.csv", roster(sibling)), "--dry-run",
                   "--allow-partial")
    assert p.returncode == 0, p.stderr
    plan = {o["username"]: o for o in json_lines(p.stdout)}
    assert plan["hdupre"]["action"] == "create"
    assert plan["edupre"]["action"] == "disable"
    # a pupil named as a teacher is not the teacher's account
    pupil = rows + [("ROUX", "Anne", "6A", "")]
    p = sb.eschool("--json", "sync", write(sb, "p.csv", roster(pupil)), "--dry-run")
    plan = {o["username"]: o for o in json_lines(p.stdout)}
    assert plan["aroux2"]["action"] == "create" and "aroux" not in plan
    # a new address, the same name: found by the name, said so
    moved = [("DUPRÉ", "Élodie", "6A", "elodie@school.example"), rows[1]]
    p = sb.eschool("--json", "sync", write(sb, "c.csv", roster(moved)), "--dry-run")
    plan = {o["username"]: o for o in json_lines(p.stdout)}
    assert plan["edupre"]["action"] == "update" and plan["edupre"]["found_by"] == "name"


def test_an_address_the_user_confirmed_stays(sandbox):
    sb = sandbox
    rows = [("DUPRÉ", "Élodie", "6A", "e@school.example"),
            ("MARTIN", "Léo", "6A", "l@school.example")]
    path = write(sb, "a.csv", roster(rows))
    assert sb.eschool("import", path).returncode == 0
    assert sb.eschool("set-email", "--force", "edupre", "elodie@perso.example").returncode == 0
    p = sb.eschool("sync", path)
    assert p.returncode == 0 and "0 updated" in p.stdout, p.stdout + p.stderr
    assert sb.state("edupre")["email"] == "elodie@perso.example"
    # the roster's own change is taken
    rows[0] = ("DUPRÉ", "Élodie", "6A", "elodie.dupre@school.example")
    p = sb.eschool("sync", write(sb, "b.csv", roster(rows)))
    assert p.returncode == 0 and "1 updated" in p.stdout, p.stdout + p.stderr
    assert sb.state("edupre")["email"] == "elodie.dupre@school.example"


def test_sync_refusals(sandbox):
    sb = sandbox
    rows = [(f"NOM{chr(65 + i)}", "Élève", "6A", f"e{i}@school.example") for i in range(6)]
    assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
    before = sb.snapshot()
    # a roster listing less than half of the accounts: a part of the school
    p = sb.eschool("sync", write(sb, "b.csv", roster(rows[:2])))
    assert_fails(p, 65, "2 of the 6 student accounts", "--allow-partial")
    assert_fails(sb.eschool("sync", write(sb, "b.csv", roster(rows[:2])), "--yes"), 65,
                 "--allow-partial")
    assert sb.snapshot() == before
    # bad rows: nobody disabled for not being listed
    text = roster(rows[:5]) + "Bad;Row;6A;not-an-address\n"
    p = sb.eschool("sync", write(sb, "c.csv", text), "--keep-going")
    assert p.returncode == 65 and "disables and deletes nobody" in p.stderr
    assert [sb.state(f"enom{c}")["disabled"] for c in "abcdef"] == ["0"] * 6
    # --delete-missing off a terminal needs --yes; the home options need it
    assert_fails(sb.eschool("sync", write(sb, "d.csv", roster(rows[:5])), "--delete-missing"),
                 64, "--yes")
    assert_fails(sb.eschool("sync", write(sb, "d.csv", roster(rows[:5])), "--keep-home"),
                 64, "--delete-missing")
    # a teacher is not disabled by a pupils' roster
    assert sb.eschool("add", "tdupont", "--email", "t@school.example", "--role",
                      "teacher").returncode == 0
    p = sb.eschool("--json", "sync", write(sb, "e.csv", roster(rows[:5])))
    assert p.returncode == 0, p.stderr
    assert [o["username"] for o in json_lines(p.stdout) if o.get("disabled")] == ["enomf"]
    assert sb.state("tdupont")["disabled"] == "0"


def test_delete_missing_asks_on_a_terminal(sandbox):
    from sandbox import ESCHOOL
    sb = sandbox
    rows = [("DUPRÉ", "Élodie", "6A", "e@school.example"),
            ("MARTIN", "Léo", "6A", "l@school.example"),
            ("SMITH", "John", "6B", "j@school.example")]
    assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
    path = write(sb, "b.csv", roster(rows[:2] + [("PETIT", "Hugo", "6B", "h@school.example")]))
    before = sb.snapshot()
    # the list, then the question: "no" changes nothing, not even the new pupil
    p = sb.cmd(["script", "-qec", f"{ESCHOOL} sync --delete-missing {path}", "/dev/null"],
               input="no\n")
    assert p.returncode == 64, p.stdout
    assert "jsmith" in p.stdout and "John Smith, 6B" in p.stdout and "nothing was changed" \
        in p.stdout
    assert sb.snapshot() == before
    p = sb.cmd(["script", "-qec", f"{ESCHOOL} sync --delete-missing {path}", "/dev/null"],
               input="yes\n")
    assert p.returncode == 0, p.stdout
    assert sb.passwd_entry("jsmith") is None and sb.state("jsmith") is None
    assert sb.passwd_entry("hpetit") is not None
    assert "1 deleted" in p.stdout


def test_a_new_role_brings_its_groups_and_password_age():
    conf = GROUPS_CONF + "[role teacher]\nmax_age_days = 180\n"
    with new_sandbox(conf) as sb:
        text = "username,name,email,class,role\n" \
               "adupont,Ana Dupont,a@school.example,6A,student\n" \
               "bmartin,Ben Martin,b@school.example,6A,student\n"
        assert sb.eschool("import", write(sb, "a.csv", text)).returncode == 0
        assert sb.shadow_entry("adupont")[4] == "90"
        p = sb.eschool("--json", "sync", write(sb, "b.csv", text.replace(
            "6A,student\nbmartin", "6A,teacher\nbmartin")))
        assert p.returncode == 0, p.stderr
        assert [o["updated"] for o in json_lines(p.stdout) if "updated" in o] == [
            "role student -> teacher"]
        assert "adupont" in members(sb, "teachers") and "adupont" not in members(sb, "students")
        assert sb.shadow_entry("adupont")[4] == "180" and sb.state("adupont")["role"] == "teacher"
        assert "adupont" in members(sb, "c-6a")  # the class stays


def test_a_role_whose_accounts_differ_is_refused_for_that_row():
    conf = DEFAULT_CONF + "[role staff]\nhome_base = /srv/staff\n"
    with new_sandbox(conf) as sb:
        text = "username,name,email,role\nadupont,Ana Dupont,a@school.example,student\n" \
               "bmartin,Ben Martin,b@school.example,student\n"
        assert sb.eschool("import", write(sb, "a.csv", text)).returncode == 0
        p = sb.eschool("sync", write(sb, "b.csv", text.replace("a@school.example,student",
                                                                 "a@school.example,staff")))
        assert_fails(p, 65, "b.csv:2", "role student -> staff",
                     "make the account anew")
        assert sb.state("adupont")["role"] == "student"


def test_a_refused_address_match_is_never_kept():
    """An address alone found an account the match refuses (another given
    name); the row's name is on two rows: the row is someone new."""
    with new_sandbox(DEFAULT_CONF) as sb:
        rows = [("DUPRÉ", "Léa", "6A", "famille@home.example"),
                ("MARTIN", "Léo", "6A", "l@school.example"),
                ("PETIT", "Paul", "6A", "p@school.example")]
        assert sb.eschool("import", write(sb, "a.csv", roster(rows))).returncode == 0
        new = rows[1:] + [("DUPRÉ", "Hugo", "6B", "famille@home.example"),
                          ("DUPRÉ", "Hugo", "3C", "")]
        p = sb.eschool("--json", "sync", write(sb, "b.csv", roster(new)), "--dry-run")
        assert p.returncode == 0, p.stderr
        plan = {o["username"]: o["action"] for o in json_lines(p.stdout)}
        assert plan["ldupre"] == "disable" and plan["hdupre"] == "create" and \
            plan["hdupre2"] == "create"


def test_an_address_confirmed_since_still_finds_its_account():
    with new_sandbox(DEFAULT_CONF) as sb:
        rows = [("DUPONT", "Marie", "6A", "m1@school.example"),
                ("DUPONT", "Marie", "5B", "m2@school.example"),
                ("MARTIN", "Léo", "6A", "l@school.example")]
        path = write(sb, "a.csv", roster(rows))
        assert sb.eschool("import", path).returncode == 0
        assert sb.eschool("set-email", "--force", "mdupont", "marie@perso.example").returncode == 0
        snap = sb.snapshot()
        p = sb.eschool("sync", path)
        assert p.returncode == 0 and "0 account(s) created" in p.stdout and "0 updated, 0 " \
            "disabled" in p.stdout, p.stdout + p.stderr
        assert sb.snapshot() == snap


def test_a_move_a_killed_run_left_is_undone():
    """The claim a move writes before making the group (a kill after it):
    the next sync, with the pupil back in the old class, takes the pupil out
    of the claimed group and removes it."""
    with new_sandbox(GROUPS_CONF) as sb:
        rows = [("DUPRÉ", "Élodie", "6A", "e@school.example"),
                ("MARTIN", "Léo", "6A", "l@school.example")]
        path = write(sb, "a.csv", roster(rows))
        assert sb.eschool("import", path).returncode == 0
        # what a kill between the claim, the group and the final save leaves
        sb.cmd(["groupadd", "c-5a"], check=True)
        sb.cmd(["gpasswd", "-a", "edupre", "c-5a"], check=True)
        text = sb.state_text("edupre").replace("\nend\n", "\nclass_group_claim=c-5a%205A\nend\n")
        sb.write("/var/lib/eschool/users/edupre", text)
        p = sb.eschool("--json", "sync", path)
        assert p.returncode == 0, p.stderr
        assert [o["updated"] for o in json_lines(p.stdout) if "updated" in o] == [
            "out of c-5a (a move a killed run left)"]
        assert sb.group_entry("c-5a") is None and "class_group_claim" not in sb.state("edupre")
        assert members(sb, "c-6a") == ["edupre", "lmartin"]
        # a name a state gives that eschool would not make is never touched
        sb.cmd(["groupadd", "exam"], check=True)
        text = sb.state_text("lmartin").replace("class_group=c-6a", "class_group=exam")
        sb.write("/var/lib/eschool/users/lmartin", text)
        p = sb.eschool("sync", write(sb, "b.csv", roster([rows[0], ("MARTIN", "Léo", "5B",
                                                                     "l@school.example")])))
        assert p.returncode == 0, p.stderr
        assert sb.group_entry("exam") is not None and members(sb, "c-5b") == ["lmartin"]
