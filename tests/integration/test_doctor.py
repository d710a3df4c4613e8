"""eschool doctor: a good production setup passes every item (real SMTP
server with STARTTLS and AUTH, real DNS server, real PAM profile, a backup);
then each item is broken in turn and is the one that fails."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import configure_mail, new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_dns import dns  # noqa: E402,F401  (the dnsmasq fixture)
from test_pam import TEMPLATES, debian_profile  # noqa: E402
from test_queue_run import enqueue  # noqa: E402

ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}
ITEMS = ["mode", "smtp", "secret", "dns", "test-email", "templates", "addresses", "accounts",
         "backup", "pam", "aging", "queue"]


def doctor(sb, *pre, flags=()):
    p = sb.cmd([*pre, ESCHOOL, "--json", *flags, "doctor"], env=ASAN)
    out = json.loads(p.stdout)
    return p, {c["item"]: c for c in out["checks"]}


def failing(checks):
    return sorted(k for k, c in checks.items() if c["status"] == "fail")


@pytest.fixture
def good(srv, dns):
    """A setup ready for production."""
    with new_sandbox() as sb:
        configure_mail(sb, srv.port, srv.ca_file, mode="production")
        conf = sb.read("/etc/eschool/eschool.conf").replace(
            "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\n", 1)
        sb.write("/etc/eschool/eschool.conf", conf + f"[dns]\nserver = 127.0.0.1:{dns}\n")
        for user in ("zoe", "leo"):
            p = sb.eschool("add", user, "--email", f"{user}@lycee-exemple.fr")
            assert p.returncode == 0, p.stderr
        assert sb.eschool("test-email", "it@lycee-exemple.fr").returncode == 0
        backup = sb.private("state.tar.gz")
        sb.cmd(["mkdir", "-p", os.path.dirname(backup)], check=True)
        p = sb.eschool("backup", backup)
        assert p.returncode == 0, p.stderr
        debian_profile(sb)
        sb.backup = backup
        yield sb


def test_a_good_setup_passes(good):
    p, checks = doctor(good)
    assert p.returncode == 0 and failing(checks) == [], checks
    assert list(checks) == ITEMS
    assert all(c["status"] == "ok" for c in checks.values()), checks
    assert "logged in as" in checks["smtp"]["detail"]
    assert "2 accounts" in checks["addresses"]["detail"]
    human = good.cmd([ESCHOOL, "doctor"], env=ASAN)
    assert human.returncode == 0 and "✗" not in human.stdout and human.stdout.count("✓") == 12
    assert "ready for production" in human.stdout


def test_each_broken_item_is_the_one_that_fails(good, srv):
    sb = good
    conf = sb.read("/etc/eschool/eschool.conf")

    def only(item, *pre, flags=()):
        p, checks = doctor(sb, *pre, flags=flags)
        assert p.returncode == 78 and failing(checks) == [item], checks
        assert checks[item]["fix"], checks[item]
        return checks[item]

    # mode
    only("mode", flags=["--debug"])
    # smtp: a wrong password (the secret file itself is fine)
    sb.write("/etc/eschool/smtp.secret", "wrong\n")
    assert "failed at step login" in only("smtp")["detail"]
    sb.write("/etc/eschool/smtp.secret", "s3cret-app-password\n")
    # secret: the password in the config file itself
    from smtpserver import PASSWORD
    sb.write("/etc/eschool/eschool.conf",
             conf.replace("password_file = /etc/eschool/smtp.secret", f"password = {PASSWORD}"))
    only("secret")
    sb.write("/etc/eschool/eschool.conf", conf)
    # dns: a sending domain without records
    sb.write("/etc/eschool/eschool.conf", conf.replace("noreply@school.example",
                                                       "noreply@nospf.example"))
    assert "nospf.example" in only("dns")["detail"]
    sb.write("/etc/eschool/eschool.conf", conf)
    # test-email: the last one failed
    srv.rcpt_replies.append("550 5.1.1 no such user")
    assert sb.eschool("test-email", "nobody@lycee-exemple.fr").returncode == 69
    assert "failed at step recipient" in only("test-email")["detail"]
    assert sb.eschool("test-email", "it@lycee-exemple.fr").returncode == 0
    # templates: the school's copy of one is broken
    sb.write("/etc/eschool/templates/fr/reset.txt", "no subject line here\n")
    assert "fr/reset" in only("templates")["detail"]
    sb.cmd(["rm", "/etc/eschool/templates/fr/reset.txt"], check=True)
    # addresses: a placeholder and a shared one
    assert sb.eschool("add", "max", "--email", "max@school.example").returncode == 0
    assert "max: max@school.example" in only("addresses")["detail"]
    sb.cmd(["userdel", "-r", "max"], check=True)
    sb.cmd(["rm", "/var/lib/eschool/users/max"], check=True)
    assert sb.eschool("add", "eva", "--email", "zoe@lycee-exemple.fr").returncode == 0
    assert "zoe and eva" in only("addresses")["detail"] or \
        "eva and zoe" in only("addresses")["detail"]
    assert sb.eschool("set-email", "eva", "eva@lycee-exemple.fr").returncode == 0
    edit = sb.read("/var/lib/eschool/users/eva").replace("email=zoe@lycee-exemple.fr",
                                                         "email=eva@lycee-exemple.fr")
    sb.write("/var/lib/eschool/users/eva", edit)
    # backup: too old (8 days later, backup_max_age_days = 7), or gone
    assert "older than 7 days" in only("backup", "faketime", "-f", "+8d")["detail"]
    sb.cmd(["rm", sb.backup], check=True)
    only("backup")
    assert sb.eschool("backup", sb.backup).returncode == 0
    # pam: the module before pam_unix in common-password
    pw = sb.read("/etc/pam.d/common-password")
    lines = pw.splitlines()
    mine = next(l for l in lines if "pam_eschool.so" in l)
    lines.remove(mine)
    lines.insert(0, mine)
    sb.write("/etc/pam.d/common-password", "\n".join(lines) + "\n", mode="644")
    assert "comes before the module that changes the password" in only("pam")["detail"]
    sb.write("/etc/pam.d/common-password", pw, mode="644")
    acct = sb.read("/etc/pam.d/common-account")
    sb.write("/etc/pam.d/common-account",
             "".join(l + "\n" for l in acct.splitlines() if "pam_eschool" not in l), mode="644")
    assert "no account line" in only("pam")["detail"]
    sb.write("/etc/pam.d/common-account", acct, mode="644")
    # queue: a mail failed for good
    enqueue(sb, "gone@lycee-exemple.fr", "reset", 0)
    srv.rcpt_replies.append("550 5.1.1 no such user")
    sb.cmd([ESCHOOL, "queue", "run"], env=ASAN)
    assert "1 failed" in only("queue")["detail"]
    # all fixed again
    for line in sb.eschool("--json", "queue", "list").stdout.splitlines():
        sb.eschool("queue", "drop", json.loads(line)["id"])
    p, checks = doctor(sb)
    assert p.returncode == 0, failing(checks)


def test_pam_not_enabled_is_not_a_failure(srv, dns):
    with new_sandbox() as sb:
        configure_mail(sb, srv.port, srv.ca_file, mode="production")
        p, checks = doctor(sb)
        assert checks["pam"]["status"] == "skip"
        assert checks["addresses"]["status"] == "skip"  # nobody managed yet
        assert "pam-auth-update --enable eschool" in checks["pam"]["fix"]


def test_aging_written_before_eschool_did_is_fixed(good):
    """An account made before eschool wrote the password's aging into shadow
    (lastchg today, login.defs' 99999): pam_unix alone would let its
    temporary password live. doctor says so; doctor --fix sets lastchg 0
    and the role's max/warn, as add and import now do."""
    sb = good
    assert "must be changed" in sb.cmd(["chage", "-l", "leo"], check=True).stdout
    sb.cmd(["chage", "-d", "20000", "-M", "99999", "-W", "7", "zoe"], check=True)
    p, checks = doctor(sb)
    assert checks["aging"]["status"] == "warn", checks["aging"]
    assert "1 of 2 accounts (zoe" in checks["aging"]["detail"], checks["aging"]
    assert checks["aging"]["fix"] == "eschool doctor --fix"
    assert p.returncode == 0  # worth a look, not a failure
    p = sb.cmd([ESCHOOL, "--json", "doctor", "--fix"], env=ASAN)
    checks = {c["item"]: c for c in json.loads(p.stdout)["checks"]}
    assert checks["aging"]["status"] == "ok" and "fixed now" in checks["aging"]["detail"]
    fields = [l for l in sb.read("/etc/shadow").splitlines() if l.startswith("zoe:")][0]
    assert fields.split(":")[2:6] == ["0", "0", "90", "7"], fields
    # a password the user chose keeps its day: only max and warn follow
    sb.cmd(["chage", "-d", "20000", "-M", "99999", "leo"], check=True)
    sb.write("/var/lib/eschool/users/leo", sb.read("/var/lib/eschool/users/leo").replace(
        "must_change=1", "must_change=0"))
    p = sb.cmd([ESCHOOL, "doctor", "--fix"], env=ASAN)
    fields = [l for l in sb.read("/etc/shadow").splitlines() if l.startswith("leo:")][0]
    assert fields.split(":")[2:6] == ["20000", "0", "90", "7"], fields
