"""Integration fixtures: every test that creates accounts runs eschool inside a
private mount namespace (tests/sandbox-start) with a copy of /etc and tmpfs over
/home, /var/log, /var/mail, /var/lib and /var/spool, so the host never changes.
The session checks at the end that the host's account files are untouched."""
import contextlib
import json
import os
import re
import sys
import time
import warnings

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL, Sandbox, host_changes, host_snapshot  # noqa: E402

with warnings.catch_warnings():
    # Debian 12's python3.11 still has crypt (libxcrypt: yescrypt and SHA-512)
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402

DEFAULT_CONF = "[general]\nmode = debug\nschool_name = Lycée Exemple\n"
CONF = "/etc/eschool/eschool.conf"
STATE_DIR = "/var/lib/eschool"

# The `random` style's alphabet: letters and digits without 0 O 1 l I.
RANDOM_PW = re.compile(r"[A-HJ-NP-Za-km-z2-9]+")
USERNAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@pytest.fixture(scope="session", autouse=True)
def host_untouched():
    before = host_snapshot()
    yield
    assert not host_changes(before), f"the test suite changed the host's {host_changes(before)}"


@contextlib.contextmanager
def new_sandbox(conf=DEFAULT_CONF):
    """A started sandbox with a school's config (debug mode); closed on exit."""
    if os.geteuid() != 0:
        pytest.fail("integration tests must run as root (they use mount namespaces)")
    if not os.path.exists(ESCHOOL):
        pytest.fail("build/eschool is missing: run make")
    sb = Sandbox()
    try:
        if conf is not None:
            sb.write(CONF, conf)
        yield sb
    finally:
        sb.close()


@pytest.fixture
def sandbox():
    # a config like a school's, debug mode
    with new_sandbox() as sb:
        yield sb


# ---- checks shared by the test files ----

def password_ok(sb, user, password):
    """True when `password` opens `user`'s hash in the sandbox's /etc/shadow."""
    entry = sb.shadow_entry(user)
    assert entry is not None, f"{user} has no /etc/shadow entry"
    return hash_ok(entry[1], password)


def hash_ok(hashed, password):
    return hashed not in ("", "!", "*", "x") and crypt.crypt(password, hashed) == hashed


def credentials_human(stdout):
    """Username/password pairs of `add`/`reset` human output."""
    users = re.findall(r"^  Username:\s+(\S+)$", stdout, re.M)
    pws = re.findall(r"^  Password:\s+(\S+)$", stdout, re.M)
    assert len(users) == len(pws), stdout
    return dict(zip(users, pws))


def json_lines(stdout):
    """Every stdout line must be one JSON object."""
    objs = []
    for line in stdout.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        objs.append(obj)
    return objs


MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}
# a date and time as a mail writes it, in either language, and an ISO date
MAIL_WHEN = {
    "fr": re.compile(r"\b(1er|[1-9]|[12][0-9]|3[01]) (%s) \d{4} à ([01]?[0-9]|2[0-3]) h [0-5][0-9]\b"
                     % "|".join(MONTHS["fr"])),
    "en": re.compile(r"\b([1-9]|[12][0-9]|3[01]) (%s) \d{4}, ([01][0-9]|2[0-3]):[0-5][0-9]\b"
                     % "|".join(MONTHS["en"])),
}
ISO_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")


def mail_when(t, lang, day_only=False):
    """Time t (local) as eschool's mails write it (lib/es_util.c, es_fmt_when
    and es_fmt_day): "17 décembre 2026 à 17 h 35" ("1er" for the first),
    "17 December 2026, 17:35"."""
    tm = time.localtime(int(t))
    if lang == "fr":
        day = f"{'1er' if tm.tm_mday == 1 else tm.tm_mday} {MONTHS['fr'][tm.tm_mon - 1]} {tm.tm_year}"
        return day if day_only else f"{day} à {tm.tm_hour} h {tm.tm_min:02d}"
    day = f"{tm.tm_mday} {MONTHS['en'][tm.tm_mon - 1]} {tm.tm_year}"
    return day if day_only else f"{day}, {tm.tm_hour:02d}:{tm.tm_min:02d}"


def import_roster(sb, text, name="r.csv"):
    """text imported as a roster (debug mode, --json): the usernames made."""
    path = sb.private(name)
    sb.write(path, text)
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stderr
    return [o["username"] for o in json_lines(p.stdout)]


def assert_fails(proc, code, *needles):
    """Exit code `code`, every needle in the message on stderr, no password shown."""
    assert proc.returncode == code, (
        f"expected exit {code}, got {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    for n in needles:
        assert n in proc.stderr, f"{n!r} not in the message: {proc.stderr!r}"
    assert "Password:" not in proc.stdout and '"password"' not in proc.stdout, proc.stdout


def pytest_configure(config):
    # tests/smtpserver.py with implicit TLS: aiosmtpd warns on each connection
    config.addinivalue_line("filterwarnings",
                            "ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A real SMTP server (tests/smtpserver.py) for a module's tests."""
    from smtpserver import SmtpServer
    d = str(tmp_path_factory.mktemp("smtp"))
    os.chmod(d, 0o755)  # the sandbox reads its CA file
    s = SmtpServer(d)
    yield s
    s.stop()


def configure_mail(sb, port, ca_file=None, mode="debug", security="starttls",
                   password=None, user=None):
    """Writes the sandbox's config for the test SMTP server (and the secret)."""
    from smtpserver import PASSWORD, USER
    sb.write("/etc/eschool/smtp.secret", (password or PASSWORD) + "\n")
    sb.write("/etc/eschool/eschool.conf", f"""[general]
mode = {mode}
school_name = Lycée Exemple
[mail]
provider = custom
host = 127.0.0.1
port = {port}
security = {security}
username = {user or USER}
password_file = /etc/eschool/smtp.secret
from = noreply@school.example
{"ca_file = " + ca_file if ca_file else ""}
""")
