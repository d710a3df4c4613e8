"""Rosters as school software exports them (tests/rosters/, described in
its README and expected.json), imported as they are: the encoding and the
separator detected, the columns found by their French or English names,
the export recognised, names written the way a person is greeted, pupils
without an address given a credential slip (a PDF read back with
pdftotext) and, in production, their parents the notice."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import assert_fails, configure_mail, json_lines, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_slips import slip_passwords  # noqa: E402

ROSTERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rosters")
EXPECTED = json.load(open(os.path.join(ROSTERS, "expected.json"), encoding="utf-8"))["files"]
# the guardians' list of ONDE is not a roster of accounts
FILES = [f for f in EXPECTED if f.get("kind") != "guardians"]
FORMATS = {"pronote", "ecoledirecte", "siecle", "onde", "workspace", "sds", "plain"}
ENCODINGS = {"cp1252": "Windows-1252", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM",
             "utf-16": "UTF-16LE with BOM"}
UNIX_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def copy_roster(sb, name):
    path = sb.private(name)
    sb.cmd(["sh", "-c", 'mkdir -p "$(dirname "$2")" && cp "$1" "$2"', "sh",
            os.path.join(ROSTERS, name), path], check=True)
    return path


def pdf_text(sb, path, page=None):
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return sb.cmd(["pdftotext", "-layout", *pages, path, "-"], check=True).stdout


def how_read(path, stderr):
    """What the dry run says of the file on stderr: (encoding, separator,
    layout, {column: field} with the first column of each field)."""
    m = re.search(rf"^{re.escape(path)}: (.+), separator '(.+?)'(?:, layout (\w+))?$",
                  stderr, re.M)
    assert m, stderr
    columns = {}
    for col, field in re.findall(r"^  '(.+)' -> (\w+)", stderr, re.M):
        columns.setdefault(col, field)
    sep = {"tab": "\t"}.get(m.group(2), m.group(2))
    return m.group(1), sep, m.group(3) or "", columns


def state_of(sb, users, person):
    """The account the import made for an expected person (by display name)."""
    found = [u for u in users if sb.state(u)["name"] == person["display"]]
    assert len(found) == 1, (person, [sb.state(u)["name"] for u in users])
    return found[0], sb.state(found[0])


@pytest.mark.parametrize("roster", FILES, ids=[f["file"] for f in FILES])
def test_roster_imports_as_exported(sandbox, roster):
    sb = sandbox
    path = copy_roster(sb, roster["file"])
    # the dry run says how it was read
    p = sb.eschool("--json", "import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    plan = json_lines(p.stdout)  # one object per account, nothing else
    encoding, sep, layout, _ = how_read(path, p.stderr)
    assert encoding == ENCODINGS[roster["encoding"]], p.stderr
    assert sep == roster["delimiter"], p.stderr
    assert layout == (roster["format"] if roster["format"] in FORMATS else ""), p.stderr
    assert [o["line"] for o in plan] == [person["line"] for person in roster["people"]]
    assert all(o["action"] == "create" for o in plan)
    no_address = {person["line"] for person in roster["people"] if not person["email"]}
    assert {o["line"] for o in plan if o.get("delivery") == "slip"} == no_address
    # every column the export has that eschool does not read, in one warning
    unknown = roster["unknown_columns"]
    if unknown:
        p = sb.eschool("import", "--dry-run", path)
        warning = [l for l in p.stderr.splitlines() if "used by nothing" in l]
        assert len(warning) == 1, p.stderr
        assert f"{len(unknown)} column(s) used by nothing" in warning[0]
        for column in unknown:
            assert f"'{column}'" in warning[0], (column, warning[0])

    # imported as it is, with the slips of everyone made
    slips = sb.private("slips.pdf")
    p = sb.eschool("--json", "import", "--slips", slips, path)
    assert p.returncode == 0, p.stderr
    users = [o["username"] for o in json_lines(p.stdout)]
    assert len(users) == len(roster["people"])
    assert sb.stat(slips)[:3] == (0o600, 0, 0)
    text = pdf_text(sb, slips)
    # each slip's password opens its account (debug mode printed the same)
    printed = {o["username"]: o["password"] for o in json_lines(p.stdout)}
    on_slips = slip_passwords(sb, slips)
    assert on_slips == printed
    for user in list(printed)[:3]:
        assert password_ok(sb, user, on_slips[user]), user
    for person in roster["people"]:
        user, st = state_of(sb, users, person)
        assert st.get("email") == person["email"], (person, st)
        assert st.get("parent_email") == person["parent_email"], (person, st)
        assert st.get("class") == person["class"], (person, st)
        assert st["role"] == person["role"], (person, st)
        own = person.get("username")
        if own and UNIX_NAME.fullmatch(own):
            assert user == own
        assert sb.passwd_entry(user)[4] == person["display"].replace(",", " ")
        assert user in text and person["display"] in text, (user, person["display"])


def test_names_and_usernames_as_before(sandbox):
    """The name a pupil is greeted by is built from the export's parts; the
    username is derived as it always was."""
    sb = sandbox
    path = copy_roster(sb, "pronote-eleves.csv")
    p = sb.eschool("--json", "import", "--slips", sb.private("s.pdf"), path)
    assert p.returncode == 0, p.stderr
    users = [o["username"] for o in json_lines(p.stdout)]
    assert "edupre" in users and sb.state("edupre")["name"] == "Élodie Dupré"
    assert "adelafontaine" in users
    assert sb.state("adelafontaine")["name"] == "Anaïs de La Fontaine"
    assert sb.state("mndiaye")["name"] == "Moussa N'Diaye"


def test_encoding_and_map_options(sandbox):
    sb = sandbox
    path = copy_roster(sb, "pronote-eleves.csv")
    # said to be UTF-8, a Windows-1252 file is refused with its line
    assert_fails(sb.eschool("import", "--encoding", "utf-8", path), 65, f"{path}:", "UTF-8",
                 "--encoding")
    assert_fails(sb.eschool("import", "--encoding", "ebcdic-martian", path), 65,
                 "unknown encoding 'ebcdic-martian'")
    # --format names a layout the header does not have: its names still count
    p = sb.eschool("--json", "import", "--dry-run", "--format", "plain", path)
    assert_fails(p, 65, "no column names the accounts")
    # [import] columns and --map: a column the school names its own way
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf") +
             "\n[import]\ncolumns = Régime = ignore, Groupes = class\n")
    p = sb.eschool("import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    cols = how_read(path, p.stderr)[3]
    assert cols["Groupes"] == "class" and "Classe" not in cols and "Régime" not in cols
    assert "'Classe'" in [l for l in p.stderr.splitlines() if "used by nothing" in l][0]
    p = sb.eschool("import", "--dry-run", "--map", "Classe=class", path)
    assert how_read(path, p.stderr)[3]["Classe"] == "class"


def test_no_address_needs_slips_in_production(sandbox, srv):
    """Production: a pupil with no address of their own gets a slip, their
    parent the notice; without --slips nothing is made."""
    sb = sandbox
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    path = copy_roster(sb, "ecoledirecte-eleves.csv")
    roster = next(f for f in FILES if f["file"] == "ecoledirecte-eleves.csv")
    before = sb.snapshot()
    assert_fails(sb.eschool("import", path), 64, "have no address", "--slips")
    assert sb.snapshot() == before

    n0 = len(srv.messages)
    slips = sb.private("slips.pdf")
    p = sb.eschool("--json", "import", "--slips", slips, path)
    assert p.returncode == 0, p.stderr
    out = {o["username"]: o for o in json_lines(p.stdout)}
    got = {}
    for env, msg in srv.messages[n0:]:
        got.setdefault(env.rcpt_tos[0], []).append(msg["X-Eschool-Kind"])
    for person in roster["people"]:
        user = person["username"]
        st = sb.state(user)
        if person["email"]:
            assert out[user]["delivery"] == "sent"
            assert got[person["email"]] == ["welcome-student"]
        else:
            assert out[user]["delivery"] == "slip" and "password" not in out[user]
            assert st["delivery"] == "slip"
        if person["parent_email"]:
            assert "parent-notice" in got[person["parent_email"]]
    # every slip on the PDF, the pupils without an address among them, and
    # their password opens their account
    on_slips = slip_passwords(sb, slips)
    assert sorted(on_slips) == sorted(person["username"] for person in roster["people"])
    for person in roster["people"]:
        if not person["email"]:
            assert password_ok(sb, person["username"], on_slips[person["username"]])
    # run again: nothing more, and the slips file is not overwritten
    p = sb.eschool("--json", "import", "--slips", sb.private("again.pdf"), path)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert not sb.exists(sb.private("again.pdf"))
    p = sb.eschool("import", "--slips", slips, path)
    assert_fails(p, 73, "exists")


def test_slip_pending_is_completed_by_the_next_run(sandbox, srv):
    """A slips file that cannot be written leaves the pupils without an
    address "slip-pending" and their parents' notices held: the next run
    gives them new passwords and their slips, and each parent one notice."""
    sb = sandbox
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    path = sb.private("r.csv")
    sb.write(path, "Nom;Prénom;Classe;Email;Email parent\n"
                   "DUPRÉ;Élodie;6A;;famille.dupre@parents.example.net\n"
                   "MARTIN;Léo;6A;leo@school.example;\n")
    n0 = len(srv.messages)
    # the slips' directory is read-only once the check is done: the write fails
    outdir = sb.private("out")
    sb.cmd(["mkdir", "-p", outdir], check=True)
    p = sb.cmd(["sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
                'exec "$2" --json import --slips "$1/s.pdf" "$3"', "sh", outdir, ESCHOOL, path])
    assert p.returncode != 0
    assert "slips were not written" in p.stderr, p.stderr
    assert sb.state("edupre")["delivery"] == "slip-pending"
    assert sb.state("lmartin")["delivery"] == "sent"
    sent = [env.rcpt_tos[0] for env, _ in srv.messages[n0:]]
    assert sent == ["leo@school.example"], sent  # the parent is not told yet
    # queue run holds the notice too, and status and list say so
    assert sb.eschool("queue", "run").returncode == 0
    assert len(srv.messages) == n0 + 1
    p = sb.eschool("--json", "queue", "status")
    assert p.returncode == 0, p.stderr
    status = json.loads(p.stdout)
    assert (status["held"], status["queued"], status["failed"]) == (1, 0, 0), status
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    listed = [(m["kind"], m["state"]) for m in json_lines(p.stdout)]
    assert listed == [("parent-notice", "held")], listed
    sb.cmd(["umount", outdir], check=True)
    p = sb.eschool("--json", "import", "--slips", f"{outdir}/s.pdf", path)
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "edupre", "delivery": "slip"}]
    assert sb.state("edupre")["delivery"] == "slip"
    on_slips = slip_passwords(sb, f"{outdir}/s.pdf")
    assert list(on_slips) == ["edupre"]
    assert password_ok(sb, "edupre", on_slips["edupre"])
    assert sb.eschool("queue", "run").returncode == 0
    sent = [env.rcpt_tos[0] for env, _ in srv.messages[n0:]]
    assert sorted(sent) == ["famille.dupre@parents.example.net", "leo@school.example"], sent


def test_rerun_of_an_old_import_finds_the_same_people(sandbox):
    """States written before names were greeted ("DUPRÉ Élodie" as the
    roster had it) are found again by the same roster: no second account."""
    sb = sandbox
    path = sb.private("r.csv")
    sb.write(path, "name,email\nDUPRÉ Élodie,e@school.example\n")
    assert sb.eschool("import", path).returncode == 0
    # what an older eschool stored
    text = sb.read("/var/lib/eschool/users/edupre").replace("name=Élodie Dupré",
                                                              "name=DUPRÉ Élodie")
    sb.write("/var/lib/eschool/users/edupre", text)
    p = sb.eschool("--json", "import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"line": 2, "username": "edupre", "action": "skip"}]
