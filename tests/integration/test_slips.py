"""`eschool slips`: new temporary passwords on printable slips for
accounts that exist, by name or by class. The passwords are read back
from the PDF (pdftotext, slip by slip) and open their accounts; nothing
changes when the PDF cannot be written or an account cannot be named."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import assert_fails, json_lines, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_slips_pdf import cell_box  # noqa: E402

ROSTER = ("Nom;Prénom;Classe;Email;Langue\n"
          "DUPRÉ;Élodie;6A;;fr\n"
          "MARTIN;Léo;6A;leo@school.example;fr\n"
          "SMITH;John;6B;;en\n"
          "NGUYEN;Minh;6B;;fr\n")


def imported(sb):
    """The roster imported (debug mode: the passwords printed), as
    {username: password}."""
    path = sb.private("r.csv")
    sb.write(path, ROSTER)
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stderr
    return {o["username"]: o["password"] for o in json_lines(p.stdout)}


def slip_passwords(sb, pdf):
    """{username: password} read from each slip of the PDF."""
    info = sb.cmd(["pdfinfo", pdf], check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    found = {}
    for page in range(1, pages + 1):
        for cell in range(8):
            x, y, w, h = cell_box(cell)
            t = sb.cmd(["pdftotext", "-f", str(page), "-l", str(page), "-layout", "-r", "72",
                        "-x", str(int(x) + 1), "-y", str(int(y) + 1), "-W", str(int(w) - 2),
                        "-H", str(int(h) - 2), pdf, "-"], check=True).stdout
            user = re.search(r"(?:Username:|Identifiant :)\s+(\S+)", t)
            label = re.search(r"(?:password:|provisoire :)\s+([A-Za-z0-9]+)", t)
            if user and label:
                assert user.group(1) not in found, user.group(1)
                found[user.group(1)] = label.group(1)
    return found


def test_slips_needs_reset_and_names(sandbox):
    sb = sandbox
    imported(sb)
    before = sb.snapshot()
    out = sb.private("s.pdf")
    assert_fails(sb.eschool("slips", "--class", "6A", "-o", out), 64, "--reset")
    assert_fails(sb.eschool("slips", "--reset", "-o", out), 64, "USER..., --class CLASS or --since")
    assert_fails(sb.eschool("slips", "--reset", "edupre"), 64, "--output")
    assert_fails(sb.eschool("slips", "--reset", "-o", out, "edupre", "nobody"), 67, "nobody")
    assert_fails(sb.eschool("slips", "--reset", "-o", out, "--class", "9Z"), 67, "no account")
    assert sb.snapshot() == before and not sb.exists(out)


def test_slips_by_class_reset_only_that_class(sandbox):
    sb = sandbox
    first = imported(sb)
    out = sb.private("6b.pdf")
    p = sb.eschool("--json", "slips", "--reset", "--class", "6B", "--output", out)
    assert p.returncode == 0, p.stderr
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["jsmith", "mnguyen"]
    assert all(o["delivery"] == "slip" and "password" not in o for o in json_lines(p.stdout))
    assert sb.stat(out)[:3] == (0o600, 0, 0)
    got = slip_passwords(sb, out)
    assert sorted(got) == ["jsmith", "mnguyen"]
    for user, password in got.items():
        assert password_ok(sb, user, password), user
        assert not password_ok(sb, user, first[user]), user
        st = sb.state(user)
        assert st["delivery"] == "slip" and st["must_change"] == "1"
    # 6A untouched
    for user in ("edupre", "lmartin"):
        assert password_ok(sb, user, first[user])
    # the English pupil's slip is in English, the French one's in French
    whole = sb.cmd(["pdftotext", "-layout", out, "-"], check=True).stdout
    assert "Temporary" in whole and "Mot de passe" in whole
    # by name, again: the file must be new
    assert_fails(sb.eschool("slips", "--reset", "-o", out, "edupre"), 73, "exists")
    out2 = sb.private("e.pdf")
    p = sb.eschool("slips", "--reset", "-o", out2, "edupre")
    assert p.returncode == 0, p.stderr
    assert password_ok(sb, "edupre", slip_passwords(sb, out2)["edupre"])


def test_no_password_changes_when_the_pdf_fails(sandbox):
    sb = sandbox
    first = imported(sb)
    outdir = sb.private("ro")
    sb.cmd(["mkdir", "-p", outdir], check=True)
    p = sb.cmd(["sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
                'exec "$2" slips --reset --class 6A -o "$1/s.pdf"', "sh", outdir, ESCHOOL])
    assert p.returncode != 0 and "s.pdf" in p.stderr, p.stderr
    for user, password in first.items():
        assert password_ok(sb, user, password), user
        assert sb.state(user)["delivery"] == "printed"


def test_a_renderer_others_may_write_is_never_loaded(sandbox):
    """eschool loads the slips' renderer (eschool_slips.so: cairo and pango)
    as root only from a file and a directory root's alone: one that anybody
    may write is refused, nothing changes, and the error says what to do."""
    sb = sandbox
    first = imported(sb)
    copy = sb.private("bin")
    plugin = os.path.join(os.path.dirname(ESCHOOL), "eschool_slips.so")
    sb.cmd(["install", "-d", "-m", "755", copy], check=True)
    sb.cmd(["install", "-m", "755", ESCHOOL, f"{copy}/eschool"], check=True)
    sb.cmd(["install", "-m", "666", plugin, f"{copy}/eschool_slips.so"], check=True)
    out = sb.private("s.pdf")
    p = sb.cmd([f"{copy}/eschool", "slips", "--reset", "--class", "6A", "-o", out])
    assert p.returncode == 69, (p.returncode, p.stderr)
    assert "eschool_slips.so is missing, or is not root's alone" in p.stderr, p.stderr
    assert "reinstall eschool" in p.stderr
    assert not sb.exists(out)
    for user, password in first.items():
        assert password_ok(sb, user, password), user
    # a link, even to root's own renderer, is not followed
    sb.cmd(["ln", "-sf", plugin, f"{copy}/eschool_slips.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "slips", "--reset", "--class", "6A", "-o", out])
    assert p.returncode == 69 and "not root's alone" in p.stderr, (p.returncode, p.stderr)
    # root's alone again: loaded, the slips drawn
    sb.cmd(["rm", f"{copy}/eschool_slips.so"], check=True)
    sb.cmd(["install", "-m", "644", plugin, f"{copy}/eschool_slips.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "slips", "--reset", "--class", "6A", "-o", out])
    assert p.returncode == 0, p.stderr
    assert set(slip_passwords(sb, out)) == {"edupre", "lmartin"}


def test_reset_without_address_in_production_points_to_slips(sandbox, srv):
    from conftest import configure_mail
    sb = sandbox
    imported(sb)
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    before = sb.snapshot()
    assert_fails(sb.eschool("reset", "edupre"), 65, "no email address", "eschool slips --reset")
    assert sb.snapshot() == before


def test_slips_since_a_day(sandbox):
    """--since: the pupils who arrived since the start of the year, of any
    class (or of the classes given)."""
    sb = sandbox
    start = sb.private("start.csv")
    sb.write(start, ROSTER)
    p = sb.cmd(["faketime", "2026-09-01 09:00:00", ESCHOOL, "import", start])
    assert p.returncode == 0, p.stdout + p.stderr
    later = sb.private("later.csv")
    sb.write(later, "Nom;Prénom;Classe;Email\nPETIT;Hugo;6A;\nROUX;Lina;6B;\n")
    p = sb.cmd(["faketime", "2026-10-05 14:00:00", ESCHOOL, "import", later])
    assert p.returncode == 0, p.stdout + p.stderr
    out = sb.private("since.pdf")
    p = sb.cmd(["faketime", "2026-10-06 08:00:00", ESCHOOL, "--json", "slips", "--reset",
                "--since", "2026-10-05", "-o", out])
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["hpetit", "lroux"]
    assert sorted(slip_passwords(sb, out)) == ["hpetit", "lroux"]
    out2 = sb.private("since6b.pdf")
    p = sb.cmd(["faketime", "2026-10-06 08:00:00", ESCHOOL, "--json", "slips", "--reset",
                "--since", "2026-09-01", "--class", "6B", "-o", out2])
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["jsmith", "lroux",
                                                                    "mnguyen"]
    # nobody since, a day that does not exist
    assert_fails(sb.eschool("slips", "--reset", "--since", "2030-01-01", "-o", out2 + "x"), 67,
                 "since the day given")
    assert_fails(sb.eschool("slips", "--reset", "--since", "2026-02-30", "-o", out2 + "x"), 64,
                 "YYYY-MM-DD")
