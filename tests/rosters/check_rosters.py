#!/usr/bin/python3
"""Check the roster fixtures against expected.json.

Each file is decoded with its declared encoding and split with Python's csv
module and its declared delimiter; the header must equal expected.json's and
every person (and every guardian of onde-responsables.csv) must be found on
its physical line with the first name, family name, e-mail, parent e-mail,
class and username expected.json gives.  Exit status 1 on any mismatch.
"""
import codecs
import csv
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FAILS = []
KNOWN_FIELDS = {"first", "last", "full_name", "email", "parent_email",
                "class", "username", "role", "lang"}


def fail(where, msg):
    FAILS.append("%s: %s" % (where, msg))


def first_nonempty(row, names):
    if isinstance(names, str):
        names = [names]
    for n in names:
        if row.get(n):
            return row[n]
    return None


def decode(name, raw, encoding):
    if encoding == "utf-16":
        if not raw.startswith(codecs.BOM_UTF16_LE):
            fail(name, "no UTF-16LE byte order mark")
    elif encoding == "utf-8-sig":
        if not raw.startswith(codecs.BOM_UTF8):
            fail(name, "no UTF-8 byte order mark")
    elif raw.startswith(codecs.BOM_UTF8):
        fail(name, "unexpected UTF-8 byte order mark")
    if encoding == "cp1252":
        try:
            raw.decode("utf-8")
            if any(b > 0x7F for b in raw):
                fail(name, "declared cp1252 but is valid UTF-8")
        except UnicodeDecodeError:
            pass
    return raw.decode(encoding)  # strict


def check_line_ends(name, text, style):
    crlf = text.count("\r\n")
    lf = text.count("\n")
    if style == "CRLF" and (crlf != lf or text.count("\r") != crlf):
        fail(name, "not CRLF throughout")
    if style == "LF" and "\r" in text:
        fail(name, "CR found in an LF file")
    if not text.endswith("\n"):
        fail(name, "last line has no line end")


def rows_by_line(text, delimiter):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        strict=True)
    header = next(reader)
    out = {}
    start = reader.line_num + 1
    for rec in reader:
        out[start] = rec
        start = reader.line_num + 1
    return header, out


def check_file(entry):
    name = entry["file"]
    with open(os.path.join(HERE, name), "rb") as f:
        raw = f.read()
    text = decode(name, raw, entry["encoding"])
    check_line_ends(name, text, entry["line_ending"])
    header, rows = rows_by_line(text, entry["delimiter"])
    if header != entry["header"]:
        fail(name, "header %r != expected %r" % (header, entry["header"]))
        return
    for n, rec in rows.items():
        if len(rec) != len(header):
            fail("%s:%d" % (name, n), "%d fields, header has %d"
                 % (len(rec), len(header)))
    for u in entry["unknown_columns"]:
        if u not in header:
            fail(name, "unknown column %r not in header" % u)
    cols = entry["columns"]
    for k in cols:
        if k not in KNOWN_FIELDS and not k.startswith("child_") and \
                not k.endswith(("_rule", "_order", "_values")):
            fail(name, "columns has an odd key %r" % k)
    mapped = set()
    for k, v in cols.items():
        if k.endswith(("_rule", "_order", "_values")):
            continue
        for c in ([v] if isinstance(v, str) else v):
            if c.startswith("(file:"):
                continue
            if c not in header:
                fail(name, "mapped column %r not in header" % c)
            mapped.add(c)
    for h in header:
        if (h in mapped) == (h in entry["unknown_columns"]):
            fail(name, "column %r is %s mapped and unknown" %
                 (h, "both" if h in mapped else "neither"))

    def get(row, field):
        spec = cols.get(field)
        if spec is None or (isinstance(spec, str) and spec.startswith("(file:")):
            return None
        return first_nonempty(row, spec)

    seen = set()
    for p in entry["people"]:
        where = "%s:%d" % (name, p["line"])
        rec = rows.get(p["line"])
        if rec is None:
            fail(where, "no record starts on this line")
            continue
        seen.add(p["line"])
        row = {}
        for h, v in zip(header, rec):
            row.setdefault(h, v)  # first of duplicated names
        if "full_name" in cols:
            cell = row[cols["full_name"]]
            if cell != p.get("name_cell"):
                fail(where, "name cell %r != %r" % (cell, p.get("name_cell")))
            forms = {"%s %s" % (p["last"], p["first"]),
                     "%s %s" % (p["first"], p["last"]),
                     "%s, %s" % (p["last"], p["first"])}
            if cell not in forms:
                fail(where, "name cell %r is not made of %r and %r"
                     % (cell, p["first"], p["last"]))
        else:
            for field in ("first", "last"):
                got = get(row, field)
                if got != p[field]:
                    fail(where, "%s %r != expected %r" % (field, got, p[field]))
        for field in ("email", "parent_email", "username"):
            got = get(row, field)
            if got != p[field]:
                fail(where, "%s %r != expected %r" % (field, got, p[field]))
        if "class" in cols:
            got = get(row, "class")
            rule = cols.get("class_rule", "")
            if got is not None and rule.startswith("last component"):
                got = got.split("/")[-1] if got.startswith("/Élèves/") else None
            if got != p["class"]:
                fail(where, "class %r != expected %r" % (got, p["class"]))
        elif p["class"] is not None:
            fail(where, "class given but the file has no class column")
        if "role" in cols and not cols["role"].startswith("(file:"):
            got = row[cols["role"]]
            got = cols.get("role_values", {}).get(got, got)
            if got != p["role"]:
                fail(where, "role %r != expected %r" % (got, p["role"]))
        for v in (p["email"], p["parent_email"]):
            if v and not v.split("@")[1].endswith((".example.org",
                                                   ".example.net")):
                fail(where, "address %r is not at a reserved domain" % v)
    if entry.get("kind") != "guardians" and seen != set(rows):
        fail(name, "records on lines %s have no person in expected.json"
             % sorted(set(rows) - seen))
    if entry.get("kind") == "guardians":
        check_guardians(entry, header, rows)


def check_guardians(entry, header, rows):
    name = entry["file"]
    ix = [i for i, h in enumerate(header) if h == "Nom de famille enfant"]
    with open(os.path.join(HERE, "onde-eleves.csv"), "rb") as f:
        e_header, e_rows = rows_by_line(f.read().decode("cp1252"), ";")
    for g in entry["guardians"]:
        where = "%s:%d" % (name, g["line"])
        rec = rows.get(g["line"])
        if rec is None:
            fail(where, "no record starts on this line")
            continue
        row = dict(zip(header, rec))
        if row["Courriel"] != (g["email"] or ""):
            fail(where, "Courriel %r != %r" % (row["Courriel"], g["email"]))
        if row["Prénom responsable"] != g["first"] or \
                row["Nom responsable"] != g["last"]:
            fail(where, "guardian name differs")
        kids = [(rec[i], rec[i + 1], rec[i + 2]) for i in ix if rec[i]]
        want = [(c["last"], c["first"], c["class"]) for c in g["children"]]
        if kids != want:
            fail(where, "children %r != %r" % (kids, want))
        for c in g["children"]:
            e = dict(zip(e_header, e_rows.get(c["onde_eleves_line"], [])))
            if (e.get("Nom élève"), e.get("Prénom élève"),
                    e.get("Libellé classe")) != (c["last"], c["first"],
                                                 c["class"]):
                fail(where, "child not on onde-eleves.csv line %d"
                     % c["onde_eleves_line"])


def main():
    with open(os.path.join(HERE, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    names = [e["file"] for e in expected["files"]]
    on_disk = sorted(n for n in os.listdir(HERE)
                     if n.endswith((".csv", ".txt")))
    if sorted(names) != on_disk:
        fail("expected.json", "files %r != on disk %r" % (names, on_disk))
    for entry in expected["files"]:
        try:
            check_file(entry)
        except (UnicodeDecodeError, csv.Error, KeyError) as e:
            fail(entry["file"], "%s: %s" % (type(e).__name__, e))
    for m in FAILS:
        print(m, file=sys.stderr)
    n = sum(len(e["people"]) for e in expected["files"])
    print("%d files, %d people: %s" % (len(names), n,
                                        "FAIL" if FAILS else "ok"))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
