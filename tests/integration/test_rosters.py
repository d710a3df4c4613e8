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
from conftest import assert_fails, configure_mail, json_lines  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402

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
    objs = json_lines(p.stdout)
    how = objs[0]["roster"]
    assert how["encoding"] == ENCODINGS[roster["encoding"]], how
    assert how["separator"] == roster["delimiter"], how
    assert how["format"] == (roster["format"] if roster["format"] in FORMATS else ""), how
    plan = objs[1:]
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
    p = sb.eschool("--json", "import", "--dry-run", path)
    assert p.returncode == 0, p.stderr
    cols = json_lines(p.stdout)[0]["roster"]["columns"]
    assert cols["Groupes"] == "class" and "Classe" not in cols and "Régime" not in cols
    p = sb.eschool("--json", "import", "--dry-run", "--map", "Classe=class", path)
    assert json_lines(p.stdout)[0]["roster"]["columns"]["Classe"] == "class"


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
    # every slip on the PDF, the pupils without an address among them
    text = pdf_text(sb, slips)
    for person in roster["people"]:
        assert person["username"] in text
    # run again: nothing more, and the slips file is not overwritten
    p = sb.eschool("--json", "import", "--slips", sb.private("again.pdf"), path)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert not sb.exists(sb.private("again.pdf"))
    p = sb.eschool("import", "--slips", slips, path)
    assert_fails(p, 73, "exists")


def test_slip_pending_is_completed_by_the_next_run(sandbox, srv):
    """A slips file that cannot be written leaves the pupils without an
    address "slip-pending": the next run gives them new passwords and
    their slips; nothing is lost."""
    sb = sandbox
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    path = sb.private("r.csv")
    sb.write(path, "Nom;Prénom;Classe;Email\nDUPRÉ;Élodie;6A;\nMARTIN;Léo;6A;leo@school.example\n")
    # the directory of the slips disappears once the check is done: a
    # read-only bind mount over it makes the write fail
    outdir = sb.private("out")
    sb.cmd(["mkdir", "-p", outdir], check=True)
    p = sb.cmd(["sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
                'exec "$2" import --slips "$1/s.pdf" "$3"', "sh", outdir, ESCHOOL, path])
    assert p.returncode != 0
    assert "slips were not written" in p.stderr, p.stderr
    assert sb.state("edupre")["delivery"] == "slip-pending"
    assert sb.state("lmartin")["delivery"] in ("sent", "queued")
    sb.cmd(["umount", outdir], check=True)
    p = sb.eschool("--json", "import", "--slips", f"{outdir}/s.pdf", path)
    assert p.returncode == 0, p.stderr
    assert [o["username"] for o in json_lines(p.stdout)] == ["edupre"]
    assert sb.state("edupre")["delivery"] == "slip"
    assert "edupre" in pdf_text(sb, f"{outdir}/s.pdf")

