"""The credential slips' PDF (helper/slips_pdf.c, issue 19), through
tests/slipsdemo.c: read back with poppler (pdftotext, pdftoppm, pdfimages,
package poppler-utils).

Each slip is read from its own cell of its page (pdftotext -x -y -W -H, in
points at -r 72): its username, password, name and class are there, in
its language, and nowhere else in the file. The page of each slip follows
from the order: classes in natural order (5B before 10A), no class last,
a class header page, then 8 slips a page in the order they were given.
The file is new (O_EXCL), 0600 whatever the umask, and removed when a
write fails. Nothing needs root or a sandbox."""
import calendar
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import zlib

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL  # noqa: E402

BUILD = os.path.dirname(ESCHOOL)
SLIPSDEMO = os.path.join(BUILD, "slipsdemo")
SCHOOL = "Lycée Exemple"
NOW = calendar.timegm((2026, 9, 1, 7, 30, 0))
EXPIRES = calendar.timegm((2026, 12, 17, 17, 35, 0))
EXPIRES_FIRST = calendar.timegm((2027, 3, 1, 8, 5, 0))
ENV = dict(os.environ, TZ="UTC")

# helper/slips_pdf.c's geometry (A4 in points)
PAGE_W, PAGE_H, MARGIN, COLS, ROWS = 595.28, 841.89, 22.0, 2, 4
CELL_W, CELL_H = (PAGE_W - 2 * MARGIN) / COLS, (PAGE_H - 2 * MARGIN) / ROWS

PW_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
LONG_NAME = ("Marie-Bernadette Anne-Sophie Éléonore " * 4)[:120]

FR_TEXTS = ["Identifiant :", "Mot de passe", "1. Connectez-vous", "2. Vous devrez",
            "3. Gardez-le secret"]
EN_TEXTS = ["Username:", "Temporary", "1. Log in with", "2. You will be asked",
            "3. Keep it secret"]
LABEL_WORDS = {"Temporary", "password:", "Mot", "de", "passe", "provisoire", ":"}


@pytest.fixture(scope="module", autouse=True)
def tools():
    for tool in ("pdftotext", "pdftoppm", "pdfimages"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: make deps-test (poppler-utils)")
    if not os.path.exists(SLIPSDEMO):
        pytest.fail(f"{SLIPSDEMO} is missing: run make")


def slip(name, klass, username, password, lang, expires=EXPIRES):
    return {"name": name, "class": klass, "username": username, "password": password,
            "lang": lang, "expires": expires}


def roster():
    """A class of 30 (5B), one of 3 (10A) and a pupil with no class, given
    mixed up: the no-class pupil first, 10A's among 5B's."""
    rnd = random.Random(19)

    def pw():
        return "".join(rnd.choice(PW_ALPHABET) for _ in range(12))

    five_b = []
    for i in range(30):
        name = f"Élève Numéro {i:02d}"
        if i == 0:
            name = "Zoé <b>Martin</b> & Cie"
        elif i == 1:
            name = LONG_NAME
        elif i == 2:
            name = "Ærøskøbing Ñúñez-Ğül"
        five_b.append(slip(name, "5B", f"e5b{i:02d}x", pw(), "fr" if i % 2 == 0 else "en",
                           EXPIRES_FIRST if i == 3 else EXPIRES))
    ten_a = [slip(f"Pupil {i}", "10A", f"p10a{i}x", pw(), "en") for i in range(3)]
    lone = slip("Lou Seul", "", "lone01x", pw(), "fr", 0)
    given = [lone] + five_b[:10] + ten_a[:2] + five_b[10:] + ten_a[2:]
    # where each should be: (page, cell), pages counted from 1
    where = {}
    for s_i, s in enumerate(five_b):
        where[s["username"]] = (2 + s_i // 8, s_i % 8)
    for s_i, s in enumerate(ten_a):
        where[s["username"]] = (7 + s_i // 8, s_i % 8)
    where[lone["username"]] = (9, 0)
    return given, where


def tsv(slips):
    return "".join(f"{s['name']}\t{s['class']}\t{s['username']}\t{s['password']}\t"
                   f"{s['lang']}\t{s['expires']}\n" for s in slips)


def run_demo(out, slips, logo="-", header_lang="en", umask=None, preexec=None):
    return subprocess.run([SLIPSDEMO, str(out), SCHOOL, str(logo), str(NOW), header_lang],
                          input=tsv(slips), capture_output=True, text=True, env=ENV,
                          umask=-1 if umask is None else umask, preexec_fn=preexec,
                          timeout=120)


def text(pdf, page, box=None):
    """pdftotext of one page, or of the box (x, y, w, h) in points on it."""
    args = ["pdftotext", "-f", str(page), "-l", str(page), "-layout"]
    if box is not None:
        x, y, w, h = box
        args += ["-r", "72", "-x", str(int(x) + 1), "-y", str(int(y) + 1),
                 "-W", str(int(w) - 2), "-H", str(int(h) - 2)]
    r = subprocess.run(args + [str(pdf), "-"], capture_output=True, text=True, check=True)
    return r.stdout


def cell_box(cell):
    col, row = cell % COLS, cell // COLS
    return (MARGIN + col * CELL_W, MARGIN + row * CELL_H, CELL_W, CELL_H)


def pages(pdf):
    r = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", r.stdout, re.M).group(1))


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def make_png(width, height):
    """An RGB PNG: a dark blue square on white."""
    rows = b""
    for y in range(height):
        row = b"\x00"
        for x in range(width):
            dark = width // 4 <= x < 3 * width // 4 and height // 4 <= y < 3 * height // 4
            row += b"\x10\x20\x80" if dark else b"\xff\xff\xff"
        rows += row
    return (b"\x89PNG\r\n\x1a\n" +
            png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def png_pixels(data):
    """(width, height, rows of RGB bytes) of an 8-bit RGB or grey PNG, as
    pdftoppm writes them: the chunks, zlib and the row filters undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype = ihdr[:4]
    assert depth == 8 and ctype in (0, 2), ihdr
    bpp = 3 if ctype == 2 else 1
    raw, stride, prev, out = zlib.decompress(idat), width * bpp, bytearray(width * bpp), []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        out.append(bytes(line) if bpp == 3 else bytes(v for v in line for _ in range(3)))
        prev = line
    return width, height, out


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    """The roster's PDF, made once with a logo, under umask 0."""
    given, where = roster()
    logo = tmp_path_factory.mktemp("logo") / "logo.png"
    logo.write_bytes(make_png(64, 32))
    pdf = tmp_path_factory.mktemp("slips") / "slips.pdf"
    r = run_demo(pdf, given, logo=logo, umask=0)
    assert r.returncode == 0, r.stderr
    assert "left out" not in r.stderr
    return pdf, given, where


def test_pages_and_headers(doc):
    pdf, _, _ = doc
    # 5B: header + 4 pages of 8, 8, 8, 6; 10A: header + 1; no class: header + 1
    assert pages(pdf) == 9
    for page, title, count in ((1, "Class 5B", 30), (6, "Class 10A", 3), (8, "No class", 1)):
        t = text(pdf, page)
        assert SCHOOL in t and "Credential slips" in t, t
        assert title in t and f"Slips: {count}" in t, t
        assert "Date: 1 September 2026, 07:30" in t, t
        assert "Cut along the dashed lines" in t, t


def test_every_slip_in_its_cell(doc):
    pdf, given, where = doc
    whole = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    for s in given:
        page, cell = where[s["username"]]
        t = text(pdf, page, cell_box(cell))
        assert s["username"] in t, (s["username"], page, cell, t)
        assert s["password"] in t, (s["username"], page, cell, t)
        # once in the whole file: on its own slip only
        assert whole.count(s["username"]) == 1, s["username"]
        assert whole.count(s["password"]) == 1, s["username"]
        assert SCHOOL in t, t
        if s["class"]:
            assert ("Classe " if s["lang"] == "fr" else "Class ") + s["class"] in t, t
        else:
            assert "Class" not in t, t
        mine, theirs = (FR_TEXTS, EN_TEXTS) if s["lang"] == "fr" else (EN_TEXTS, FR_TEXTS)
        for phrase in mine:
            assert phrase in t, (s["username"], phrase, t)
        for phrase in theirs:
            assert phrase not in t, (s["username"], phrase, t)


def test_names_and_dates(doc):
    pdf, given, where = doc

    def slip_text(i):
        return text(pdf, *((lambda p, c: (p, cell_box(c)))(*where[given[i]["username"]])))

    # given[1..3]: 5B's first three; [4]: the date on the 1st of a month
    assert "Zoé <b>Martin</b> & Cie" in slip_text(1)
    # cut after two lines with an ellipsis, which the PDF's text gives
    # back as the name it stands for: the cut is checked by test_fits
    assert LONG_NAME[:40] in " ".join(slip_text(2).split())
    assert "Ærøskøbing Ñúñez-Ğül" in slip_text(3)
    assert "Valable jusqu'au 17 décembre 2026 à 17 h 35" in slip_text(1)
    assert "Valid until 17 December 2026, 17:35" in slip_text(2)
    assert "Valid until 1 March 2027, 08:05" in slip_text(4)
    lone = slip_text(0)
    assert "Lou Seul" in lone and "Valable" not in lone


def words(pdf, page):
    """(word, xMin, yMin, xMax, yMax) on a page, in points (pdftotext -bbox)."""
    r = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                       capture_output=True, text=True, check=True)
    return [(w, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                       r'yMax="([\d.]+)">([^<]*)</word>', r.stdout)]


def assert_inside_cells(pdf, page, count):
    """Every word of the page inside one of the count first cells, clear
    of the cut lines (nothing clipped, nothing on a neighbour)."""
    boxes = [cell_box(c) for c in range(count)]
    found = words(pdf, page)
    assert found
    for w, x0, y0, x1, y1 in found:
        assert any(bx + 4 <= x0 and x1 <= bx + bw - 4 and by + 4 <= y0 and y1 <= by + bh - 2
                   for bx, by, bw, bh in boxes), (page, w, x0, y0, x1, y1)


def test_fits(doc, tmp_path):
    """The longest of everything on every slip of a page: a 120-character
    name (two lines, then cut), a 32-character username, a 64-character
    password, the French texts and a date: all of it inside its slip."""
    pdf, _, where = doc
    for page, count in ((2, 8), (5, 6), (7, 3), (9, 1)):
        assert_inside_cells(pdf, page, count)
    rnd = random.Random(64)
    worst = [slip(LONG_NAME, "Terminale STMG 2 — groupe de langues", f"{'x' * 30}{i:02d}",
                  "".join(rnd.choice(PW_ALPHABET) for _ in range(64)), "fr" if i % 2 else "en")
             for i in range(8)]
    out = tmp_path / "worst.pdf"
    r = run_demo(out, worst)
    assert r.returncode == 0, r.stderr
    assert_inside_cells(out, 2, 8)
    for cell, s in enumerate(worst):
        t = text(out, 2, cell_box(cell))
        # a wrapped password: its lines joined, the label beside them left out
        flat = "".join(w for w in t.split() if w not in LABEL_WORDS)
        assert s["username"] in flat and s["password"] in flat, t
        assert ("3. Gardez-le secret" if s["lang"] == "fr" else "3. Keep it secret") in t, t


def test_french_first_of_month(tmp_path):
    s = slip("Un Élève", "4C", "eleve01x", "Pw9xYz8wVvKm", "fr", EXPIRES_FIRST)
    r = run_demo(tmp_path / "fr.pdf", [s], header_lang="fr")
    assert r.returncode == 0, r.stderr
    t = text(tmp_path / "fr.pdf", 2)
    assert "Valable jusqu'au 1er mars 2027 à 8 h 05" in t, t
    header = text(tmp_path / "fr.pdf", 1)
    assert "Classe 4C" in header and "Coupons : 1" in header, header
    assert "Date : 1er septembre 2026 à 7 h 30" in header, header


def test_mode_0600_under_umask_0(doc):
    pdf, _, _ = doc
    st = os.lstat(pdf)
    assert st.st_mode & 0o7777 == 0o600, oct(st.st_mode)


def test_logo_drawn(doc):
    pdf, _, _ = doc
    r = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                       check=True)
    images = [line for line in r.stdout.splitlines()[2:] if line.strip()]
    # one on each slip and each header page (cairo may share one object)
    assert len(images) >= 1, r.stdout
    assert " 64 " in images[0] and " 32 " in images[0], r.stdout


def test_page_renders(doc, tmp_path):
    pdf, _, _ = doc
    subprocess.run(["pdftoppm", "-r", "50", "-f", "2", "-l", "2", "-png", str(pdf),
                    str(tmp_path / "page")], check=True, capture_output=True)
    made = list(tmp_path.glob("page*.png"))
    assert len(made) == 1, made
    width, height, rows = png_pixels(made[0].read_bytes())
    # A4 at 50 dpi (poppler rounds the width up or down)
    assert width in (413, 414) and height == 585, (width, height)
    dark = sum(1 for row in rows for i in range(0, len(row), 3)
               if row[i] < 100 and row[i + 1] < 100 and row[i + 2] < 100)
    # text on 8 slips, but a page mostly white
    assert 2000 < dark < width * height // 4, dark


def test_existing_file_refused_and_intact(tmp_path):
    out = tmp_path / "slips.pdf"
    out.write_text("the slips of last year\n")
    given, _ = roster()
    r = run_demo(out, given[:3])
    assert r.returncode == 73, r.stderr
    assert "exists: choose another file name or remove it" in r.stderr
    assert "existe déjà" in r.stderr
    assert out.read_text() == "the slips of last year\n"


def test_symlink_refused(tmp_path):
    target = tmp_path / "elsewhere"
    link = tmp_path / "slips.pdf"
    link.symlink_to(target)
    given, _ = roster()
    r = run_demo(link, given[:3])
    assert r.returncode == 73, r.stderr
    assert "is a symbolic link" in r.stderr
    assert link.is_symlink() and not target.exists()
    # a link to a file: the file is left as it was
    target.write_text("keep\n")
    r = run_demo(link, given[:3])
    assert r.returncode == 73 and target.read_text() == "keep\n", r.stderr


def test_failed_write_leaves_nothing(tmp_path):
    """A write that fails (here the file size limit, SIGXFSZ ignored as the
    helper's caller may) removes the partial file."""
    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    out = tmp_path / "slips.pdf"
    given, _ = roster()
    r = run_demo(out, given, preexec=small_files)
    assert r.returncode == 74, r.stderr
    assert "cannot write" in r.stderr, r.stderr
    assert not out.exists() and os.listdir(tmp_path) == []


def test_bad_input_makes_no_file(tmp_path):
    out = tmp_path / "slips.pdf"
    r = run_demo(out, [])
    assert r.returncode == 65 and "no slips to print" in r.stderr, r.stderr
    secret = "Zz9SecretPw"
    r = run_demo(out, [slip("Bad\x01Name", "5B", "bad01x", secret, "en")])
    assert r.returncode == 65 and "slip 1:" in r.stderr, r.stderr
    assert secret not in r.stderr
    assert not out.exists()


def test_bad_logo_left_out(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(make_png(40, 40)[:60] + os.urandom(200))
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)))
    given, _ = roster()
    for logo in (bad, huge):
        out = tmp_path / f"{logo.stem}.pdf"
        r = run_demo(out, given[:3], logo=logo)
        assert r.returncode == 0, r.stderr
        assert "the logo is left out" in r.stderr
        assert given[1]["password"] in text(out, 2) + text(out, 3)


def test_missing_font_refused(tmp_path):
    """Without DejaVu Sans Mono fontconfig would pick another monospace
    font: refused before any file exists."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<fontconfig><dir>{tmp_path}/none</dir>'
                    f"<cachedir>{tmp_path}/cache</cachedir></fontconfig>\n")
    out = tmp_path / "slips.pdf"
    given, _ = roster()
    env = dict(ENV, FONTCONFIG_FILE=str(conf))
    r = subprocess.run([SLIPSDEMO, str(out), SCHOOL, "-", str(NOW)], input=tsv(given[:2]),
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 69, r.stderr
    assert "DejaVu Sans Mono is not installed" in r.stderr
    assert not out.exists()


def test_module_links_no_cairo():
    """cairo and pango are the slips' renderer's (eschool_slips.so, loaded
    by the commands that draw slips): the PAM module, its directory plugin
    and the eschool command itself never load them (nor glib) at start."""
    for so in ("pam_eschool.so", "pam_eschool_ldap.so", "eschool"):
        r = subprocess.run(["readelf", "-d", os.path.join(BUILD, so)], capture_output=True,
                           text=True, check=True)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)
        assert needed, r.stdout
        for lib in needed:
            assert not re.match(r"lib(cairo|pango|glib|gobject|harfbuzz)", lib), (so, lib)
