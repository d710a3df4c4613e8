"""pam_eschool.so through the real libpam inside the sandbox: its own
/etc/pam.d services, the real pam_unix against the sandbox's /etc/shadow,
users made by `eschool add`, driven by pypamtest (tests/pamdrive.py). Time
moves by moving the recorded times back (see days_ago). PAM codes: 0
success, 4 system error, 6 permission denied (what libpam returns when every
module of a stack ignored), 12 new authtok required, 13 account expired."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import ISO_DATE, MAIL_WHEN, configure_mail, mail_when, new_sandbox, password_ok  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(os.path.dirname(ESCHOOL), "pam_eschool.so")
DRIVER = os.path.join(TOP, "tests", "pamdrive.py")
SET_ITEMS = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so"
TEMPLATES = os.path.join(TOP, "conf", "templates")
STATE = "/var/lib/eschool/users"
SUCCESS, SYSTEM_ERR, DENIED, NEW_AUTHTOK, EXPIRED = 0, 4, 6, 12, 13
NEW_PW = "Tr3s-Bien-Choisi!"

SERVICES = {
    # the module alone: its own verdict (ignore shows as 6)
    "es-account": f"account required {MODULE}\n",
    # a workstation's stack: pam_unix decides the password, eschool the rest
    "es-login": f"""auth required pam_unix.so
account required {MODULE}
account required pam_unix.so
password requisite pam_unix.so yescrypt
password required {MODULE}
session optional {SET_ITEMS}
session required {MODULE}
""",
    "es-session": f"session optional {SET_ITEMS}\nsession required {MODULE}\n",
}


def sanitizer_env():
    """A module built with SANITIZE=1 needs the ASan runtime preloaded into
    Python (with libcrypt, see below)."""
    deps = subprocess.run(["ldd", MODULE], capture_output=True, text=True).stdout
    if "libasan" not in deps:
        return {}
    asan = subprocess.run(["cc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    # libcrypt too: ASan's crypt() interceptor finds the real one only in
    # what is loaded at start, and pam_unix would call through a null pointer
    return {"LD_PRELOAD": f"{asan} libcrypt.so.1",
            "ASAN_OPTIONS": "detect_leaks=0:verify_asan_link_order=0"}


SAN_ENV = sanitizer_env()


def prepare(sb, policy="", general="", production=None):
    """Config (debug mode unless production=(port, ca)), services, one student."""
    if production:
        configure_mail(sb, production[0], production[1], mode="production")
        conf = sb.read("/etc/eschool/eschool.conf")
    else:
        conf = "[general]\nmode = debug\nschool_name = Lycée Exemple\n"
    conf = conf.replace("[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n{general}", 1)
    sb.write("/etc/eschool/eschool.conf", conf + (f"[policy]\n{policy}" if policy else ""))
    for name, text in SERVICES.items():
        sb.write(f"/etc/pam.d/{name}", text, mode="644")


def add(sb, user="zoe", lang=None, extra=()):
    argv = ["--json", "add", user, "--email", f"{user}@school.example", "--name", "Zoë Lefèvre"]
    if lang:
        argv += ["--lang", lang]
    p = sb.eschool(*argv, *extra)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout).get("password")


def drive(sb, service, user, ops, passwords=(), env=None, faketime=None, prefix=(),
          answers=()):
    argv = list(prefix)
    if faketime:
        argv += ["faketime", "-f", faketime]
    argv += ["/usr/bin/python3", DRIVER,
             json.dumps({"service": service, "user": user, "ops": ops,
                         "passwords": list(passwords), "answers": list(answers)})]
    full_env = dict(SAN_ENV)
    full_env.update(env or {})
    p = sb.cmd(argv, env=full_env)
    assert p.stdout.strip(), p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["stderr"] = p.stderr
    return out


def code_of(result):
    m = re.search(r"returned \[(\d+)\]", result.get("failed", ""))
    return int(m.group(1)) if m else None


def account(sb, user, expect, **kw):
    r = drive(sb, "es-account", user, [["account", expect]], **kw)
    assert r["ok"], (r, code_of(r))
    return r


def edit_state(sb, user, **fields):
    text = sb.read(f"{STATE}/{user}")
    lines = [l for l in text.splitlines() if l not in ("end",)]
    for k, v in fields.items():
        lines = [l for l in lines if not l.startswith(k + "=")] + [f"{k}={v}"]
    sb.write(f"{STATE}/{user}", "\n".join(lines) + "\nend\n")


def state(sb, user):
    return dict(l.split("=", 1) for l in sb.read(f"{STATE}/{user}").splitlines() if "=" in l)


def queued_kinds(sb):
    p = sb.eschool("--json", "queue", "list")
    return [json.loads(l)["kind"] for l in p.stdout.splitlines()]


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def test_module_exports_only_pam_entry_points_and_no_network():
    syms = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True,
                          text=True).stdout.split()
    exported = sorted(s for s in syms if s.startswith("pam_") or s.startswith("es_"))
    assert exported == sorted(["pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_setcred",
                               "pam_sm_chauthtok", "pam_sm_open_session",
                               "pam_sm_close_session"])
    deps = subprocess.run(["ldd", MODULE], capture_output=True, text=True).stdout
    assert "libcurl" not in deps and "libcrypt" not in deps
    # nor libsodium: loaded (dlopen) only to hash an address-change code
    needed = subprocess.run(["readelf", "-d", MODULE], capture_output=True, text=True).stdout
    assert "libsodium" not in needed, needed


def test_first_login_story_with_the_real_stack(sb, srv):
    prepare(sb, production=(1, srv.ca_file))  # the mail server is down at add: fallback
    pw = add(sb)
    assert pw and password_ok(sb, "zoe", pw)
    # the initial password authenticates, the account stage demands the change
    r = drive(sb, "es-login", "zoe", [["auth", SUCCESS], ["account", NEW_AUTHTOK],
                                      ["chauthtok", SUCCESS], ["account", SUCCESS],
                                      ["open", SUCCESS]], [pw, NEW_PW, NEW_PW])
    assert r["ok"], r
    # in the application's language (pypamtest's LC_MESSAGES is C: English,
    # as pam_unix speaks there), with what a good password is
    assert "You must change your temporary password now." in r["errors"], r
    assert any("12 characters" in i for i in r["info"]), r
    assert password_ok(sb, "zoe", NEW_PW) and not password_ok(sb, "zoe", pw)
    st = state(sb, "zoe")
    assert st["must_change"] == "0" and st["initial_expires"] == "0"
    assert int(st["last_login"]) > 0
    # the next login is a normal one
    r = drive(sb, "es-login", "zoe", [["auth", SUCCESS], ["account", SUCCESS],
                                      ["open", SUCCESS]], [NEW_PW])
    assert r["ok"] and r["errors"] == [], r
    # a login from a new host: a notice; the confirmation was queued before
    r = drive(sb, "es-login", "zoe", [["auth", SUCCESS], ["account", SUCCESS],
                                      ["open", SUCCESS]], [NEW_PW],
              env={"PAM_RHOST": "10.20.30.40"})
    assert r["ok"], r
    assert sorted(k for k in queued_kinds(sb) if k != "welcome-student") == \
        ["new-login-source", "password-changed"]
    # the helper's queue run delivers them (the module never touches the network)
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    sb.write("/etc/eschool/eschool.conf", sb.read("/etc/eschool/eschool.conf").replace(
        "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1))
    n0 = len(srv.messages)
    p = sb.cmd(["faketime", "-f", "+10m", ESCHOOL, "queue", "run"],
               env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    got = {m["X-Eschool-Kind"]: m for _, m in srv.messages[n0:]}
    assert set(got) == {"welcome-student", "password-changed", "new-login-source"}
    notice = got["new-login-source"].get_body(("plain",)).get_content()
    assert "10.20.30.40" in notice and "zoe" in notice
    changed = got["password-changed"]
    assert changed["To"].addresses[0].display_name == "Zoë Lefèvre"
    assert changed.get_body(("html",)) is not None
    # the module wrote the times in the mail's language (the school's
    # French: "le 17 décembre 2026 à 17 h 35"), local time, never ISO
    st = state(sb, "zoe")
    assert f"le {mail_when(st['last_login'], 'fr')} depuis" in notice, notice
    text = changed.get_body(("plain",)).get_content()
    assert f"changé le {mail_when(st['password_changed'], 'fr')}." in text, text
    assert mail_when(st["password_changed"], "fr") in changed.get_body(("html",)).get_content()
    for body in (notice, text):
        assert MAIL_WHEN["fr"].search(body) and not ISO_DATE.search(body), body
    assert NEW_PW not in changed.as_string() and NEW_PW not in notice


def test_a_failed_change_records_nothing(sb):
    prepare(sb)
    pw = add(sb)
    r = drive(sb, "es-login", "zoe", [["chauthtok", 24]], ["Aaa-1234567x", "Bbb-1234567y"])
    assert r["ok"], r
    assert state(sb, "zoe")["must_change"] == "1"
    account(sb, "zoe", NEW_AUTHTOK)
    assert password_ok(sb, "zoe", pw)


def days_ago(sb, user, **fields):
    """Moves the user's recorded times back (the module's clock is the
    system's: older records are the same as a later login, and work with
    the ASan build too, where faketime cannot be preloaded into Python)."""
    now = int(time.time())
    edit_state(sb, user, **{k: now - int(v * 86400) for k, v in fields.items()})


def test_password_age_warning_and_expiry(sb):
    prepare(sb, policy="max_age_days = 90\nwarn_days = 7\n")
    add(sb, lang="en")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    days_ago(sb, "zoe", password_changed=80)
    r = account(sb, "zoe", SUCCESS)
    assert r["info"] == [] and r["errors"] == []
    days_ago(sb, "zoe", password_changed=87)  # 3 days left
    r = account(sb, "zoe", SUCCESS)
    assert r["info"] == ["Your password expires in 3 days: change it soon."], r
    days_ago(sb, "zoe", password_changed=89.5)  # half a day left
    r = account(sb, "zoe", SUCCESS)
    assert r["info"] == ["Your password expires in 1 day: change it soon."], r
    days_ago(sb, "zoe", password_changed=90)
    r = account(sb, "zoe", NEW_AUTHTOK)
    assert r["errors"] == ["Your password has expired: choose a new one now."], r


def test_each_account_call_reads_the_state_afresh(sb):
    """The account stage keeps what it read for the session of the same
    login. A second account call on the same handle (here a stack naming
    the module twice, the state broken in between by pam_exec) reads the
    state again: it is said to be broken, never decided from the first
    call's reading."""
    prepare(sb, policy="max_age_days = 90\nwarn_days = 7\n")
    add(sb, lang="en")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    days_ago(sb, "zoe", password_changed=87)  # a warning: not quiet, the reading kept
    breaker = "/etc/eschool-test-break-state"
    sb.write(breaker, f"#!/bin/sh\nprintf 'not a state\\n' > {STATE}/zoe\n", mode="755")
    sb.write("/etc/pam.d/es-twice", f"account required {MODULE}\n"
             f"account required pam_exec.so quiet {breaker}\n"
             f"account required {MODULE}\n", mode="644")
    r = drive(sb, "es-twice", "zoe", [["account", SYSTEM_ERR]])
    assert r["ok"], (r, code_of(r))
    assert sb.read(f"{STATE}/zoe") == "not a state\n"


def test_max_age_zero_never_expires(sb):
    prepare(sb, policy="max_age_days = 0\n")
    add(sb)
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    days_ago(sb, "zoe", password_changed=3650, created=3651)
    r = account(sb, "zoe", SUCCESS)
    assert r["info"] == [] and r["errors"] == []


def test_unused_initial_password_expires_and_disabled_accounts(sb):
    prepare(sb, policy="initial_password_ttl_days = 14\n")
    add(sb, lang="en")
    days_ago(sb, "zoe", initial_expires=-1)  # one day left
    account(sb, "zoe", NEW_AUTHTOK)
    days_ago(sb, "zoe", initial_expires=1)  # expired yesterday
    r = account(sb, "zoe", EXPIRED)
    assert "administrator" in r["errors"][0], r
    add(sb, "max", lang="fr")
    assert sb.eschool("disable", "max").returncode == 0
    r = account(sb, "max", EXPIRED)  # the application's language (C) over the account's
    assert r["errors"] == ["This account is disabled. Ask your administrator."]


def test_left_alone_unmanaged_exempt_and_unprivileged(sb):
    prepare(sb, policy="exempt_users = root, prof\nexempt_group = sudo\n")
    add(sb)
    add(sb, "prof")
    add(sb, "admin")
    sb.cmd(["usermod", "-aG", "sudo", "admin"], check=True)
    for user in ("nobody", "root", "prof", "admin", "no_such_user"):
        r = drive(sb, "es-account", user, [["account", DENIED]])  # every module ignored
        assert r["ok"] and r["errors"] == [], (user, r)
    # a screen locker runs PAM as the user: root's state is not for it
    # (driver and module copied where nobody can read them: the checkout
    # may be in a private directory)
    for name, src in (("pamdrive.py", DRIVER), ("pam_eschool.so", MODULE)):
        sb.cmd(["install", "-m", "0755", src, f"/var/mail/{name}"], check=True)
    sb.write("/etc/pam.d/es-locker", "account required /var/mail/pam_eschool.so\n", mode="644")
    p = sb.cmd(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "/usr/bin/python3", "/var/mail/pamdrive.py",
                json.dumps({"service": "es-locker", "user": "zoe",
                            "ops": [["account", DENIED]]})], env=dict(SAN_ENV))
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["ok"] and r["errors"] == [], (r, p.stderr)
    # the helper's bulk services are never touched
    sb.write("/etc/pam.d/chpasswd", SERVICES["es-account"], mode="644")
    r = drive(sb, "chpasswd", "zoe", [["account", DENIED]])
    assert r["ok"], r


def test_a_member_of_a_large_exempt_group_is_exempt(sb):
    """exempt_group is read however large the group: NSS's files backend
    fails with ERANGE on any group line longer than the caller's buffer
    (3,000 members: 18 KB), which made its members not exempt."""
    prepare(sb, policy="exempt_group = labstaff\n")
    add(sb)
    add(sb, "admin")
    sb.cmd(["groupadd", "labstaff"], check=True)
    members = ",".join(f"m{i:04d}" for i in range(3000)) + ",admin"
    group = sb.read("/etc/group")
    with open(sb.host_view("/etc/group"), "w") as f:  # owner and mode kept
        f.write(re.sub(r"(?m)^(labstaff:[^:]*:[0-9]+:)$", lambda m: m.group(1) + members, group))
    assert "admin" in sb.cmd(["id", "-nG", "admin"], check=True).stdout.split()
    r = drive(sb, "es-account", "admin", [["account", DENIED]])  # every module ignored
    assert r["ok"] and r["errors"] == [], r
    account(sb, "zoe", NEW_AUTHTOK)  # not in it: managed


def test_enforce_no_logs_and_lets_in(sb):
    prepare(sb, policy="enforce = no\n")
    add(sb)
    log = sb.syslog()
    try:
        r = account(sb, "zoe", SUCCESS)
        assert r["errors"] == []
        line = log.recv(4096).decode()
    finally:
        log.close()
    assert "audit (enforce = no)" in line and "zoe" in line, line


def test_corrupt_state_follows_on_error(sb):
    prepare(sb)
    add(sb)
    path = f"{STATE}/zoe"
    good = sb.read(path)
    for bad in ("", "eschool-state 1\nemail=z@school.example\n", "garbage\n"):
        sb.write(path, bad)
        log = sb.syslog()
        try:
            account(sb, "zoe", SYSTEM_ERR)
            line = log.recv(4096).decode()
        finally:
            log.close()
        assert path in line, line
    # a symlink planted in the state directory is not followed
    elsewhere = sb.private("elsewhere")
    sb.write(elsewhere, good)
    sb.cmd(["ln", "-sf", elsewhere, path], check=True)
    account(sb, "zoe", SYSTEM_ERR)
    # a state file others may write is refused as corrupt
    sb.cmd(["rm", "-f", path], check=True)
    sb.write(path, good, mode="666")
    account(sb, "zoe", SYSTEM_ERR)
    # an exempt user is never denied, even with a broken state file
    conf = sb.read("/etc/eschool/eschool.conf")
    sb.write("/etc/eschool/eschool.conf", conf + "[policy]\nexempt_users = root, zoe\n")
    account(sb, "zoe", DENIED)
    sb.write("/etc/eschool/eschool.conf", conf)
    # on_error = allow: the user gets in (the module steps aside)
    conf = sb.read("/etc/eschool/eschool.conf")
    sb.write("/etc/eschool/eschool.conf", conf + "[policy]\non_error = allow\n")
    account(sb, "zoe", DENIED)


def test_broken_config_does_not_crash_the_host(sb):
    prepare(sb)
    add(sb)
    sb.write("/etc/eschool/eschool.conf", "[general]\nmode = sideways\n[nonsense\n")
    log = sb.syslog()
    try:
        r = account(sb, "zoe", SYSTEM_ERR)
        line = log.recv(4096).decode()
    finally:
        log.close()
    assert "eschool.conf" in line and r["errors"] == []
    # a typo must not lock the administrators out: root and sudo are exempt
    sb.cmd(["usermod", "-aG", "sudo", "zoe"], check=True)
    account(sb, "zoe", DENIED)
    account(sb, "root", DENIED)
    # a bad module argument is logged, the rest works
    sb.write("/etc/eschool/eschool.conf", "[general]\nmode = debug\n")
    sb.write("/etc/pam.d/es-args", f"account required {MODULE} frobnicate debug\n", mode="644")
    log = sb.syslog()
    try:
        drive(sb, "es-args", "zoe", [["account", NEW_AUTHTOK]])
        lines = log.recv(4096).decode()
    finally:
        log.close()
    assert "frobnicate" in lines


def test_smtp_secret_is_not_the_modules_business(sb):
    """The module never reads the SMTP password: a secret file others can
    read (which eschool itself refuses) does not deny logins."""
    prepare(sb)
    add(sb)
    conf = sb.read("/etc/eschool/eschool.conf")
    sb.write("/etc/eschool/smtp.secret", "hunter2\n", mode="644")
    sb.write("/etc/eschool/eschool.conf",
             conf + "[mail]\npassword_file = /etc/eschool/smtp.secret\n")
    assert sb.eschool("list").returncode == 78  # the helper refuses it
    account(sb, "zoe", NEW_AUTHTOK)             # the module does not care


def test_config_argument(sb):
    prepare(sb, policy="max_age_days = 0\n")
    add(sb)
    edit_state(sb, "zoe", must_change=0, initial_expires=0, password_changed=1000000000)
    account(sb, "zoe", SUCCESS)
    sb.write("/etc/eschool/other.conf", f"[general]\ntemplate_dir = {TEMPLATES}\n"
                                        "[policy]\nmax_age_days = 30\n")
    sb.write("/etc/pam.d/es-other", f"account required {MODULE} config=/etc/eschool/other.conf\n",
             mode="644")
    drive(sb, "es-other", "zoe", [["account", NEW_AUTHTOK]])


def test_login_sources(sb):
    prepare(sb, policy="known_sources = 2\n")
    add(sb)
    kinds = lambda: [k for k in queued_kinds(sb) if k == "new-login-source"]  # noqa: E731
    for host, expect_mails in (("10.0.0.1", 0),   # the very first login: no notice
                               ("10.0.0.1", 0),   # known
                               ("10.0.0.2", 1),   # new
                               ("10.0.0.3", 2),   # new; 10.0.0.1 falls out (2 kept)
                               ("10.0.0.2", 2),   # known
                               ("10.0.0.1", 3)):  # forgotten, so new again
        r = drive(sb, "es-session", "zoe", [["open", SUCCESS]], env={"PAM_RHOST": host})
        assert r["ok"], r
        assert len(kinds()) == expect_mails, (host, kinds())
    assert state(sb, "zoe")["sources"] == "10.0.0.1,10.0.0.2"
    # without PAM_RHOST the terminal is the source
    drive(sb, "es-session", "zoe", [["open", SUCCESS]], env={"PAM_TTY": "tty3"})
    assert state(sb, "zoe")["sources"].startswith("tty3,")


def test_concurrent_sessions_keep_the_state_whole(sb):
    prepare(sb)
    add(sb)
    payload = json.dumps({"service": "es-session", "user": "zoe", "ops": [["open", 0]]})
    procs = [sb.popen(["/usr/bin/python3", DRIVER, payload], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True,
                      env={**SAN_ENV, "PATH": "/usr/bin:/bin",
                           "PAM_RHOST": f"10.9.0.{i}"}) for i in range(50)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(json.loads(o.strip().splitlines()[-1])["ok"] for o, _ in outs), outs[:3]
    st = state(sb, "zoe")
    assert sb.read(f"{STATE}/zoe").endswith("end\n")
    assert len(st["sources"].split(",")) == 10  # known_sources default
    assert sb.eschool("show", "zoe").returncode == 0


def test_transactions_under_valgrind(sb):
    """Every stage, many times in one process: no leak, no invalid access
    (under SANITIZE=1, ASan and LeakSanitizer check instead of valgrind).
    `make check` runs 100 cycles; `make valgrind` the full 1,000 (about 3
    minutes: each cycle saves the state and queues a notice)."""
    cycles = os.environ.get("ESCHOOL_PAM_CYCLES", "100")
    prepare(sb, general="")
    add(sb)
    sb.write("/etc/pam.d/es-all", f"""account required {MODULE}
password optional pam_permit.so
password required {MODULE}
session required {MODULE}
""", mode="644")
    loop = os.path.join(os.path.dirname(ESCHOOL), "pamloop")
    if SAN_ENV:
        argv, env = [loop, "es-all", "zoe", cycles], dict(SAN_ENV)
        env["ASAN_OPTIONS"] = "detect_leaks=1:verify_asan_link_order=0"
    else:
        argv = ["valgrind", "-q", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                loop, "es-all", "zoe", cycles]
        env = {}
    p = sb.cmd(argv, env=env, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    st = state(sb, "zoe")
    assert len(st["sources"].split(",")) == 10
    assert sb.read(f"{STATE}/zoe").endswith("end\n")


def test_a_quiet_login_asks_nss_nothing(sb):
    """A login with nothing to do (password current, nothing to say, the
    source recorded within the minute) is decided from the state alone:
    /etc/passwd is not read (340 us at 10,000 local users). A login with
    something to do is decided the usual way, NSS first (canonical name,
    the uid the state was made for)."""
    prepare(sb, general="")
    add(sb)
    edit_state(sb, "zoe", must_change=0, password_changed=int(time.time()) - 60)
    sb.write("/etc/pam.d/es-quiet", f"account required {MODULE}\nsession required {MODULE}\n",
             mode="644")
    loop = os.path.join(os.path.dirname(ESCHOOL), "pamloop")
    env = dict(SAN_ENV, PAMLOOP_RHOST="10.1.2.3")

    def opened(user):
        trace = sb.private("openat.trace")
        sb.write(trace, "")
        p = sb.cmd(["strace", "-f", "-qq", "-e", "trace=open,openat", "-o", trace,
                    loop, "-b", "es-quiet", user, "1"], env=env)
        assert p.returncode == 0, p.stderr
        return sb.read(trace)

    # the first login from 10.1.2.3 records it: the usual way
    assert "/etc/passwd" in opened("zoe")
    assert state(sb, "zoe")["sources"].startswith("10.1.2.3")
    # the same source within the minute: the state alone (sources are
    # recorded to the minute: a pair of logins across a minute's end is
    # tried again, the first of the pair recording the new minute)
    for _ in range(3):
        minute = int(time.time()) // 60
        opened("zoe")
        trace = opened("zoe")
        if int(time.time()) // 60 == minute:
            break
    # the state, in users/, read once for both stages
    assert len(re.findall(r'openat\(\d+, "zoe", O_RDONLY', trace)) == 1, trace
    assert "/etc/passwd" not in trace, trace
    # a new source: the session records it (NSS first), from the account
    # stage's reading and one read under the lock
    env["PAMLOOP_RHOST"] = "10.1.2.4"
    trace = opened("zoe")
    assert trace.count("/etc/passwd") == 1, trace
    assert len(re.findall(r'openat\(\d+, "zoe", O_RDONLY', trace)) == 2, trace
    assert state(sb, "zoe")["sources"].startswith("10.1.2.4")
    # a change due: NSS first, and the change is demanded as ever; the
    # state read to find the login not quiet is the one the usual way uses
    # (the session takes it too)
    edit_state(sb, "zoe", must_change=1)
    trace = opened("zoe")
    assert "/etc/passwd" in trace
    assert len(re.findall(r'openat\(\d+, "zoe", O_RDONLY', trace)) == 1, trace
    account(sb, "zoe", NEW_AUTHTOK)
    # a user with no state under that name: NSS says who it is
    assert "/etc/passwd" in opened("root")


PAM_D = os.path.join(TOP, "tests", "pam.d")
SECURITY = "/lib/x86_64-linux-gnu/security"


def debian_profile(sb, plugin=False, services=True):
    """Installs the module and packaging/pam-configs/eschool as the package
    would, inside the sandbox's mount namespace (copies bound over the
    host's directories, debconf's database included), then runs the real
    pam-auth-update. plugin: the directory's pam_eschool_ldap.so too;
    services: tests/pam.d's login stacks (GDM, LightDM, SDDM) into
    /etc/pam.d. Returns the common-* files it wrote."""
    conf, sec = sb.private("pam-configs"), sb.private("security")
    debconf = sb.private("debconf")
    plugin_line = (f"install -m 0644 {os.path.dirname(MODULE)}/pam_eschool_ldap.so {sec}/\n"
                   if plugin else "")
    services_line = f"cp {PAM_D}/* /etc/pam.d/\n" if services else ""
    script = f"""set -eu
mkdir -p {conf} {sec} {debconf}
cp -a /usr/share/pam-configs/. {conf}/
cp {TOP}/packaging/pam-configs/eschool {conf}/eschool
mount --bind {conf} /usr/share/pam-configs
cp -a {SECURITY}/. {sec}/
install -m 0644 {MODULE} {sec}/pam_eschool.so
{plugin_line}mount --bind {sec} {SECURITY}
# pam-auth-update records the chosen profiles in debconf's database, which
# the sandbox does not cover (/var/cache): a copy, not the host's
cp -a /var/cache/debconf/. {debconf}/
mount --bind {debconf} /var/cache/debconf
mkdir -p /var/lib/pam && touch /var/lib/pam/seen
DEBIAN_FRONTEND=noninteractive pam-auth-update --force --enable eschool
{services_line}"""
    p = sb.cmd(["sh", "-c", script])
    assert p.returncode == 0, p.stdout + p.stderr
    return {name: sb.read(f"/etc/pam.d/common-{name}")
            for name in ("auth", "account", "password", "session")}


@pytest.mark.parametrize("service", ["login", "gdm-password", "lightdm", "sddm"])
def test_debian_profile_in_real_service_stacks(sb, service):
    prepare(sb)
    debian_profile(sb)
    for f, line in (("common-account", "account\trequired\tpam_eschool.so"),
                    ("common-password", "password\trequired\tpam_eschool.so"),
                    ("common-session", "session\toptional\tpam_eschool.so")):
        text = sb.read(f"/etc/pam.d/{f}")
        assert line in text, text
    # the profile's lines come after pam_unix's block: a change is recorded
    # only when pam_unix made it
    pw_stack = sb.read("/etc/pam.d/common-password")
    assert pw_stack.index("pam_permit.so") < pw_stack.index("pam_eschool.so")
    pw = add(sb, "lea")
    r = drive(sb, service, "lea", [["auth", SUCCESS], ["account", NEW_AUTHTOK],
                                   ["chauthtok", SUCCESS], ["account", SUCCESS],
                                   ["open", SUCCESS]], [pw, NEW_PW, NEW_PW],
              env={"PAM_TTY": "tty7"})
    assert r["ok"], r
    assert password_ok(sb, "lea", NEW_PW)
    st = state(sb, "lea")
    assert st["must_change"] == "0" and int(st["last_login"]) > 0
    # a wrong password is still the stack's business
    r = drive(sb, service, "lea", [["auth", 7]], ["not-the-password"])
    assert r["ok"], r


CHANGE_EXPIRED = 32  # PAM_CHANGE_EXPIRED_AUTHTOK: what login, sshd, gdm pass


def test_shadow_carries_the_first_change_and_the_age(sb):
    """Item 7 of issue 17: a new account's shadow entry says "must be
    changed" (lastchg 0) and carries the role's max and warn, so pam_unix
    alone forces the change. In Debian's stack pam_unix then ends the
    account stage ("new_authtok_reqd=done") before pam_eschool: the forced
    change (PAM_CHANGE_EXPIRED_AUTHTOK) is where the module explains it,
    once, with what a good password is."""
    prepare(sb, policy="max_age_days = 120\nwarn_days = 10\n")
    debian_profile(sb)
    pw = add(sb, "lea")
    fields = sb.shadow_entry("lea")
    assert fields[2:6] == ["0", "0", "120", "10"], fields
    assert "password must be changed" in sb.cmd(["chage", "-l", "lea"], check=True).stdout
    r = drive(sb, "login", "lea", [["auth", SUCCESS], ["account", NEW_AUTHTOK],
                                   ["chauthtok", SUCCESS, CHANGE_EXPIRED], ["account", SUCCESS],
                                   ["open", SUCCESS]], [pw, pw, NEW_PW, NEW_PW])
    assert r["ok"], r
    said = r["errors"] + r["info"]
    assert "You are required to change your password immediately (administrator enforced)." \
        in said, said
    assert said.count("You must change your temporary password now.") == 1, said
    assert any("12 characters" in i for i in r["info"]), r
    st = state(sb, "lea")
    assert st["must_change"] == "0" and password_ok(sb, "lea", NEW_PW)
    # pam_unix set today's date; max and warn stay the role's
    fields = sb.shadow_entry("lea")
    assert fields[2] == str(int(time.time()) // 86400) and fields[4:6] == ["120", "10"], fields


def test_forced_change_of_an_expired_temporary_password_is_refused(sb):
    """pam_unix's "done" skips pam_eschool's account stage: the unused
    temporary password past its time is refused at the change it forces,
    so it can never be turned into a new one."""
    prepare(sb)
    debian_profile(sb)
    pw = add(sb, "lea", lang="en")
    edit_state(sb, "lea", initial_expires=int(time.time()) - 60)
    r = drive(sb, "login", "lea", [["auth", SUCCESS], ["account", NEW_AUTHTOK],
                                   ["chauthtok", DENIED, CHANGE_EXPIRED]],
              [pw, pw, NEW_PW, NEW_PW])
    assert r["ok"], r
    assert any("not used in time" in e for e in r["errors"]), r
    assert password_ok(sb, "lea", pw) and state(sb, "lea")["must_change"] == "1"
    # the administrator's own passwd (root, no forced-change flag) is not
    # the temporary password's use: it goes through and is recorded
    r = drive(sb, "login", "lea", [["chauthtok", SUCCESS]], [NEW_PW, NEW_PW])
    assert r["ok"], r
    assert password_ok(sb, "lea", NEW_PW) and state(sb, "lea")["must_change"] == "0"


def test_without_the_module_the_stack_still_forces_the_change(sb):
    """pam-auth-update --disable eschool: pam_unix alone, from shadow."""
    prepare(sb)
    debian_profile(sb)
    pw = add(sb, "lea")
    p = sb.cmd(["pam-auth-update", "--package", "--disable", "eschool"])
    assert p.returncode == 0, p.stderr
    sb.cmd(["sh", "-c", f"cp {PAM_D}/* /etc/pam.d/"], check=True)
    assert "pam_eschool" not in sb.read("/etc/pam.d/common-account")
    r = drive(sb, "login", "lea", [["auth", SUCCESS], ["account", NEW_AUTHTOK]], [pw])
    assert r["ok"], r
