"""One message catalogue (lib/es_msg, po/fr.po): every text the code hands to
a translating function has its French, the French keeps the English's printf
conversions, the compiled table is the po file's, and a French terminal sees
French from the helper's own messages, the library's errors and the usages."""
import os
import re
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))
import po2c  # noqa: E402

FR = {"LANG": "fr_FR.UTF-8"}
CONVERSION = re.compile(r"%[-+ #0]*[0-9*]*(\.[0-9*]+)?(hh|h|ll|l|z|j|t|L)?[diouxXcsp%]")


def has_words(text):
    """Whether a text has something to translate (not only "%s: %s\n")."""
    return any(ch.isalpha() for ch in CONVERSION.sub("", text))


def extracted(tmp_path):
    """The msgids xgettext finds in the code today (make pot's flags)."""
    pot = tmp_path / "eschool.pot"
    subprocess.run(["make", "-s", "-C", TOP, "pot", f"POT_OUT={pot}"], check=True,
                   capture_output=True)
    ids = set()
    for msgid, _ in po2c.entries(str(pot), keep_untranslated=True):
        ids.add(msgid)
    return ids


def test_every_text_in_the_code_has_its_french(tmp_path):
    ids = extracted(tmp_path)
    assert len(ids) > 300
    french = dict(po2c.entries(os.path.join(TOP, "po", "fr.po")))
    missing = sorted(i for i in ids if has_words(i) and i not in french)
    assert not missing, f"{len(missing)} texts without French (make po, then translate " \
                        f"po/fr.po): {missing[:10]}"


def test_the_french_keeps_the_printf_conversions():
    p = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", os.path.join(TOP, "po", "fr.po")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_the_compiled_table_is_the_po_files():
    p = subprocess.run([sys.executable, os.path.join(TOP, "tools", "po2c.py"),
                        os.path.join(TOP, "po", "fr.po")], capture_output=True, text=True,
                       check=True)
    with open(os.path.join(TOP, "lib", "es_msg_fr.inc"), encoding="utf-8") as f:
        assert f.read() == p.stdout, "lib/es_msg_fr.inc is stale: run make po"


def test_a_french_terminal_reads_french(sandbox):
    # the helper's own message, a usage error, a usage, and a library error
    p = sandbox.eschool("show", "nobody", env=FR)
    assert p.returncode == 67 and "aucun compte nobody géré par eschool" in p.stderr, p.stderr
    p = sandbox.eschool("add", "bob", env=FR)
    assert p.returncode == 64 and "add exige --email ADDR" in p.stderr, p.stderr
    assert "usage : eschool add USER --email ADDR" in p.stderr, p.stderr
    p = sandbox.eschool("add", "bob", "--email", "a..b@school.example", env=FR)
    assert p.returncode == 65 and "adresse mail invalide" in p.stderr, p.stderr
    # and an English one English
    p = sandbox.eschool("add", "bob", "--email", "a..b@school.example")
    assert p.returncode == 65 and "invalid email address" in p.stderr, p.stderr


@pytest.mark.parametrize("lang", ["C.UTF-8", "fr_FR.UTF-8"])
def test_every_usage_prints(sandbox, lang):
    for command in ["add", "import", "reset", "list", "queue", "doctor", "check-dns"]:
        p = sandbox.eschool(command, "--help", env={"LANG": lang})
        assert p.returncode == 0 and p.stdout.startswith("usage"), p
