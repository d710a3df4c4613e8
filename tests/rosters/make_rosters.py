#!/usr/bin/python3
"""Regenerate the roster fixtures in this directory and expected.json.

Run from anywhere: /usr/bin/python3 tests/rosters/make_rosters.py
The bytes written are deterministic (no dates, no randomness), so running it
again must leave `git status` clean.  See README.md for where each layout
comes from and which parts are verified or assumed.
"""
import csv
import io
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# (NOM as a French export writes it, first name, how a person greets them)
PUPILS = [
    ("DUPRÉ", "Élodie", "Élodie Dupré"),
    ("DE LA FONTAINE", "Anaïs", "Anaïs de La Fontaine"),
    ("N'DIAYE", "Moussa", "Moussa N'Diaye"),
    ("MÜLLER-ŒSTERGAARD", "Zoé", "Zoé Müller-Œstergaard"),
    ("LE GALL", "Yann", "Yann Le Gall"),
    ("D'ALMEIDA", "Inès", "Inès d'Almeida"),
    ("MARTIN-DUBOIS", "Jean-Baptiste", "Jean-Baptiste Martin-Dubois"),
    ("LEFÈVRE", "Chloé", "Chloé Lefèvre"),
    ("O'CONNOR", "Siobhán", "Siobhán O'Connor"),
    ("DU BELLAY", "Joachim", "Joachim du Bellay"),
    ("FRANÇOIS", "Léa", "Léa François"),
    ("ÇELIK", "Emre", "Emre Çelik"),
    ("L'HERMITE", "Gaëlle", "Gaëlle L'Hermite"),
    ("DES ESSARTS", "Noémie", "Noémie des Essarts"),
    ("LE BRIS", "Maëlys", "Maëlys Le Bris"),
    ("GARCÍA LÓPEZ", "Lucía", "Lucía García López"),
    ("SAINT-JUST", "Clément", "Clément Saint-Just"),
    ("BENOÎT", "Thérèse", "Thérèse Benoît"),
    ("DE SOUSA", "Mathéo", "Mathéo de Sousa"),
    ("NGUYEN", "Minh-Anh", "Minh-Anh Nguyen"),
]
TEACHERS = [
    ("ROUSSEAU", "Hélène", "Hélène Rousseau"),
    ("DE VILLIERS", "Marc-Antoine", "Marc-Antoine de Villiers"),
    ("BÉRANGER", "Sophie", "Sophie Béranger"),
    ("KOWALSKI", "Piotr", "Piotr Kowalski"),
]

FEMALE = {"Élodie", "Anaïs", "Zoé", "Inès", "Chloé", "Siobhán", "Léa",
          "Gaëlle", "Noémie", "Maëlys", "Lucía", "Thérèse", "Minh-Anh",
          "Hélène", "Sophie"}


def sex(p):
    return "F" if p[1] in FEMALE else "M"


FOLD = str.maketrans({
    "à": "a", "â": "a", "ä": "a", "á": "a", "ç": "c", "é": "e", "è": "e",
    "ê": "e", "ë": "e", "í": "i", "î": "i", "ï": "i", "ó": "o", "ô": "o",
    "ö": "o", "ù": "u", "û": "u", "ü": "u", "ú": "u", "ÿ": "y", "ñ": "n",
    "œ": "oe", "æ": "ae", "'": "", " ": "",
})


def slug(s):
    return s.lower().translate(FOLD)


def mixed_last(p):
    """The family name as a person types it: 'de La Fontaine', 'N'Diaye'."""
    last, first, display = p
    assert display.startswith(first + " ")
    return display[len(first) + 1:]


def pupil_mail(p, domain="lycee.example.org"):
    return "%s.%s@%s" % (slug(p[1]), slug(mixed_last(p)), domain)


def parent_mail(p, who="famille"):
    return "%s.%s@parents.example.net" % (who, slug(mixed_last(p)))


def serialise(rows, delimiter, eol):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol,
                   quoting=csv.QUOTE_MINIMAL)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


FILES = []  # expected.json entries, in order


def emit(name, fmt, encoding, delimiter, eol, header, rows, people,
         columns, unknown, notes=None, extra=None):
    text = serialise([header] + rows, delimiter, eol)
    if encoding == "utf-16":
        data = "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    else:
        data = text.encode(encoding)  # strict: every character must fit
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    for u in unknown:
        assert u in header, (name, u)
    entry = {
        "file": name,
        "format": fmt,
        "encoding": encoding,
        "delimiter": delimiter,
        "line_ending": "CRLF" if eol == "\r\n" else "LF",
        "header": header,
        "columns": columns,
        "unknown_columns": unknown,
    }
    if notes:
        entry["notes"] = notes
    if extra:
        entry.update(extra)
    entry["people"] = people
    FILES.append(entry)


def person(line, p, cls, email, parent, role="student", username=None,
           last=None, first=None, name_cell=None):
    d = {
        "line": line,
        "first": p[1] if first is None else first,
        "last": p[0] if last is None else last,
        "display": p[2],
        "class": cls,
        "email": email,
        "parent_email": parent,
        "role": role,
        "username": username,
    }
    if name_cell is not None:
        d["name_cell"] = name_cell
    return d


# ---------------------------------------------------------------- Pronote
def pronote():
    header = ["Élève", "Né(e) le", "Sexe", "Classe", "Groupes", "Régime",
              "Adresse E-mail", "Adresse E-mail responsable 1",
              "Portable responsable 1"]
    spec = [  # pupil index, class, groups, has own mail, parent mail?
        (0, "1ère G1", "1G1 ESP LV2, 1G1 SES", True, True),
        (1, "1ère G1", "1G1 ALL LV2", False, True),
        (2, "1ère G1", "1G1 ESP LV2", True, True),
        (3, "1ère G2", "1G2 ALL LV2, 1G2 NSI", True, False),
        (4, "1ère G2", "", False, True),
        (5, "1ère G2", "1G2 ESP LV2", False, False),
        (6, "Tle STMG 2", "TSTMG2 GF", True, True),
        (7, "Tle STMG 2", "TSTMG2 RHC", False, True),
        (8, "Tle STMG 2", "TSTMG2 MERC", True, True),
        (9, "Tle STMG 2", "TSTMG2 GF", False, True),
        (10, "2nde 3", "2DE3 LATIN", True, True),
        (11, "2nde 3", "", False, True),
        (12, "2nde 3", "2DE3 SI", True, False),
        (13, "2nde 3", "2DE3 LATIN", False, True),
    ]
    births = ["14/03/2008", "02/11/2008", "27/06/2008", "09/01/2008",
              "30/09/2008", "18/05/2008", "03/12/2006", "21/04/2007",
              "11/07/2007", "25/02/2007", "06/10/2009", "13/08/2009",
              "29/01/2009", "17/12/2009"]
    rows, people = [], []
    for k, (i, cls, groups, own, par) in enumerate(spec):
        p = PUPILS[i]
        cell = "%s %s" % (p[0], p[1])
        mail = pupil_mail(p) if own else ""
        pmail = parent_mail(p) if par else ""
        phone = "06 12 34 %02d %02d" % (10 + k, 20 + k) if par else ""
        sexe = sex(p)
        regime = ["DP DAN", "EXTERNE LIBRE", "INTERNE", "DP DAN"][k % 4]
        rows.append([cell, births[k], sexe, cls, groups, regime, mail, pmail,
                     phone])
        people.append(person(k + 2, p, cls, mail or None, pmail or None,
                             name_cell=cell))
    emit("pronote-eleves.csv", "pronote", "cp1252", ";", "\r\n", header, rows,
         people,
         {"full_name": "Élève", "full_name_order": "NOM Prénom",
          "class": "Classe", "email": "Adresse E-mail",
          "parent_email": ["Adresse E-mail responsable 1"]},
         ["Né(e) le", "Sexe", "Groupes", "Régime", "Portable responsable 1"])


# ------------------------------------------------------------ ÉcoleDirecte
def ecoledirecte():
    header = ["Nom", "Prénom", "Classe", "Identifiant", "Date de naissance",
              "Sexe", "Email", "Email Responsable 1", "Email Responsable 2"]
    spec = [  # index, class, own mail, resp1, resp2
        (0, "6ème A", False, "mere", "pere"),
        (2, "6ème A", False, "", "pere"),   # only responsible 2 has a mail
        (4, "6ème A", True, "mere", ""),
        (6, "5ème B", True, "pere", "mere"),
        (8, "5ème B", False, "mere", ""),
        (10, "4ème C", True, "", ""),       # pupil mail only
        (12, "4ème C", False, "pere", "mere"),
        (14, "3ème Prépa-Métiers", True, "mere", ""),
        (16, "3ème Prépa-Métiers", False, "", ""),  # no mail at all
        (18, "3ème A", True, "pere", ""),
        (19, "3ème A", False, "mere", "pere"),
    ]
    rows, people = [], []
    for k, (i, cls, own, r1, r2) in enumerate(spec):
        p = PUPILS[i]
        ident = (slug(p[1])[0] + slug(mixed_last(p)).replace("-", ""))[:12]
        mail = pupil_mail(p, "college.example.org") if own else ""
        m1 = parent_mail(p, r1) if r1 else ""
        m2 = parent_mail(p, r2) if r2 else ""
        sexe = sex(p)
        rows.append([p[0], p[1], cls, ident, "%02d/%02d/2012" % (k + 3, k % 12 + 1),
                     sexe, mail, m1, m2])
        people.append(person(k + 2, p, cls, mail or None, (m1 or m2) or None,
                             username=ident))
    emit("ecoledirecte-eleves.csv", "ecoledirecte", "utf-8-sig", ";", "\r\n",
         header, rows, people,
         {"last": "Nom", "first": "Prénom", "class": "Classe",
          "username": "Identifiant", "email": "Email",
          "parent_email": ["Email Responsable 1", "Email Responsable 2"]},
         ["Date de naissance", "Sexe"],
         notes="parent_email is the first non-empty of the listed columns")


# ----------------------------------------------------------------- SIECLE
def siecle():
    header = ["Nom de famille", "Nom d'usage", "Prénom 1", "Prénom 2",
              "Prénom 3", "Date de naissance", "Sexe", "INE", "Division",
              "Code MEF", "Libellé MEF", "Régime", "Courriel élève",
              "Nom représentant légal 1", "Prénom représentant légal 1",
              "Courriel représentant légal 1", "Nom représentant légal 2",
              "Prénom représentant légal 2", "Courriel représentant légal 2"]
    mefs = {"2NDE3": ("20010018110", "2NDE GENERALE ET TECHNOLOGIQUE"),
            "1G1": ("20110019110", "1ERE GENERALE"),
            "TSTMG2": ("21231010110", "TERMINALE STMG GESTION FINANCE")}
    spec = [  # index, division, own mail, rep1 mail, rep2 mail, prénoms 2/3
        (0, "2NDE3", False, True, True, ("Marie", "")),
        (1, "2NDE3", False, True, False, ("Louise", "Jeanne")),
        (3, "2NDE3", False, False, True, ("", "")),   # only rep 2
        (4, "2NDE3", True, True, False, ("Erwan", "")),
        (5, "2NDE3", False, False, False, ("Sofia", "")),  # nobody
        (7, "1G1", False, True, True, ("Anne", "")),
        (9, "1G1", True, False, False, ("Pierre", "Louis")),
        (11, "1G1", False, True, False, ("", "")),
        (13, "1G1", False, True, True, ("Claire", "")),
        (15, "TSTMG2", True, True, False, ("María", "")),
        (17, "TSTMG2", False, True, False, ("Marie", "Bernadette")),
        (6, "TSTMG2", False, True, True, ("Paul", "")),  # nom d'usage case
    ]
    rows, people = [], []
    for k, (i, div, own, m1, m2, (p2, p3)) in enumerate(spec):
        p = PUPILS[i]
        famille, usage = p[0], ""
        if p[0] == "MARTIN-DUBOIS":  # born MARTIN, uses MARTIN-DUBOIS
            famille, usage = "MARTIN", "MARTIN-DUBOIS"
        mail = pupil_mail(p) if own else ""
        r1 = parent_mail(p, "mere") if m1 else ""
        r2 = parent_mail(p, "pere") if m2 else ""
        mef = mefs[div]
        rows.append([famille, usage, p[1], p2, p3,
                     "%02d/%02d/%d" % (k + 5, k % 12 + 1, 2006 + k % 3),
                     sex(p),
                     "%09d%sK" % (71234560 + k, "ABCDEFGHJKLM"[k]),
                     div, mef[0], mef[1],
                     ["DEMI-PENSIONNAIRE DANS L'ETABLISSEMENT", "EXTERNE LIBRE",
                      "INTERNE DANS L'ETABLISSEMENT"][k % 3],
                     mail,
                     famille, "Catherine" if m1 else "Nadia", r1,
                     famille if m2 else "", "Olivier" if m2 else "", r2])
        people.append(person(k + 2, p, div, mail or None, (r1 or r2) or None,
                             last=usage or famille))
    emit("siecle-eleves.csv", "siecle", "cp1252", ";", "\r\n", header, rows,
         people,
         {"last": ["Nom d'usage", "Nom de famille"], "first": "Prénom 1",
          "class": "Division", "email": "Courriel élève",
          "parent_email": ["Courriel représentant légal 1",
                           "Courriel représentant légal 2"]},
         ["Prénom 2", "Prénom 3", "Date de naissance", "Sexe", "INE",
          "Code MEF", "Libellé MEF", "Régime", "Nom représentant légal 1",
          "Prénom représentant légal 1", "Nom représentant légal 2",
          "Prénom représentant légal 2"],
         notes="last is the first non-empty of Nom d'usage, Nom de famille; "
               "parent_email the first non-empty of the listed columns")


# ------------------------------------------------------------------- ONDE
ONDE_PUPILS = [  # index, niveau, cycle, libellé classe, identifiant classe
    (0, "CP", "CYCLE II", "CP Mme Rousseau", "4501"),
    (2, "CP", "CYCLE II", "CP Mme Rousseau", "4501"),
    (4, "CE1", "CYCLE II", "CE1-CE2 M. Kowalski", "4502"),
    (5, "CE2", "CYCLE II", "CE1-CE2 M. Kowalski", "4502"),
    (8, "CE2", "CYCLE II", "CE1-CE2 M. Kowalski", "4502"),
    (9, "CM1", "CYCLE III", "CM1-CM2 Mme Béranger", "4503"),
    (11, "CM1", "CYCLE III", "CM1-CM2 Mme Béranger", "4503"),
    (13, "CM2", "CYCLE III", "CM1-CM2 Mme Béranger", "4503"),
    (16, "CM2", "CYCLE III", "CM1-CM2 Mme Béranger", "4503"),
    (19, "CE1", "CYCLE II", "CE1-CE2 M. Kowalski", "4502"),
]


def onde():
    header = ["Nom élève", "Nom d'usage élève", "Prénom élève",
              "Date naissance", "Sexe", "INE", "Adresse1", "Cp1", "Commune1",
              "Pays1", "Adresse2", "Cp2", "Commune2", "Pays2", " Cycle",
              "Niveau", "Libellé classe", "Identifiant classe",
              "Attestation fournie", "Autorisation associations",
              "Autorisation photo", "Décision de passage"]
    rows, people = [], []
    for k, (i, niv, cyc, lib, ident) in enumerate(ONDE_PUPILS):
        p = PUPILS[i]
        rows.append([p[0], "", p[1], "%02d/%02d/%d" % (k + 4, k % 12 + 1,
                     2018 - ["CP", "CE1", "CE2", "CM1", "CM2"].index(niv)),
                     sex(p),
                     "%09d%s" % (81234500 + k, "BCDEFGHJKL"[k]) + "A",
                     "%d rue des Écoles" % (k + 3), "45000", "Orléans",
                     "FRANCE", "", "", "", "", cyc, niv, lib, ident,
                     "Oui" if k % 3 else "Non", "Non", "Oui" if k % 2 else "Non",
                     ""])
        people.append(person(k + 2, p, lib, None, None))
    emit("onde-eleves.csv", "onde", "cp1252", ";", "\r\n", header, rows,
         people,
         {"last": ["Nom d'usage élève", "Nom élève"], "first": "Prénom élève",
          "class": "Libellé classe"},
         ["Date naissance", "Sexe", "INE", "Adresse1", "Cp1", "Commune1",
          "Pays1", "Adresse2", "Cp2", "Commune2", "Pays2", " Cycle", "Niveau",
          "Identifiant classe", "Attestation fournie",
          "Autorisation associations", "Autorisation photo",
          "Décision de passage"],
         notes="ONDE's pupil list has no e-mail column at all: parents' "
               "addresses are in the separate responsables list "
               "(onde-responsables.csv). ' Cycle' has a leading space in the "
               "export this header was taken from.")


def onde_responsables():
    kid = ["Nom d'usage enfant", "Nom de famille enfant", "Prénom enfant",
           "Classes enfants"]
    header = ["Civilité Responsable", "Nom usage responsable",
              "Nom responsable", "Prénom responsable", "Adresse responsable",
              "CP responsable", "Commune responsable", "Pays", "Courriel",
              "Téléphone domicile", "Téléphone travail", "Téléphone portable"
              ] + kid * 3
    by_index = {i: (k + 2, lib) for k, (i, _n, _c, lib, _id)
                in enumerate(ONDE_PUPILS)}
    # (civilité, first name, pupil indexes, mail?)  -- same surname as child
    spec = [
        ("MME", "Catherine", [0], True),
        ("M.", "Olivier", [0], True),
        ("MME", "Aïssatou", [2], True),
        ("M.", "Ronan", [4], False),          # no e-mail
        ("MME", "Fatima", [5], True),
        ("MME", "Aoife", [8], True),
        ("M.", "Hugues", [9], True),
        ("MME", "Ayşe", [11], False),         # ş is not in cp1252 -> below
        ("MME", "Véronique", [13], True),
        ("M.", "Laurent", [16], True),
        ("MME", "Thu", [19], True),
    ]
    rows, guardians = [], []
    for k, (civ, first, kids, has_mail) in enumerate(spec):
        if first == "Ayşe":
            first = "Ayse"  # the export is Windows-1252: no ş
        p0 = PUPILS[kids[0]]
        mail = parent_mail(p0, slug(first)) if has_mail else ""
        row = [civ, "", p0[0], first, "%d rue des Écoles" % (k + 3), "45000",
               "Orléans", "FRANCE", mail, "", "",
               "06 98 76 %02d %02d" % (k, k + 40)]
        children = []
        for i in kids:
            p = PUPILS[i]
            line, lib = by_index[i]
            row += ["", p[0], p[1], lib]
            children.append({"last": p[0], "first": p[1], "class": lib,
                             "onde_eleves_line": line})
        row += [""] * (len(header) - len(row))
        rows.append(row)
        guardians.append({"line": k + 2, "last": p0[0], "first": first,
                          "email": mail or None, "children": children})
    emit("onde-responsables.csv", "onde", "cp1252", ";", "\r\n", header, rows,
         [], {"last": ["Nom usage responsable", "Nom responsable"],
              "first": "Prénom responsable", "parent_email": ["Courriel"],
              "child_last": ["Nom d'usage enfant", "Nom de famille enfant"],
              "child_first": "Prénom enfant", "child_class": "Classes enfants"},
         [h for h in header if h not in (
             "Nom usage responsable", "Nom responsable", "Prénom responsable",
             "Courriel", "Nom d'usage enfant", "Nom de famille enfant",
             "Prénom enfant", "Classes enfants")],
         notes="A list of legal guardians, not of account holders: people is "
               "empty; guardians[] gives each row's e-mail and the pupils of "
               "onde-eleves.csv it belongs to (the child columns repeat three "
               "times under the same names).",
         extra={"kind": "guardians", "guardians": guardians})


# ------------------------------------------------------- Google Workspace
def workspace():
    header = ["First Name [Required]", "Last Name [Required]",
              "Email Address [Required]", "Password [Required]",
              "Password Hash Function [UPLOAD ONLY]",
              "Org Unit Path [Required]", "New Primary Email [UPLOAD ONLY]",
              "Recovery Email", "Home Secondary Email",
              "Work Secondary Email",
              "Recovery Phone [MUST BE IN THE E.164 FORMAT]", "Work Phone",
              "Home Phone", "Mobile Phone", "Work Address", "Home Address",
              "Employee ID", "Employee Type", "Employee Title",
              "Manager Email", "Department", "Cost Center", "Building ID",
              "Floor Name", "Floor Section",
              "Change Password at Next Sign-In", "New Status [UPLOAD ONLY]",
              "Advanced Protection Program enrollment"]
    rows, people = [], []
    line = 2
    subjects = ["Mathématiques", "Histoire-géographie", "Lettres modernes",
                "Physique-chimie"]
    for k, t in enumerate(TEACHERS):
        mail = "%s.%s@lycee.example.org" % (slug(t[1]), slug(mixed_last(t)))
        r = [""] * len(header)
        r[0], r[1], r[2], r[3] = t[1], mixed_last(t), mail, "****"
        r[5] = "/Enseignants"
        r[7] = "%s.%s@perso.example.net" % (slug(t[1]), slug(mixed_last(t)))
        r[10] = "+3361234%04d" % (5670 + k)
        r[16] = "E%04d" % (k + 1)
        r[17], r[18], r[20] = "Teacher", "Professeur", subjects[k]
        r[25] = "TRUE"
        rows.append(r)
        people.append(person(line, t, None, mail, None, role="teacher",
                             last=mixed_last(t)))
        line += 1
    for k, i in enumerate([0, 1, 2, 3, 4, 5, 8, 12, 14, 15]):
        p = PUPILS[i]
        cls = ["2nde 3", "2nde 3", "2nde 3", "2nde 3", "2nde 3",
               "1ère G1", "1ère G1", "1ère G1", "Tle STMG 2", "Tle STMG 2"][k]
        mail = pupil_mail(p)
        r = [""] * len(header)
        r[0], r[1], r[2], r[3] = p[1], mixed_last(p), mail, "****"
        r[5] = "/Élèves/" + cls
        r[16] = "S%05d" % (20240 + k)
        r[17] = "Student"
        r[25] = "TRUE"
        rows.append(r)
        people.append(person(line, p, cls, mail, None, last=mixed_last(p)))
        line += 1
    known = {"First Name [Required]", "Last Name [Required]",
             "Email Address [Required]", "Org Unit Path [Required]",
             "Employee Type"}
    emit("workspace-users.csv", "workspace", "utf-8", ",", "\n", header, rows,
         people,
         {"first": "First Name [Required]", "last": "Last Name [Required]",
          "email": "Email Address [Required]",
          "class": "Org Unit Path [Required]",
          "class_rule": "last component of an Org Unit Path under /Élèves/; "
                        "none for other paths",
          "role": "Employee Type",
          "role_values": {"Teacher": "teacher", "Student": "student"}},
         [h for h in header if h not in known],
         notes="Email Address is also the Google login; there is no separate "
               "username column, so username is null.")


# ------------------------------------------------ School Data Sync (v1)
def sds():
    header = ["SIS ID", "School SIS ID", "First Name", "Last Name",
              "Username", "Password", "State ID", "Secondary Email",
              "Student Number", "Middle Name", "Grade", "Status",
              "Birthdate", "Graduation Year"]
    rows, people = [], []
    picks = [0, 1, 2, 3, 4, 6, 7, 9, 10, 13, 17, 18]
    for k, i in enumerate(picks):
        p = PUPILS[i]
        user = "%s.%s" % (slug(p[1]), slug(mixed_last(p)))
        second = pupil_mail(p) if k % 3 != 2 else ""
        grade = ["10", "11", "12"][k % 3]
        rows.append(["13%03d" % (k + 1), "0450001X", p[1], mixed_last(p), user,
                     "", "", second, "13%03d" % (k + 1),
                     ["Marie", "", "Louis", ""][k % 4], grade, "Active",
                     "%d-%02d-%02d" % (2010 - k % 3, k % 12 + 1, k + 3),
                     str(2028 - k % 3)])
        people.append(person(k + 2, p, None, second or None, None,
                             username=user, last=mixed_last(p)))
    emit("sds-student.csv", "sds", "utf-8", ",", "\r\n", header, rows, people,
         {"first": "First Name", "last": "Last Name", "username": "Username",
          "email": "Secondary Email", "role": "(file: Student.csv)"},
         ["SIS ID", "School SIS ID", "Password", "State ID", "Student Number",
          "Middle Name", "Grade", "Status", "Birthdate", "Graduation Year"],
         notes="Student.csv carries no class (sections are in Section.csv and "
               "StudentEnrollment.csv) and no guardian (User.csv and "
               "Guardianrelationship.csv).")

    header = ["SIS ID", "School SIS ID", "First Name", "Last Name",
              "Username", "Password", "State ID", "Teacher Number", "Status",
              "Middle Name", "Secondary Email", "Title", "Qualification"]
    rows, people = [], []
    titles = ["Professeure de mathématiques", "Professeur d'histoire, "
              "géographie", "Professeure de lettres", "Professeur de "
              "physique-chimie"]
    for k, t in enumerate(TEACHERS):
        user = "%s.%s" % (slug(t[1]), slug(mixed_last(t)))
        mail = "%s@lycee.example.org" % user
        rows.append(["14%03d" % (k + 1), "0450001X", t[1], mixed_last(t), user,
                     "", "", "%d" % (101 + k), "Active", "", mail, titles[k],
                     ["Agrégée", "Certifié", "Certifiée", "Certifié"][k]])
        people.append(person(k + 2, t, None, mail, None, role="teacher",
                             username=user, last=mixed_last(t)))
    emit("sds-teacher.csv", "sds", "utf-8", ",", "\r\n", header, rows, people,
         {"first": "First Name", "last": "Last Name", "username": "Username",
          "email": "Secondary Email", "role": "(file: Teacher.csv)"},
         ["SIS ID", "School SIS ID", "Password", "State ID", "Teacher Number",
          "Status", "Middle Name", "Title", "Qualification"],
         notes="One Title holds a comma, so it is quoted.")


# ------------------------------------------------ Excel "Unicode text"
def excel():
    header = ["Nom", "Prénom", "Classe", "Email"]
    rows, people = [], []
    for k, i in enumerate([0, 1, 2, 3, 4, 5, 12, 15]):
        p = PUPILS[i]
        cls = ["4ème B", "4ème B", "4ème B", "3ème A", "3ème A", "3ème A",
               "3ème A", "4ème B"][k]
        mail = pupil_mail(p, "college.example.org") if k != 5 else ""
        rows.append([p[0], p[1], cls, mail])
        people.append(person(k + 2, p, cls, mail or None, None))
    emit("excel-unicode.txt", "excel", "utf-16", "\t", "\r\n", header, rows,
         people, {"last": "Nom", "first": "Prénom", "class": "Classe",
                  "email": "Email"}, [],
         notes="UTF-16LE with a byte order mark (FF FE), as Excel's "
               "'Unicode Text (*.txt)' writes it.")


# ------------------------------------------------------ eschool's own
def plain():
    header = ["username", "name", "email", "role", "parent_email", "class",
              "lang"]
    spec = [  # who, name cell, username, email, role, parent, class, lang
        (PUPILS[0], "Élodie Dupré", "edupre", True, "student", True, "2nde A", "fr"),
        (PUPILS[1], "DE LA FONTAINE Anaïs", "", True, "student", True, "2nde A", "fr"),
        (PUPILS[2], "Moussa N'Diaye", "mndiaye", True, "student", False, "2nde A", "fr"),
        (PUPILS[3], "Zoé Müller-Œstergaard", "", True, "student", True, "2nde A", "en"),
        (PUPILS[6], "Martin-Dubois, Jean-Baptiste", "", True, "student", True, "1ère G1", "fr"),
        (PUPILS[4], "LE GALL Yann", "ylegall", True, "student", False, "1ère G1", ""),
        (PUPILS[8], "Siobhán O'Connor", "", True, "student", True, "1ère G1", "en"),
        (TEACHERS[0], "Hélène Rousseau", "hrousseau", True, "teacher", False, "", "fr"),
        (TEACHERS[1], "de Villiers, Marc-Antoine", "", True, "teacher", False, "", "fr"),
    ]
    rows, people = [], []
    for k, (p, cell, user, own, role, par, cls, lang) in enumerate(spec):
        dom = "lycee.example.org"
        mail = "%s.%s@%s" % (slug(p[1]), slug(mixed_last(p)), dom)
        pmail = parent_mail(p) if par else ""
        rows.append([user, cell, mail, role, pmail, cls, lang])
        if ", " in cell:
            last, first = cell.split(", ", 1)
        elif cell.startswith(p[1] + " "):
            first, last = p[1], cell[len(p[1]) + 1:]
        else:
            last, first = cell[:-len(p[1]) - 1], p[1]
        people.append(person(k + 2, p, cls or None, mail, pmail or None,
                             role=role, username=user or None, last=last,
                             first=first, name_cell=cell))
    emit("plain.csv", "plain", "utf-8", ",", "\n", header, rows, people,
         {"full_name": "name",
          "full_name_order": "any of 'Prénom Nom', 'NOM Prénom', "
                             "'Nom, Prénom'",
          "username": "username", "email": "email", "role": "role",
          "parent_email": ["parent_email"], "class": "class", "lang": "lang"},
         [],
         notes="Two names hold a comma ('Nom, Prénom') and are quoted; "
               "an empty username means: derive it.")


# ------------------------------------------------------- unknown columns
def bad_columns():
    header = ["Nom", "Prénom", "Date de naissance", "Sexe", "Email", "Régime",
              "Option 1"]
    rows, people = [], []
    for k, i in enumerate([0, 2, 4, 9, 11, 13, 19, 16]):
        p = PUPILS[i]
        mail = pupil_mail(p)
        rows.append([p[0], p[1], "%02d/%02d/2009" % (k + 2, k + 1),
                     sex(p), mail,
                     ["Demi-pensionnaire", "Externe", "Interne"][k % 3],
                     ["Latin", "", "Section européenne", "Grec ancien"][k % 4]])
        people.append(person(k + 2, p, None, mail, None))
    emit("bad-columns.csv", "excel", "utf-8", ";", "\n", header, rows, people,
         {"last": "Nom", "first": "Prénom", "email": "Email"},
         ["Date de naissance", "Sexe", "Régime", "Option 1"],
         notes="Three known columns and four unknown ones: the importer "
               "should name all four in one warning.")


def main():
    pronote()
    ecoledirecte()
    siecle()
    onde()
    onde_responsables()
    workspace()
    sds()
    excel()
    plain()
    bad_columns()
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8",
              newline="\n") as f:
        json.dump({"files": FILES}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
