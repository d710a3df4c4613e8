"""eschool remind: first-change reminders and expiry warnings, under moved
time (faketime on the helper), in the sandbox. Default policy:
remind_unchanged_after_days = 7, initial_password_ttl_days = 14,
max_age_days = 90, warn_schedule = 7,1."""
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import ISO_DATE, MAIL_WHEN, configure_mail, mail_when, new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import TEMPLATES, add, edit_state, prepare, state  # noqa: E402

ASAN = {"ASAN_OPTIONS": "verify_asan_link_order=0"}
UNITS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "packaging", "systemd")


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def remind(sb, days, *args):
    """eschool --json remind at `days` days from now; the mails it lists."""
    p = sb.cmd(["faketime", "-f", f"+{days * 86400:.0f}s", ESCHOOL, "--json", "remind", *args],
               env=ASAN)
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.splitlines()]


def queued(sb):
    p = sb.eschool("--json", "queue", "list")
    return [json.loads(l) for l in p.stdout.splitlines()]


def changed_password(sb, user):
    """As if the user had chosen a password now (what the module records)."""
    edit_state(sb, user, must_change=0, initial_expires=0, password_changed=int(time.time()))


def test_first_change_reminder_once(sb):
    prepare(sb)
    add(sb, "zoe")
    assert remind(sb, 6) == []
    got = remind(sb, 8)
    assert [(m["username"], m["kind"], m["to"], m["days_left"]) for m in got] == \
        [("zoe", "first-change-reminder", "zoe@school.example", 6)]
    assert [m["kind"] for m in queued(sb)] == ["first-change-reminder"]
    assert remind(sb, 8) == [] and remind(sb, 9) == []  # never twice
    assert len(queued(sb)) == 1
    # after the temporary password stopped working, no reminder for it
    sb.eschool("queue", "drop", queued(sb)[0]["id"])
    edit_state(sb, "zoe", reminders="")
    assert remind(sb, 15) == []


def test_expiry_warnings_on_schedule(sb):
    prepare(sb)
    add(sb, "lea", lang="en")
    changed_password(sb, "lea")
    assert remind(sb, 8) == []      # a password of her own: no first-change reminder
    assert remind(sb, 82) == []
    got = remind(sb, 83)
    assert [(m["kind"], m["days_left"]) for m in got] == [("expiry-warning", 7)]
    assert remind(sb, 83) == [] and remind(sb, 86) == []
    got = remind(sb, 89)
    assert [(m["kind"], m["days_left"]) for m in got] == [("expiry-warning", 1)]
    assert remind(sb, 89.5) == []
    assert remind(sb, 90) == []     # expired: the module asks at login
    assert [m["kind"] for m in queued(sb)] == ["expiry-warning"] * 2
    # a new password starts a new round, and the old occasions are dropped
    edit_state(sb, "lea", password_changed=int(time.time()) + 90 * 86400)
    got = remind(sb, 173)
    assert [(m["kind"], m["days_left"]) for m in got] == [("expiry-warning", 7)]
    assert len(state(sb, "lea")["reminders"].split(",")) == 1


def test_a_missed_stretch_catches_up_once(sb):
    prepare(sb)
    add(sb, "zoe")
    add(sb, "lea")
    changed_password(sb, "lea")
    # nobody ran remind for 12 days: one reminder, not five
    got = remind(sb, 12)
    assert [(m["username"], m["kind"]) for m in got] == [("zoe", "first-change-reminder")]
    # nothing from day 80 to day 89: both steps came due, one mail
    got = remind(sb, 89)
    assert [(m["username"], m["kind"], m["days_left"]) for m in got] == \
        [("lea", "expiry-warning", 1)]
    assert remind(sb, 89) == []
    occasions = state(sb, "lea")["reminders"].split(",")
    assert sorted(o.rsplit("-", 1)[1] for o in occasions) == ["1", "7"]


def test_disabled_and_exempt_users_get_nothing(sb):
    prepare(sb, policy="exempt_users = root, max\n")
    for u in ("zoe", "max", "lea"):
        add(sb, u)
    assert sb.eschool("disable", "zoe").returncode == 0
    got = remind(sb, 8)
    assert [m["username"] for m in got] == ["lea"]
    p = sb.cmd(["faketime", "-f", "+9d", ESCHOOL, "remind"], env=ASAN)
    assert p.returncode == 0 and "2 skipped" in p.stdout, p.stdout


def test_dry_run_changes_nothing(sb):
    prepare(sb)
    add(sb, "zoe")
    before = sb.read("/var/lib/eschool/users/zoe")
    got = remind(sb, 8, "--dry-run")
    assert [(m["username"], m["kind"], m["id"]) for m in got] == \
        [("zoe", "first-change-reminder", None)]
    assert queued(sb) == [] and sb.read("/var/lib/eschool/users/zoe") == before
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "remind", "--dry-run"], env=ASAN)
    assert "zoe" in p.stdout and "1 first-change reminders" in p.stdout, p.stdout
    assert len(remind(sb, 8)) == 1  # the real run still sends it


def test_a_corrupt_state_file_does_not_stop_the_run(sb):
    prepare(sb)
    add(sb, "zoe")
    add(sb, "lea")
    sb.write("/var/lib/eschool/users/lea", "garbage\n")
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "--json", "remind"], env=ASAN)
    assert p.returncode == 65, p.stderr
    assert "/var/lib/eschool/users/lea" in p.stderr
    assert [json.loads(l)["username"] for l in p.stdout.splitlines()] == ["zoe"]


@pytest.mark.parametrize("argv", [["remind", "--dry-run"], ["--json", "remind", "--dry-run"],
                                  ["remind"]])
def test_output_into_a_closed_pipe_is_quiet(sb, argv):
    """`eschool remind ... | head`: a reader that has gone is no error to
    report (item 16). Its read end is closed before eschool starts, so every
    write fails with EPIPE: no "cannot write the output", the run's own exit
    status, and the reminders are still queued."""
    prepare(sb)
    add(sb, "zoe")
    add(sb, "lea")
    r, w = os.pipe()
    os.close(r)
    proc = sb.popen(["faketime", "-f", "+8d", ESCHOOL, *argv], stdout=w,
                    stderr=subprocess.PIPE, text=True, env=dict(os.environ, **ASAN))
    os.close(w)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, ""), err
    assert len(queued(sb)) == (0 if "--dry-run" in argv else 2)


def test_mails_delivered_and_logged(sb, srv):
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    conf = sb.read("/etc/eschool/eschool.conf").replace(
        "[general]\n", f"[general]\ntemplate_dir = {TEMPLATES}\nlog_file = /var/log/eschool.log\n",
        1)
    sb.write("/etc/eschool/eschool.conf", conf)
    add(sb, "zoe")
    add(sb, "max")
    edit_state(sb, "max", initial_expires=0)  # a temporary password without an end
    add(sb, "lea", lang="en")
    changed_password(sb, "lea")
    n0 = len(srv.messages)
    assert len(remind(sb, 8)) == 2 and len(remind(sb, 83)) == 1
    p = sb.cmd(["faketime", "-f", "+83d", ESCHOOL, "queue", "run"], env=ASAN)
    assert p.returncode == 0, p.stderr
    got = {(m["X-Eschool-Kind"], env.rcpt_tos[0].split("@")[0]): m
           for env, m in srv.messages[n0:]}
    endless = got.pop(("first-change-reminder", "max")).get_body(("plain",)).get_content()
    assert "provisoire" in endless and "ne fonctionnera plus" not in endless
    got = {kind: m for (kind, _), m in got.items()}
    assert set(got) == {"first-change-reminder", "expiry-warning"}
    warn = got["expiry-warning"]
    assert warn["Subject"].endswith("your password expires in 7 days")
    text = warn.get_body(("plain",)).get_content()
    assert "expires in 7 days" in text
    assert warn.get_body(("html",)) is not None
    # dates as each language writes them (local time), in both parts,
    # never ISO: lea's in English, zoe's in the school's French
    lea_expires = int(state(sb, "lea")["password_changed"]) + 90 * 86400
    html = warn.get_body(("html",)).get_content()
    assert f"(on {mail_when(lea_expires, 'en')})" in text, text
    assert mail_when(lea_expires, "en") in html
    assert MAIL_WHEN["en"].search(text) and not MAIL_WHEN["fr"].search(text)
    assert not ISO_DATE.search(text) and not ISO_DATE.search(html)
    first = got["first-change-reminder"].get_body(("plain",)).get_content()
    assert "zoe" in first and "provisoire" in first and "ne fonctionnera plus" in first
    zoe_expires = int(state(sb, "zoe")["initial_expires"])
    assert f"après le {mail_when(zoe_expires, 'fr')} ;" in first, first
    assert MAIL_WHEN["fr"].search(first) and " à " in first and " h " in first
    assert not ISO_DATE.search(first)
    log = sb.read("/var/log/eschool.log")
    assert "remind: 3 users checked, 2 first-change reminders, 0 expiry warnings" in log, log


def test_timer_and_service_units(tmp_path, sb):
    names = ["eschool-remind.service", "eschool-remind.timer"]
    for name in names:
        text = open(os.path.join(UNITS, name)).read()
        (tmp_path / name).write_text(text.replace("/usr/sbin/eschool", ESCHOOL))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no"]
                       + [str(tmp_path / n) for n in names], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    timer = open(os.path.join(UNITS, "eschool-remind.timer")).read()
    assert "\nPersistent=true\n" in timer
    # the service's command, as systemd runs it, a day later
    svc = open(os.path.join(UNITS, "eschool-remind.service")).read()
    argv = shlex.split(svc.split("ExecStart=", 1)[1].splitlines()[0])
    assert argv[0] == "/usr/sbin/eschool" and argv[-1] == "remind"
    prepare(sb)
    add(sb, "zoe")
    p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL] + argv[1:], env=ASAN)
    assert p.returncode == 0 and p.stdout == "", p.stdout + p.stderr
    assert [m["kind"] for m in queued(sb)] == ["first-change-reminder"]
