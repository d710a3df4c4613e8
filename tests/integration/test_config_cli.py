"""Configuration through the command: the file (-c, ESCHOOL_CONFIG, the
default path), its errors with file:line, secrets' permissions, the
Django-style environment (DEBUG=True/False ...) and env_file, precedence."""
import json
import os
import re

import pytest

from conftest import CONF, DEFAULT_CONF, ESCHOOL, assert_fails, json_lines, password_ok

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADD = ["add", "alice", "--email", "alice@school.example", "--name", "Alice Martin"]


def created_ok(sb, proc, user="alice"):
    """The command succeeded in debug mode: the password is shown and works."""
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"^  Password:\s+(\S+)$", proc.stdout, re.M)
    if m is None:
        m = re.search(r'"password":"([^"]+)"', proc.stdout)
    assert m, proc.stdout
    assert password_ok(sb, user, m.group(1))


# ---- errors in the file: exit 78 with file:line, nothing created ----

FILE_ERRORS = [
    pytest.param("[general]\nmode = debug\n\n[frobnicate]\nx = 1\n", 4,
                 "unknown section [frobnicate]", id="unknown-section"),
    pytest.param("[general]\nmode = debug\n[policy]\npassword_lenght = 16\n", 4,
                 "unknown key 'password_lenght' in section [policy]", id="unknown-key"),
    pytest.param("[general]\nmode = debug\nschool = X\n", 3, "unknown key 'school'",
                 id="unknown-key-general"),
    pytest.param("[general]\nmode = sometimes\n", 2, "mode", id="bad-mode"),
    pytest.param("[general]\n; comment\nmode = debug\n\n[policy]\npassword_length = 3\n", 6,
                 "password_length", id="bad-number"),
    pytest.param("[general]\nstate_dir = var/lib/eschool\n", 2, "state_dir", id="relative-path"),
    pytest.param("[general]\nmode = debug\nthis line is no key\n", 3, "", id="syntax"),
    pytest.param("[role Teachers]\ngroups = x\n", 1, "role", id="bad-role-name"),
    pytest.param("mode = debug\n", 1, "outside any section", id="no-section"),
    # decided before the role is known: refused rather than ignored (issue 16, item 7)
    pytest.param("[general]\nmode = debug\n[role teacher]\ngroups = teachers\n"
                 "on_error = allow\n", 5, "on_error is a [policy] key: it cannot differ per role",
                 id="role-on-error"),
]


@pytest.mark.parametrize("conf,line,needle", FILE_ERRORS)
def test_config_error_names_file_and_line(sandbox, conf, line, needle):
    sb = sandbox
    sb.write(CONF, conf)
    before = sb.snapshot()
    for argv in (ADD, ["list"], ["show", "alice"], ["import", "--dry-run", "/nonexistent.csv"]):
        p = sb.eschool(*argv)
        assert_fails(p, 78, f"{CONF}:{line}: ", needle)
    assert sb.snapshot() == before


def test_unknown_key_suggests_the_right_one(sandbox):
    sb = sandbox
    sb.write(CONF, "[general]\nmode = debug\n[policy]\npassword_lenght = 16\n")
    assert_fails(sb.eschool("list"), 78, "did you mean 'password_length'")


# SPEC section 3's example file, verbatim: every section and every key.
SPEC_EXAMPLE = """\
[general]
mode = debug                 ; debug | production
school_name = Lycée Exemple
admin_email = it@school.example   ; receives quota alerts and failure notices
contact = IT office, room B12, 01 23 45 67 89   ; the mails' footer
logo =                       ; PNG shown inline in HTML mails
language = fr                ; default template language: fr | en
log_file =                   ; optional, besides syslog
backup_max_age_days = 7      ; doctor wants a state backup at least this recent
state_dir = /var/lib/eschool
spool_dir = /var/spool/eschool
template_dir = /usr/share/eschool/templates  ; site overrides in /etc/eschool/templates
env_file = /etc/eschool/.env ; optional: reads the KEY=VALUE names below

[mail]
backend = smtp               ; smtp | console | file (like Django's email backends)
provider = gmail             ; gmail | workspace | sendgrid | mailgun | ses | custom
host = smtp.gmail.com
port = 587
security = starttls          ; starttls | tls (implicit, 465) | none (tests only)
username = school@gmail.com
password_file = /etc/eschool/smtp.secret   ; or password = …; the file holding it
                                           ; must be root-owned and not group/world
                                           ; readable, or eschool refuses to start
from = noreply@school.example
ca_file =                    ; extra CA bundle (tests use a private CA)
timeout = 30
daily_quota =                ; default from provider: gmail 500, workspace 2000,
monthly_quota =              ; sendgrid 100/day (free), mailgun 5000/month,
rate_per_second =            ; ses 200/day and 1/s (sandbox); custom none
quota_warn_percent = 80

[accounts]
backend = shadow             ; shadow: useradd/chpasswd; none: state only (accounts
                             ; come from an existing directory)
home_base = /home            ; homes are created from /etc/skel (useradd -m)
shell = /bin/bash

[policy]
password_length = 12
password_style = random      ; random (unambiguous alphabet) | pronounceable
password_hash = yescrypt     ; yescrypt | sha512 (libxcrypt), as pam_unix does
first_login_change = yes
max_age_days = 90            ; 0 = never expires
warn_days = 7                ; the login message warns this many days before
warn_schedule = 7,1          ; expiry-warning mails: days before max age
initial_password_ttl_days = 14  ; an unused initial/reset password stops working
email_code_ttl_minutes = 60  ; set-email codes: lifetime and tries
email_code_tries = 5
remind_unchanged_after_days = 7
notify_new_login_source = yes
known_sources = 10           ; login sources remembered per user
enforce = yes                ; no = audit mode: the module logs what it would do
                             ; and lets everyone in (safe first deployment)
exempt_users = root          ; never touched by the module
exempt_group = sudo          ; members are never touched (admins can't be locked out)
on_error = deny              ; deny | allow: what the module does when state is
                             ; corrupt (never when the user is simply unmanaged)

[role student]               ; per-role overrides of [policy] and [accounts] keys,
groups = students            ; plus: groups, template
max_age_days = 90
[role teacher]
groups = teachers

[dns]
server =                     ; resolver for check-dns/doctor (default: the system's)
dkim_selectors = google, s1, k1, mailo, default   ; tried when none is given
"""


def test_every_key_of_the_spec_is_accepted(sandbox):
    sb = sandbox
    sb.write(CONF, SPEC_EXAMPLE)
    sb.write("/etc/eschool/smtp.secret", "app-password-1234\n")
    sb.write("/etc/eschool/.env", "# nothing yet\n")
    p = sb.eschool("list")
    assert p.returncode == 0, p.stderr
    created_ok(sb, sb.eschool(*ADD))
    # the [role student] section of the example is applied
    assert "students" in sb.cmd(["id", "-nG", "alice"]).stdout.split()


def test_shipped_sample_config_is_accepted(sandbox):
    """README: install -m 0600 conf/eschool.conf /etc/eschool/eschool.conf."""
    sb = sandbox
    sample = os.path.join(TOP, "conf", "eschool.conf")
    assert os.path.isfile(sample), "conf/eschool.conf (the README's sample config) is missing"
    with open(sample, encoding="utf-8") as f:
        sb.write(CONF, f.read())
    p = sb.eschool("list")
    assert p.returncode == 0, p.stderr


def test_no_config_file_means_defaults_in_debug_mode(sandbox):
    sb = sandbox
    sb.cmd(["rm", "-f", CONF], check=True)
    p = sb.eschool(*ADD, "--role", "teacher")
    created_ok(sb, p)
    assert "teachers" in sb.cmd(["id", "-nG", "alice"]).stdout.split()


def test_config_writable_by_others_is_refused(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF, mode="664")
    before = sb.snapshot()
    assert_fails(sb.eschool(*ADD), 78, CONF, "chmod go-w")
    assert sb.snapshot() == before


# ---- -c and ESCHOOL_CONFIG ----

ALT = "[general]\nmode = debug\nstate_dir = /var/lib/alt\n[role teacher]\npassword_length = 16\n"


def teacher_pw_len(proc):
    assert proc.returncode == 0, proc.stderr
    return len(json_lines(proc.stdout)[0]["password"])


@pytest.mark.parametrize("how", ["-c before", "-c after", "--config=", "ESCHOOL_CONFIG"])
def test_another_config_file(sandbox, how):
    sb = sandbox
    alt = sb.private("alt.conf")
    sb.write(alt, ALT)
    args = ["add", "tina", "--email", "t@school.example", "--role", "teacher", "--json"]
    env = None
    if how == "-c before":
        args = ["-c", alt] + args
    elif how == "-c after":
        args = args + ["-c", alt]
    elif how == "--config=":
        args = [f"--config={alt}"] + args
    else:
        env = {"ESCHOOL_CONFIG": alt}
    assert teacher_pw_len(sb.eschool(*args, env=env)) == 16
    assert sb.state("tina", state_dir="/var/lib/alt")["role"] == "teacher"
    assert sb.state_text("tina") is None  # not in the default state_dir
    # the default config is used again without -c
    p = sb.eschool("add", "theo", "--email", "theo@school.example", "--role", "teacher", "--json")
    assert teacher_pw_len(p) == 12
    assert sb.state("theo")["role"] == "teacher"


def test_c_wins_over_eschool_config(sandbox):
    sb = sandbox
    alt, bad = sb.private("alt.conf"), sb.private("bad.conf")
    sb.write(alt, ALT)
    sb.write(bad, "[nonsense]\n")
    p = sb.eschool("-c", alt, "add", "tina", "--email", "t@school.example", "--role", "teacher",
                   "--json", env={"ESCHOOL_CONFIG": bad})
    assert teacher_pw_len(p) == 16


def test_errors_name_the_selected_file(sandbox):
    sb = sandbox
    bad = sb.private("bad.conf")
    sb.write(bad, "[general]\nmode = debug\n[mail]\nport = 99999\n")
    assert_fails(sb.eschool("-c", bad, "list"), 78, f"{bad}:4: ", "port")
    assert_fails(sb.eschool("list", env={"ESCHOOL_CONFIG": bad}), 78, f"{bad}:4: ")
    missing = sb.private("missing.conf")
    assert_fails(sb.eschool("-c", missing, "list"), 78, missing)
    assert_fails(sb.eschool("list", env={"ESCHOOL_CONFIG": missing}), 78, missing)
    assert_fails(sb.eschool("list", "-c"), 64, "needs a value")


# ---- secrets ----

def secret_conf(path):
    return DEFAULT_CONF + f"[mail]\nusername = school@gmail.com\npassword_file = {path}\n"


@pytest.mark.parametrize("mode", ["640", "604", "644", "660"])
def test_password_file_readable_by_others_is_refused(sandbox, mode):
    sb = sandbox
    secret = "/etc/eschool/smtp.secret"
    sb.write(CONF, secret_conf(secret))
    sb.write(secret, "app-password-1234\n", mode=mode)
    before = sb.snapshot()
    p = sb.eschool(*ADD)
    assert_fails(p, 78, f"{CONF}:6: ", secret, f"chmod 600 {secret}")
    assert "app-password-1234" not in p.stderr + p.stdout
    assert sb.snapshot() == before
    sb.cmd(["chmod", "600", secret], check=True)
    created_ok(sb, sb.eschool(*ADD))


def test_password_file_not_owned_by_root_is_refused(sandbox):
    sb = sandbox
    secret = "/etc/eschool/smtp.secret"
    sb.write(CONF, secret_conf(secret))
    sb.write(secret, "app-password-1234\n")
    sb.cmd(["chown", "65534", secret], check=True)
    assert_fails(sb.eschool("list"), 78, secret, "chown root")


def test_password_in_a_readable_config_is_refused(sandbox):
    sb = sandbox
    sb.write(CONF, DEFAULT_CONF + "[mail]\npassword = inline-Secret-9\n", mode="644")
    p = sb.eschool("list")
    assert_fails(p, 78, CONF, f"chmod 600 {CONF}")
    assert "inline-Secret-9" not in p.stderr
    sb.cmd(["chmod", "600", CONF], check=True)
    assert sb.eschool("list").returncode == 0


def test_env_file_with_a_password_readable_by_others_is_refused(sandbox):
    sb = sandbox
    env_file = "/etc/eschool/.env"
    sb.write(CONF, DEFAULT_CONF + f"env_file = {env_file}\n")
    sb.write(env_file, "EMAIL_HOST_USER=school@gmail.com\nEMAIL_HOST_PASSWORD=env-Secret-7\n",
             mode="644")
    p = sb.eschool("list")
    assert_fails(p, 78, env_file, f"chmod 600 {env_file}")
    assert "env-Secret-7" not in p.stderr
    sb.cmd(["chmod", "600", env_file], check=True)
    assert sb.eschool("list").returncode == 0


# ---- DEBUG=True / DEBUG=False and the mode ----
# Production mode mails the credentials: without mail settings (mail.from) add
# and reset are refused with 78 before anything is created; import in
# production is not available yet (69).

def test_debug_false_refuses_to_create(sandbox):
    sb = sandbox
    roster = sb.private("r.csv")
    sb.write(roster, "username,email\nbob,bob@school.example\n")
    before = sb.snapshot()
    for argv in (ADD, ADD + ["--json"], ["import", roster]):
        p = sb.eschool(*argv, env={"DEBUG": "False"})
        assert_fails(p, 78, "production", "DEBUG=False",
                     "--debug")
        assert p.stdout == ""
    assert sb.snapshot() == before
    # reading commands still work
    assert sb.eschool("list", env={"DEBUG": "False"}).returncode == 0


def test_mode_production_in_the_file(sandbox):
    sb = sandbox
    sb.write(CONF, "[general]\nmode = production\n")
    before = sb.snapshot()
    assert_fails(sb.eschool(*ADD), 78, "production", "mail.from")
    assert sb.snapshot() == before
    # the environment wins over the file
    created_ok(sb, sb.eschool(*ADD, env={"DEBUG": "True"}))


def test_debug_option_wins_over_debug_false(sandbox):
    sb = sandbox
    created_ok(sb, sb.eschool("--debug", *ADD, env={"DEBUG": "False"}))
    p = sb.eschool("add", "bob", "--email", "bob@school.example", "--debug", "--json",
                   env={"DEBUG": "False"})
    created_ok(sb, p, "bob")


def test_production_option_wins_over_debug_true(sandbox):
    sb = sandbox
    before = sb.snapshot()
    assert_fails(sb.eschool("--production", *ADD, env={"DEBUG": "True"}), 78, "production")
    assert sb.snapshot() == before


@pytest.mark.parametrize("value", ["true", "1", "yes", "True"])
def test_debug_true_spellings(sandbox, value):
    sb = sandbox
    sb.write(CONF, "[general]\nmode = production\n")
    created_ok(sb, sb.eschool(*ADD, env={"DEBUG": value}))


def test_bad_debug_value(sandbox):
    sb = sandbox
    before = sb.snapshot()
    assert_fails(sb.eschool(*ADD, env={"DEBUG": "maybe"}), 78, "DEBUG", "maybe", "True or False")
    assert sb.snapshot() == before


def test_env_file_debug_false(sandbox):
    sb = sandbox
    env_file = "/etc/eschool/.env"
    sb.write(CONF, DEFAULT_CONF + f"env_file = {env_file}\n")
    sb.write(env_file, "# exported from the Django settings\nexport DEBUG=False\n"
             "EMAIL_HOST=smtp.gmail.com\n")
    before = sb.snapshot()
    assert_fails(sb.eschool(*ADD), 78, "production", "mail.from")
    assert sb.snapshot() == before
    # the environment wins over env_file, the command line over both
    created_ok(sb, sb.eschool(*ADD, env={"DEBUG": "True"}))
    p = sb.eschool("--debug", "add", "bob", "--email", "bob@school.example", "--json")
    created_ok(sb, p, "bob")


def test_env_file_errors_name_file_and_line(sandbox):
    sb = sandbox
    env_file = "/etc/eschool/.env"
    sb.write(CONF, DEFAULT_CONF + f"env_file = {env_file}\n")
    sb.write(env_file, "DEBUG=True\nSECRET_KEY=abc\n")
    assert_fails(sb.eschool("list"), 78, f"{env_file}:2: ", "SECRET_KEY")
    sb.write(env_file, "DEBUG=True\nEMAIL_PORT=lots\n")
    assert_fails(sb.eschool("list"), 78, f"{env_file}:2: ", "'lots'")
    sb.cmd(["rm", env_file], check=True)
    assert_fails(sb.eschool("list"), 78, env_file)


def test_email_use_tls_and_ssl_together(sandbox):
    sb = sandbox
    p = sb.eschool("list", env={"EMAIL_USE_TLS": "True", "EMAIL_USE_SSL": "True"})
    assert_fails(p, 78, "EMAIL_USE_TLS", "EMAIL_USE_SSL")


# ---- the command line itself ----

def test_version_and_help(sandbox):
    sb = sandbox
    p = sb.eschool("--version")
    assert p.returncode == 0 and re.fullmatch(r"eschool \d+\.\d+\.\d+\n", p.stdout), p.stdout
    p = sb.eschool("--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: eschool")
    for command in ("add", "import", "reset", "show", "list", "disable", "enable"):
        assert command in p.stdout
        p2 = sb.eschool(command, "--help")
        assert p2.returncode == 0 and p2.stdout.startswith(f"usage: eschool {command}"), p2


def test_usage_errors(sandbox):
    sb = sandbox
    p = sb.eschool()
    assert p.returncode == 64 and "usage: eschool" in p.stderr
    assert_fails(sb.eschool("frobnicate"), 64, "unknown command 'frobnicate'")
    assert_fails(sb.eschool("--frobnicate", "list"), 64, "unknown option '--frobnicate'")


def test_version_and_help_need_no_root(sandbox):
    sb = sandbox
    assert sb.as_nobody([ESCHOOL, "--version"]).returncode == 0
    assert sb.as_nobody([ESCHOOL, "--help"]).returncode == 0


def test_json_output_is_only_json(sandbox):
    sb = sandbox
    p = sb.eschool("--json", *ADD)
    assert p.returncode == 0
    assert json.loads(p.stdout)["username"] == "alice"
