"""One verdict, four readers: every case of tests/cases/account.txt (the
table lib/es_account's unit test runs) goes through the PAM module's
account stage (the real libpam, pypamtest), `eschool show --json` and
`eschool remind --dry-run --json`, and all of them must say what the table
says. Before lib/es_account they disagreed: `show` called a password whose
role was removed "never expires" where the module called it expired."""
import datetime
import json
import os
import time

import pytest

from conftest import new_sandbox
from test_pam import STATE, prepare, add, drive, code_of

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(os.path.dirname(HERE), "cases", "account.txt")
DAY = 86400
# what the module's account stage returns for each verdict
PAM_CODE = {"ok": 0, "warn": 0, "must-change": 12, "expired": 12,
            "temporary-expired": 13, "disabled": 13}
TIMES = ("created", "password_changed", "initial_expires", "last_login")


def cases():
    out = []
    with open(CASES, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = [c.strip() for c in line.split("|")]
            assert len(cols) == 7, line
            out.append(dict(zip(("name", "state", "config", "verdict", "days_left",
                                 "expires", "remind"), cols)))
    return out


def at(value, now):
    return int(now + float(value[1:]) * DAY) if value.startswith("@") else int(value)


def config_text(keys):
    sections = {}
    for kv in ([] if keys == "-" else keys.split()):
        where, rest = kv.split(".", 1)
        name = "policy" if where == "policy" else f"role {where}"
        sections.setdefault(name, []).append(rest.replace("=", " = ", 1))
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def write_state(sb, user, keys, now):
    """The account's own state (email, uid) and the case's keys only."""
    old = dict(l.split("=", 1) for l in sb.read(f"{STATE}/{user}").splitlines() if "=" in l)
    fields = {"email": old["email"], "name": old["name"], "uid": old["uid"],
              "delivery": "printed"}
    for kv in keys.split():
        k, v = kv.split("=", 1)
        fields[k] = str(at(v, now)) if k in TIMES else v
    sb.write(f"{STATE}/{user}", "eschool-state 1\n" +
             "".join(f"{k}={v}\n" for k, v in fields.items()) + "end\n")


def iso_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


@pytest.fixture(scope="module")
def sb():
    with new_sandbox() as s:
        prepare(s)
        for case in cases():
            add(s, case["name"])
        yield s


@pytest.mark.parametrize("case", cases(), ids=lambda c: c["name"])
def test_module_show_and_remind_agree_with_the_table(sb, case):
    user = case["name"]
    prepare(sb, policy="")
    conf = sb.read("/etc/eschool/eschool.conf")
    sb.write("/etc/eschool/eschool.conf", conf + config_text(case["config"]))
    now = time.time()
    write_state(sb, user, case["state"], now)
    days = int(case["days_left"])
    expires = None if case["expires"] == "never" else at(case["expires"], now)

    # the module
    r = drive(sb, "es-account", user, [["account", PAM_CODE[case["verdict"]]]])
    assert r["ok"], (case, code_of(r), r)
    if case["verdict"] == "warn":
        unit = "day" if days == 1 else "days"
        assert any(f"expires in {days} {unit}" in i for i in r["info"]), r
    else:
        assert not any("expires in" in i for i in r["info"]), r

    # show
    p = sb.eschool("--json", "show", user)
    assert p.returncode == 0, p.stderr
    shown = json.loads(p.stdout)
    assert shown["verdict"] == case["verdict"], shown
    assert shown["days_left"] == days, shown
    if expires is None:
        assert shown["expires"] is None, shown
    else:
        assert abs(iso_time(shown["expires"]) - expires) < 120, (shown, expires)

    # remind
    p = sb.eschool("--json", "remind", "--dry-run")
    assert p.returncode == 0, p.stderr
    due = [json.loads(l) for l in p.stdout.splitlines()]
    mine = [d for d in due if d["username"] == user]
    if case["remind"] == "-":
        assert mine == [], mine
    else:
        kind = {"first": "first-change-reminder", "warn": "expiry-warning"}[case["remind"]]
        assert len(mine) == 1 and mine[0]["kind"] == kind, mine
        assert mine[0]["days_left"] == days, mine
        if expires is not None:
            assert abs(iso_time(mine[0]["expires"]) - expires) < 120, mine
