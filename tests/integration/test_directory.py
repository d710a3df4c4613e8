"""accounts.backend = ldap: the helper on the admin server against a real
slapd (tests/directory.py: the shipped schema, access rules and entries),
binding as the shipped cn=eschool-admin host entry, StartTLS checked
against the test's private CA."""
import csv
import io
import json
import os
import socket
import subprocess
import threading
import time
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import CONF, RANDOM_PW, credentials_human, hash_ok, json_lines  # noqa: E402
from directory import BASE, GROUPS, HOSTS, IDS_DN, Slapd, user_dn  # noqa: E402
from sandbox import Sandbox  # noqa: E402

SECRET = "/etc/eschool/ldap.secret"


def ldap_conf(slapd, extra=""):
    admin_dn = HOSTS["eschool-admin"][0]
    return ("[general]\nmode = debug\nschool_name = Lycée Exemple\n"
            "[accounts]\nbackend = ldap\n"
            f"[ldap]\nuri = {slapd.uri}\nbase = {BASE}\nbind_dn = {admin_dn}\n"
            f"bind_password_file = {SECRET}\nca_file = {slapd.ca_file}\n" + extra)


@pytest.fixture
def server():
    """The admin server's sandbox, its slapd, and a config that uses it."""
    sb = Sandbox()
    slapd = None
    try:
        slapd = Slapd(sb)
        sb.write(SECRET, HOSTS["eschool-admin"][1] + "\n", mode="600")
        sb.write(CONF, ldap_conf(slapd))
        yield sb, slapd
    finally:
        if slapd is not None:
            slapd.close()
        sb.close()


def admin_entry(slapd, dn, attrs=()):
    return slapd.entry(dn, attrs, bind_dn=slapd.admin_dn, password=slapd.admin_password)


def counter(slapd, attr):
    return int(admin_entry(slapd, IDS_DN, [attr])[attr][0])


def test_add_makes_the_account_and_its_state_in_the_directory(server):
    sb, slapd = server
    first_uid, first_gid = counter(slapd, "uidNumber"), counter(slapd, "gidNumber")
    p = sb.eschool("add", "zoe", "--email", "zoe@example.org", "--name", "Zoé Martin",
                   "--class", "3A")
    assert p.returncode == 0, p.stdout + p.stderr
    password = credentials_human(p.stdout)["zoe"]
    assert RANDOM_PW.fullmatch(password)

    e = admin_entry(slapd, user_dn("zoe"), ["*"])
    classes = {c.lower() for c in e["objectClass"]}
    assert {"inetorgperson", "posixaccount", "shadowaccount", "eschoolaccount"} <= classes
    assert e["uid"] == ["zoe"] and e["cn"] == ["Zoé Martin"] and e["sn"] == ["Martin"]
    assert e["givenName"] == ["Zoé"] and e["mail"] == ["zoe@example.org"]
    # the password: a libxcrypt yescrypt hash, and a temporary one
    assert e["userPassword"][0].startswith("{CRYPT}$y$")
    assert hash_ok(e["userPassword"][0][len("{CRYPT}"):], password)
    assert e["shadowLastChange"] == ["0"]
    assert int(e["shadowMax"][0]) == 90 and int(e["shadowWarning"][0]) == 7
    assert e["homeDirectory"] == ["/home/zoe"] and e["loginShell"] == ["/bin/bash"]
    # eschool's state on the same entry
    assert e["eschoolMail"] == ["zoe@example.org"] and e["eschoolRole"] == ["student"]
    assert e["eschoolClass"] == ["3A"] and e["eschoolMustChange"] == ["1"]
    assert e["eschoolDelivery"] == ["printed"]
    # numbers from the counter, the role's group made with the next gid
    assert int(e["uidNumber"][0]) == first_uid
    assert counter(slapd, "uidNumber") == first_uid + 1
    group = admin_entry(slapd, f"cn=students,{GROUPS}", ["gidNumber", "memberUid"])
    assert group["memberUid"] == ["zoe"] and int(group["gidNumber"][0]) == first_gid
    assert e["gidNumber"] == group["gidNumber"]
    # the mailed password opens the account: an LDAP bind as the user
    assert slapd.bind_ok(user_dn("zoe"), password)
    assert not slapd.bind_ok(user_dn("zoe"), password + "x")


def test_show_and_list_read_the_directory(server):
    sb, slapd = server
    for user in ("ana", "bob"):
        p = sb.eschool("add", user, "--email", f"{user}@example.org")
        assert p.returncode == 0, p.stdout + p.stderr
    p = sb.eschool("--json", "show", "bob")
    assert p.returncode == 0, p.stdout + p.stderr
    shown = json.loads(p.stdout)
    assert shown["username"] == "bob" and shown["email"] == "bob@example.org"
    assert shown["must_change"] is True
    p = sb.eschool("list")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ana" in p.stdout and "bob" in p.stdout


def test_disable_locks_the_directory_account_and_enable_undoes_it(server):
    sb, slapd = server
    p = sb.eschool("add", "eve", "--email", "eve@example.org")
    password = credentials_human(p.stdout)["eve"]
    p = sb.eschool("disable", "eve")
    assert p.returncode == 0, p.stdout + p.stderr
    e = admin_entry(slapd, user_dn("eve"), ["shadowExpire", "userPassword", "eschoolDisabled"])
    assert e["shadowExpire"] == ["1"] and e["eschoolDisabled"] == ["1"]
    assert e["userPassword"][0].startswith("{CRYPT}!$y$")
    assert not slapd.bind_ok(user_dn("eve"), password)
    p = sb.eschool("enable", "eve")
    assert p.returncode == 0, p.stdout + p.stderr
    e = admin_entry(slapd, user_dn("eve"), ["shadowExpire", "userPassword"])
    assert "shadowExpire" not in e and e["userPassword"][0].startswith("{CRYPT}$y$")
    assert slapd.bind_ok(user_dn("eve"), password)


def test_reset_sets_a_new_temporary_password(server):
    sb, slapd = server
    p = sb.eschool("add", "ian", "--email", "ian@example.org")
    old = credentials_human(p.stdout)["ian"]
    p = sb.eschool("reset", "ian")
    assert p.returncode == 0, p.stdout + p.stderr
    new = credentials_human(p.stdout)["ian"]
    assert new != old
    assert slapd.bind_ok(user_dn("ian"), new) and not slapd.bind_ok(user_dn("ian"), old)
    assert admin_entry(slapd, user_dn("ian"), ["shadowLastChange"])["shadowLastChange"] == ["0"]


def test_a_directory_that_does_not_answer_stops_the_command_with_69(server):
    sb, slapd = server
    slapd.stop()
    p = sb.eschool("add", "zed", "--email", "zed@example.org")
    assert p.returncode == 69, p.stdout + p.stderr
    assert "does not answer" in p.stderr and slapd.uri in p.stderr
    slapd.start()  # nothing half done: no entry, no number taken
    assert slapd.search("(uid=zed)", ["uid"], bind_dn=slapd.admin_dn,
                        password=slapd.admin_password) == {}


def test_a_wrong_bind_password_is_a_config_error(server):
    sb, slapd = server
    sb.write(SECRET, "not-the-password\n", mode="600")
    p = sb.eschool("list")
    assert p.returncode == 78, p.stdout + p.stderr
    assert "bind_password_file" in p.stderr


def test_a_server_certificate_from_another_ca_is_refused(server):
    sb, slapd = server
    other = Slapd(sb, start=False, name="other-ldap")  # another private CA
    try:
        sb.write(CONF, ldap_conf(slapd).replace(slapd.ca_file, other.ca_file))
        p = sb.eschool("list")
        assert p.returncode == 78, p.stdout + p.stderr
        assert "certificate was not accepted" in p.stderr and other.ca_file in p.stderr
    finally:
        other.close()


def doctor_items(sb):
    p = sb.eschool("--json", "doctor")
    return p, {c["item"]: c for c in json.loads(p.stdout)["checks"]}


def test_doctor_checks_the_connection_the_schema_and_the_rights(server):
    sb, slapd = server
    p, items = doctor_items(sb)
    assert items["directory"]["status"] == "ok", items["directory"]
    assert "TLS" in items["directory"]["detail"]
    assert "cn=eschool-admin,ou=hosts," + BASE in items["directory"]["detail"]
    assert items["schema"]["status"] == "ok" and items["rights"]["status"] == "ok"
    # the probe leaves nothing behind, and the counter is where it was
    before = counter(slapd, "uidNumber")
    assert slapd.search("(uid=eschool-doctor-probe)", ["uid"], bind_dn="admin") == {}
    doctor_items(sb)
    assert counter(slapd, "uidNumber") == before


def test_doctor_says_what_is_wrong_with_the_directory(server):
    sb, slapd = server
    # a workstation's identity: it may not write the counter nor make entries
    ws_dn, ws_pw = HOSTS["ws1"]
    sb.write(SECRET, ws_pw + "\n", mode="600")
    sb.write(CONF, ldap_conf(slapd).replace(HOSTS["eschool-admin"][0], ws_dn))
    p, items = doctor_items(sb)
    assert p.returncode == 78
    assert items["directory"]["status"] == "ok" and items["rights"]["status"] == "fail"
    assert "cn=eschool-ids" in items["rights"]["detail"]
    assert "eschool-admins" in items["rights"]["fix"]
    # the server down: the first item says so and how to check
    slapd.stop()
    p, items = doctor_items(sb)
    assert p.returncode == 78
    assert items["directory"]["status"] == "fail"
    assert "does not answer" in items["directory"]["detail"]
    assert "ldapwhoami" in items["directory"]["fix"]


def roster(n, start=0):
    lines = ["username,name,email,class,role"]
    for i in range(start, start + n):
        role = "teacher" if i % 10 == 0 else "student"
        lines.append(f"e{i:04d},Élève Numéro{i},e{i:04d}@school.example,2nde A,{role}")
    return "\n".join(lines) + "\n"


def test_import_makes_every_account_in_the_directory(server):
    sb, slapd = server
    path = sb.private("roster.csv")
    sb.write(path, roster(40))
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stdout + p.stderr
    creds = {o["username"]: o["password"] for o in json_lines(p.stdout) if "password" in o}
    assert len(creds) == 40
    people = slapd.search("(objectClass=posixAccount)", ["uid", "uidNumber", "userPassword",
                                                          "shadowLastChange", "eschoolRole"],
                          bind_dn="admin", base="ou=people," + BASE)
    assert len(people) == 40
    numbers = [int(e["uidNumber"][0]) for e in people.values()]
    assert len(set(numbers)) == 40
    for dn, e in people.items():
        user = e["uid"][0]
        assert e["shadowLastChange"] == ["0"]
        assert hash_ok(e["userPassword"][0][len("{CRYPT}"):], creds[user])
        assert e["eschoolRole"] == ["teacher" if int(user[1:]) % 10 == 0 else "student"]
    teachers = admin_entry(slapd, f"cn=teachers,{GROUPS}", ["memberUid"])["memberUid"]
    assert sorted(teachers) == [f"e{i:04d}" for i in range(0, 40, 10)]
    # a second run has nothing to do
    p = sb.eschool("--json", "import", path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not [o for o in json_lines(p.stdout) if "password" in o]
    assert len(slapd.search("(objectClass=posixAccount)", ["uid"], bind_dn="admin",
                            base="ou=people," + BASE)) == 40


# ---- the workstations: pam_sss and pam_eschool, the state in the directory ----

from directory import (PAM_CHANGE_EXPIRED_AUTHTOK, PAM_NEW_AUTHTOK_REQD,  # noqa: E402
                       PAM_SUCCESS, Workstation)
from sandbox import ESCHOOL  # noqa: E402

MODULE = os.path.join(os.path.dirname(ESCHOOL), "pam_eschool.so")


def queue_list(sb):
    p = sb.eschool("--json", "queue", "list")
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def workstation(slapd, host, **sssd):
    """A workstation with SSSD and pam_eschool (its own host entry, its own
    config) in account, password and session; sssd: more of Workstation's
    arguments."""
    ws = Workstation(slapd, host, **sssd)
    dn, pw = HOSTS[host]
    ws.sb.write(SECRET, pw + "\n", mode="600")
    ws.sb.write(CONF, ldap_conf(slapd).replace(HOSTS["eschool-admin"][0], dn))
    ws.pam_service("es-sss", extra={
        "account": [f"account required {MODULE}"],
        "password": [f"password required {MODULE}"],
        "session": [f"session optional {MODULE}"],
    })
    return ws


def first_login(ws, user, temporary, new):
    """A login program's one transaction with a temporary password: told
    to change it, changes it, opens the session."""
    return ws.pam_ok(user, [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                            ["chauthtok", PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK],
                            ["open", PAM_SUCCESS]],
                     passwords=[temporary, temporary, new, new])


def test_the_first_login_changes_the_password_on_any_workstation(server):
    sb, slapd = server
    p = sb.eschool("add", "zoe", "--email", "zoe@example.org")
    temporary = credentials_human(p.stdout)["zoe"]
    new = "Nouveau-Mot-2-Passe!"
    ws1, ws2 = workstation(slapd, "ws1"), workstation(slapd, "ws2")
    try:
        # ws2 first: the temporary password works and must be changed
        r = ws2.pam("zoe", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD]],
                    passwords=[temporary])
        assert r["ok"], r
        # on ws1 the change is made (the login program's one transaction)
        log = ws1.sb.syslog()
        first_login(ws1, "zoe", temporary, new)
        e = admin_entry(slapd, user_dn("zoe"), ["eschoolMustChange", "eschoolPasswordChanged",
                                                "shadowLastChange", "eschoolSources"])
        assert e["eschoolMustChange"] == ["0"], "\n".join(log.received())
        assert int(e["shadowLastChange"][0]) > 0
        # ws2 and ws3 accept the new password and ask nothing
        ws2.sss_cache_expire()
        ws2.pam_ok("zoe", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                           ["open", PAM_SUCCESS]], passwords=[new])
        # the server sees it all, and mails what ws1 owes: once
        p = sb.eschool("--json", "show", "zoe")
        assert json.loads(p.stdout)["must_change"] is False
        assert admin_entry(slapd, user_dn("zoe"), ["eschoolNotices"])["eschoolNotices"][0] \
            .startswith("password-changed:")
        assert not ws1.sb.exists("/var/spool/eschool/new")  # nothing queued on ws1
        for _ in range(2):
            p = sb.eschool("queue", "run")
            assert p.returncode == 0, p.stdout + p.stderr
        queued = [m for m in queue_list(sb) if m["kind"] == "password-changed"]
        assert len(queued) == 1 and queued[0]["to"] == "zoe@example.org", queued
        assert "eschoolNotices" not in admin_entry(slapd, user_dn("zoe"), ["eschoolNotices"])
    finally:
        ws1.close()
        ws2.close()


def test_disable_refuses_the_next_login_on_every_workstation(server):
    sb, slapd = server
    p = sb.eschool("add", "eve", "--email", "eve@example.org")
    temporary = credentials_human(p.stdout)["eve"]
    ws = workstation(slapd, "ws1")
    try:
        ws.pam_ok("eve", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD]],
                  passwords=[temporary])
        assert sb.eschool("disable", "eve").returncode == 0
        ws.sss_cache_expire()
        r = ws.pam("eve", [["auth", PAM_SUCCESS]], passwords=[temporary])
        assert not r["ok"], r  # the directory refuses the locked password
        r = ws.pam("eve", [["account", PAM_SUCCESS]])
        assert not r["ok"] and r["code"] != PAM_SUCCESS, r  # shadowExpire, and eschool's own flag
    finally:
        ws.close()


def test_a_directory_down_leaves_the_workstation_to_sssd(server):
    """The server stops after a first login: the workstation still logs
    the student in from SSSD's cache, pam_eschool says one line and
    refuses nothing, and nothing waits longer than its bound."""
    sb, slapd = server
    p = sb.eschool("add", "ana", "--email", "ana@example.org")
    temporary = credentials_human(p.stdout)["ana"]
    new = "Autre-Mot-2-Passe!"
    ws = workstation(slapd, "ws1")
    try:
        first_login(ws, "ana", temporary, new)
        ws.pam_ok("ana", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]], passwords=[new])
        # a login this workstation has not recorded today (its note gone):
        # the module has a login to write, and the directory is down
        ws.sb.cmd(["rm", "/var/lib/eschool/seen/ana"], check=True)
        slapd.stop()
        log = ws.sb.syslog()
        ws.pam_ok("ana", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS],
                          ["open", PAM_SUCCESS]], passwords=[new])
        lines = [x for x in log.received() if "pam_eschool" in x]
        assert lines and all("left to the rest of the stack" in x for x in lines), lines
        assert any("does not answer" in x for x in lines), lines
    finally:
        ws.close()


def test_two_imports_on_two_servers_never_share_a_number(server):
    """Two admin servers import at once into one directory: the counter's
    compare-and-set gives every account its own uid."""
    sb, slapd = server
    other = Sandbox()
    try:
        other.write(SECRET, HOSTS["eschool-admin"][1] + "\n", mode="600")
        other.write(CONF, ldap_conf(slapd))
        sb.write(sb.private("a.csv"), roster(150, 0))
        other.write(other.private("b.csv"), roster(150, 1000))
        pa = sb.popen([ESCHOOL, "-q", "import", sb.private("a.csv")], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        pb = other.popen([ESCHOOL, "-q", "import", other.private("b.csv")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        outs = [pa.communicate(timeout=300), pb.communicate(timeout=300)]
        assert pa.returncode == 0 and pb.returncode == 0, outs
        people = slapd.search("(objectClass=posixAccount)", ["uidNumber"], bind_dn="admin",
                              base="ou=people," + BASE)
        numbers = [e["uidNumber"][0] for e in people.values()]
        assert len(people) == 300 and len(set(numbers)) == 300
    finally:
        other.close()


STORECAS = os.path.join(os.path.dirname(ESCHOOL), "storecas")


def test_a_save_never_overwrites_what_another_machine_wrote(server):
    """A record loaded, then changed by another machine, then saved: the
    save is refused (ES_ETEMP, 75) and the other machine's value stays; a
    record whose attribute nobody touched meanwhile saves."""
    sb, slapd = server
    assert sb.eschool("add", "leo", "--email", "leo@example.org").returncode == 0
    dn = user_dn("leo")
    for other_writes, expect in ((True, "refused 75"), (False, "saved")):
        p = sb.popen([STORECAS, CONF, "leo", "sources", "10.0.0.1"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "loaded"
        if other_writes:  # workstation ws2 records a login meanwhile
            code, out = slapd.replace(dn, "eschoolSources", "10.9.9.9", bind_dn="ws2")
            assert code == 0, out
        out, _ = p.communicate("go\n", timeout=60)
        assert out.startswith(expect), out
        if other_writes:
            assert "changed on another machine" in out
            assert admin_entry(slapd, dn, ["eschoolSources"])["eschoolSources"] == ["10.9.9.9"]
    assert admin_entry(slapd, dn, ["eschoolSources"])["eschoolSources"] == ["10.0.0.1"]


PAMLOOP = os.path.join(os.path.dirname(ESCHOOL), "pamloop")


def login_from(ws, user, rhost, password):
    """An account + session through the workstation's stack (pamloop), from rhost."""
    return ws.sb.popen([PAMLOOP, "-b", "es-sss", user, "1"], env={
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PAMLOOP_RHOST": rhost, "PAMLOOP_PW": password},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_new_source_is_told_once_whichever_workstations_see_it(server):
    """Logins from a new host on two workstations at once: one mail; the
    same host again on a third: none; another new host: one more."""
    sb, slapd = server
    p = sb.eschool("add", "max", "--email", "max@example.org")
    temporary = credentials_human(p.stdout)["max"]
    new = "Encore-Un-Mot-2-Passe!"
    wss = [workstation(slapd, h) for h in ("ws1", "ws2", "ws3")]
    try:
        first_login(wss[0], "max", temporary, new)  # the first login
        for ws in wss:
            ws.sss_cache_expire()
        runs = [login_from(ws, "max", "10.8.8.8", new) for ws in wss[:2]]
        for r in runs:
            out, errs = r.communicate(timeout=60)
            assert r.returncode == 0, errs
        r = login_from(wss[2], "max", "10.8.8.8", new)
        assert r.communicate(timeout=60) and r.returncode == 0
        r = login_from(wss[2], "max", "10.9.9.9", new)
        assert r.communicate(timeout=60) and r.returncode == 0
        e = admin_entry(slapd, user_dn("max"), ["eschoolSources", "eschoolNotices"])
        assert e["eschoolSources"][0].split(",")[:2] == ["10.9.9.9", "10.8.8.8"], e
        assert sb.eschool("queue", "run").returncode == 0
        told = [m for m in queue_list(sb) if m["kind"] == "new-login-source"]
        assert len(told) == 2, told
    finally:
        for ws in wss:
            ws.close()


def test_backup_and_restore_put_eschools_entries_back(server):
    """backup writes eschool's part of the directory as LDIF (0600): the
    counter, the groups, the accounts with their hashes and state; restore
    puts each entry back as it was: a reset undone, a disable undone, a
    deleted account made again; an account made since is left and named,
    and the counter does not go back."""
    sb, slapd = server
    pw = {}
    for user in ("zoe", "eve", "ana"):
        p = sb.eschool("add", user, "--email", f"{user}@example.org")
        assert p.returncode == 0, p.stdout + p.stderr
        pw[user] = credentials_human(p.stdout)[user]
    backup = sb.private("school.ldif")
    sb.cmd(["mkdir", "-p", os.path.dirname(backup)], check=True)
    p = sb.eschool("backup", backup)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sb.stat(backup)[:3] == (0o600, 0, 0)
    text = sb.read(backup)
    assert f"dn: {IDS_DN}" in text and f"dn: {user_dn('zoe')}" in text
    assert "cn=students," + GROUPS in text and "userPassword::" in text

    assert sb.eschool("reset", "zoe").returncode == 0
    assert sb.eschool("disable", "eve").returncode == 0
    rc, out = slapd.client(["ldapdelete", user_dn("ana")], bind_dn=slapd.admin_dn,
                           password=slapd.admin_password).returncode, ""
    assert rc == 0
    p = sb.eschool("add", "late", "--email", "late@example.org")
    assert p.returncode == 0, p.stdout + p.stderr
    late_uid = int(admin_entry(slapd, user_dn("late"), ["uidNumber"])["uidNumber"][0])

    p = sb.eschool("restore", backup)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 added" in p.stdout and user_dn("late") in p.stderr, p.stdout + p.stderr
    for user in ("zoe", "eve", "ana"):
        assert slapd.bind_ok(user_dn(user), pw[user]), user
    assert "shadowExpire" not in admin_entry(slapd, user_dn("eve"), ["shadowExpire"])
    assert admin_entry(slapd, user_dn("ana"), ["eschoolMail"])["eschoolMail"] == ["ana@example.org"]
    assert slapd.entry(user_dn("late"), ["uid"], bind_dn="admin") is not None
    assert counter(slapd, "uidNumber") > late_uid
    # the groups: the file's members back, the later account's kept
    members = admin_entry(slapd, f"cn=students,{GROUPS}", ["memberUid"])["memberUid"]
    assert sorted(members) == ["ana", "eve", "late", "zoe"], members
    p = sb.eschool("--json", "show", "eve")
    assert json.loads(p.stdout)["disabled"] is False, p.stdout
    # a second restore changes nothing more
    assert sb.eschool("restore", backup).returncode == 0
    assert slapd.bind_ok(user_dn("zoe"), pw["zoe"])


def test_restore_refuses_what_eschool_never_wrote(server):
    """A file with an entry outside eschool's places, a value read from a
    URL, or a change record: refused (65) before anything is written."""
    sb, slapd = server
    p = sb.eschool("add", "zoe", "--email", "zoe@example.org")
    assert p.returncode == 0, p.stdout + p.stderr
    backup = sb.private("school.ldif")
    sb.cmd(["mkdir", "-p", os.path.dirname(backup)], check=True)
    assert sb.eschool("backup", backup).returncode == 0
    good = sb.read(backup)
    mail_before = admin_entry(slapd, user_dn("zoe"), ["eschoolMail"])["eschoolMail"]
    hostile = {
        "outside": good.replace("eschoolMail: zoe@example.org", "eschoolMail: x@evil.example")
        + f"\ndn: cn=admin,{BASE}\nobjectClass: organizationalRole\ncn: admin\n",
        "url": good.replace("eschoolMail: zoe@example.org",
                            "eschoolMail: x@evil.example\ndescription:< file:///etc/shadow"),
        "change": good.replace("eschoolMail: zoe@example.org", "eschoolMail: x@evil.example")
        + f"\ndn: {user_dn('zoe')}\nchangetype: delete\n",
        # a URL whose attribute name is folded, an indented DN read from a
        # file, another file pulled in
        "folded": good.replace("eschoolMail: zoe@example.org",
                               "eschoolMail: x@evil.example\ndescrip\n tion:< file:///etc/shadow"),
        "indented": good + "\n dn:< file:///etc/hostname\nobjectClass: top\n",
        "include": "include: file:///etc/passwd\n\n" + good.replace(
            "eschoolMail: zoe@example.org", "eschoolMail: x@evil.example"),
        # an entry under users_dn that is not an account of eschool's
        "foreign": good.replace("eschoolMail: zoe@example.org", "eschoolMail: x@evil.example")
        + f"\ndn: cn=boss,ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: boss\nsn: b\n",
    }
    for name, text in hostile.items():
        path = sb.private(f"{name}.ldif")
        sb.write(path, text)
        p = sb.eschool("restore", path)
        assert p.returncode == 65, (name, p.stdout + p.stderr)
        assert f"{path}:" in p.stderr, (name, p.stderr)
        assert admin_entry(slapd, user_dn("zoe"), ["eschoolMail"])["eschoolMail"] == mail_before
    assert "description" not in admin_entry(slapd, user_dn("zoe"), ["description"])


def test_backup_of_a_directory_that_does_not_answer_writes_nothing(server):
    sb, slapd = server
    slapd.stop()
    backup = sb.private("school.ldif")
    sb.cmd(["mkdir", "-p", os.path.dirname(backup)], check=True)
    p = sb.eschool("backup", backup)
    assert p.returncode == 69, p.stdout + p.stderr
    assert not sb.exists(backup)
    assert sb.cmd(["ls", "-A", os.path.dirname(backup)]).stdout.strip() == ""


def test_the_address_code_is_checked_on_any_workstation(server):
    """set-email on the server, the code typed at a workstation's login:
    the workstation reads the code key from the directory and confirms
    the address there; the server sees it."""
    sb, slapd = server
    p = sb.eschool("add", "ivy", "--email", "ivy@example.org")
    temporary = credentials_human(p.stdout)["ivy"]
    new = "Mot-De-Passe-2-Ivy!"
    ws = workstation(slapd, "ws2")
    try:
        first_login(ws, "ivy", temporary, new)
        p = sb.eschool("--json", "set-email", "ivy", "ivy.new@example.org")
        assert p.returncode == 0, p.stderr
        code = json.loads(p.stdout)["code"]
        # the key lives on the counter entry, readable by workstations only
        assert "eschoolCodeKey" in admin_entry(slapd, IDS_DN, ["eschoolCodeKey"])
        assert slapd.entry(IDS_DN, ["eschoolCodeKey"], bind_dn="ws3") is not None
        assert not slapd.entry(IDS_DN, ["eschoolCodeKey"], bind_dn=user_dn("ivy"),
                               password=new)
        ws.sss_cache_expire()
        r = ws.pam_ok("ivy", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
                      passwords=[new], answers=[code])
        assert any("confirmed" in m for m in r["info"]), r
        shown = json.loads(sb.eschool("--json", "show", "ivy").stdout)
        assert shown["email"] == "ivy.new@example.org", shown
        # the workstation may not write mail: the helper's next write does
        assert admin_entry(slapd, user_dn("ivy"), ["mail"])["mail"] == ["ivy@example.org"]
        assert sb.eschool("reset", "ivy").returncode == 0
        assert admin_entry(slapd, user_dn("ivy"), ["mail"])["mail"] == ["ivy.new@example.org"]
        # and an address the admin sets is the entry's mail at once
        p = sb.eschool("set-email", "--force", "ivy", "ivy.fixed@example.org")
        assert p.returncode == 0, p.stdout + p.stderr
        assert admin_entry(slapd, user_dn("ivy"), ["mail"])["mail"] == ["ivy.fixed@example.org"]
    finally:
        ws.close()


def test_resend_and_remind_work_against_the_directory(server):
    sb, slapd = server
    p = sb.eschool("add", "ana", "--email", "ana@example.org")
    first = credentials_human(p.stdout)["ana"]
    p = sb.eschool("resend", "ana")
    assert p.returncode == 0, p.stdout + p.stderr
    again = credentials_human(p.stdout)["ana"]
    assert again != first and slapd.bind_ok(user_dn("ana"), again)
    # a week on, the unchanged temporary password gets its reminder, once
    for _ in range(2):
        p = sb.cmd(["faketime", "-f", "+8d", ESCHOOL, "remind"])
        assert p.returncode == 0, p.stdout + p.stderr
    told = [m for m in queue_list(sb) if m["kind"] == "first-change-reminder"]
    assert len(told) == 1 and told[0]["to"] == "ana@example.org", told
    assert admin_entry(slapd, user_dn("ana"), ["eschoolReminders"])["eschoolReminders"][0] \
        .startswith("first-")
    # forget is for what a removed account left: this one is there
    assert sb.eschool("forget", "ana").returncode == 65


def test_a_stalled_directory_is_given_up_within_the_timeout(server):
    """A server that accepts connections and never answers (a listening
    socket nobody reads): a command gives up after [ldap] timeout (2 s
    here, per step) with 69, instead of hanging."""
    sb, slapd = server
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    try:
        port = mute.getsockname()[1]
        sb.write(CONF, ldap_conf(slapd, "timeout = 2\n").replace(slapd.uri,
                                                                  f"ldap://127.0.0.1:{port}"))
        started = time.monotonic()
        p = sb.eschool("list", timeout=60)
        took = time.monotonic() - started
    finally:
        mute.close()
    assert p.returncode == 69, p.stdout + p.stderr
    assert took < 20, took  # a bound far above 2 s a step, far below a hang


def test_rfc2307bis_groups_are_groups_of_names_the_workstations_read(tmp_path):
    """schema = rfc2307bis on a directory whose posixGroup is auxiliary:
    the role groups are groupOfNames + posixGroup listing members by DN,
    and a workstation whose SSSD reads rfc2307bis sees the memberships."""
    sb = Sandbox()
    slapd = ws = None
    try:
        slapd = Slapd(sb, schema="rfc2307bis")
        sb.write(SECRET, HOSTS["eschool-admin"][1] + "\n", mode="600")
        sb.write(CONF, ldap_conf(slapd, "schema = rfc2307bis\n"))
        path = sb.private("roster.csv")
        sb.write(path, roster(12))
        p = sb.eschool("--json", "import", path)
        assert p.returncode == 0, p.stdout + p.stderr
        teachers = admin_entry(slapd, f"cn=teachers,{GROUPS}", ["objectClass", "member",
                                                               "memberUid", "gidNumber"])
        assert {c.lower() for c in teachers["objectClass"]} >= {"groupofnames", "posixgroup"}
        assert "memberUid" not in teachers
        members = {m.lower() for m in teachers["member"]}
        assert {user_dn("e0000").lower(), user_dn("e0010").lower()} <= members
        assert user_dn("e0001").lower() not in members
        students = admin_entry(slapd, f"cn=students,{GROUPS}", ["member"])["member"]
        assert len({m.lower() for m in students} & {user_dn(f"e{i:04d}").lower()
                                                    for i in range(12)}) == 10
        # a second run adds nobody twice
        p = sb.eschool("--json", "import", path)
        assert p.returncode == 0, p.stdout + p.stderr
        again = admin_entry(slapd, f"cn=teachers,{GROUPS}", ["member"])["member"]
        assert sorted(again) == sorted(teachers["member"])
        # a deleted account's DN leaves its groups (member, not memberUid)
        p = sb.eschool("delete", "e0011", "--yes")
        assert p.returncode == 0, p.stdout + p.stderr
        left = admin_entry(slapd, f"cn=students,{GROUPS}", ["member"])["member"]
        assert user_dn("e0011").lower() not in {m.lower() for m in left}
        assert user_dn("e0001").lower() in {m.lower() for m in left}

        ws = Workstation(slapd, "ws1", extra_conf="ldap_schema = rfc2307bis\n"
                                                  "ldap_group_member = member\n")
        group = ws.wait_getent("group", "teachers")
        assert group is not None, ws.logs()
        assert set(group[3].split(",")) == {"e0000", "e0010"}, group
        assert group[2] == teachers["gidNumber"][0]
        p = ws.sb.cmd(["id", "-Gn", "e0010"])
        assert p.returncode == 0 and "teachers" in p.stdout.split(), p.stdout + p.stderr
    finally:
        if ws is not None:
            ws.close()
        if slapd is not None:
            slapd.close()
        sb.close()


def test_a_thousand_rows_into_the_directory_with_plan_bar_and_sheet(server):
    """The README's import, 1,000 rows, backend ldap: the dry run plans
    every row and writes nothing; the real run draws its bar on a
    terminal, prints and saves every password once; the next dry run has
    nothing to do."""
    sb, slapd = server
    path = sb.private("roster.csv")
    sb.write(path, roster(1000))
    first_uid = counter(slapd, "uidNumber")

    p = sb.eschool("import", "--dry-run", path, "--output", sb.private("sheet.csv"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dry run: 1000 to create" in p.stdout and "nothing was changed" in p.stdout
    assert slapd.search("(objectClass=posixAccount)", ["uid"], bind_dn="admin",
                        base="ou=people," + BASE) == {}
    assert counter(slapd, "uidNumber") == first_uid
    assert not sb.exists(sb.private("sheet.csv"))

    master, slave = os.openpty()
    tty = bytearray()

    def read_terminal():  # the bar fills a pty's buffer: read it as it comes
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            tty.extend(chunk)

    reader = threading.Thread(target=read_terminal)
    try:
        proc = sb.popen([ESCHOOL, "--json", "import", path, "--output", sb.private("sheet.csv")],
                        stdout=subprocess.PIPE, stderr=slave,
                        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        os.close(slave)
        reader.start()
        out = proc.stdout.read().decode()
        assert proc.wait(timeout=600) == 0, out
        reader.join(timeout=30)
    finally:
        os.close(master)
    assert b"[" + b"#" * 30 + b"] 1000/1000 accounts" in tty, bytes(tty[-400:])
    creds = {}
    for o in json_lines(out):
        if "password" in o:
            assert o["username"] not in creds, o
            creds[o["username"]] = o["password"]
    assert len(creds) == 1000
    sheet = list(csv.DictReader(io.StringIO(sb.read(sb.private("sheet.csv")).lstrip("\ufeff"))))
    assert {r["username"]: r["password"] for r in sheet} == creds
    people = slapd.search("(objectClass=eschoolAccount)", ["uid", "uidNumber"],
                          bind_dn="admin", base="ou=people," + BASE)
    assert sorted(e["uid"][0] for e in people.values()) == sorted(creds)
    numbers = sorted(int(e["uidNumber"][0]) for e in people.values())
    assert numbers == list(range(first_uid, first_uid + 1000))
    # a sample of the passwords work by a bind as the user
    for user in list(creds)[::97]:
        assert slapd.bind_ok(user_dn(user), creds[user]), user

    p = sb.eschool("import", "--dry-run", "--json", path)
    assert p.returncode == 0, p.stderr
    assert {o["action"] for o in json_lines(p.stdout) if "action" in o} == {"skip"}


def test_class_groups_and_sync_in_the_directory(server):
    """[import] class_groups with the directory: a posixGroup per class under
    groups_dn, members moved by sync, an emptied class's group removed, a
    new role's groups and primary group, a deleted pupil out of its group."""
    sb, slapd = server
    sb.write(CONF, ldap_conf(slapd) + "[import]\nclass_groups = yes\n"
             "[role teacher]\nmax_age_days = 180\n")

    def members(group):
        e = admin_entry(slapd, f"cn={group},{GROUPS}", ["memberUid"])
        return None if e is None else sorted(e.get("memberUid", []))

    def sync(text, *args):
        path = sb.private("r.csv")
        sb.write(path, "username,name,email,class,role\n" + text)
        p = sb.eschool("--json", "sync", path, *args)
        assert p.returncode == 0, p.stdout + p.stderr
        return json_lines(p.stdout)

    # a group the directory has that eschool did not make is never taken
    rc, out = slapd.add(f"dn: cn=c-5b,{GROUPS}\nobjectClass: posixGroup\ncn: c-5b\n"
                        "gidNumber: 7777\n")
    assert rc == 0, out
    first = ("ada,Ada Lovelace,ada@school.example,6ème A,student\n"
             "bob,Bob Martin,bob@school.example,6ème A,student\n"
             "cyd,Cyd Petit,cyd@school.example,5ème B,student\n")
    out = sync(first)
    assert len([o for o in out if "password" in o]) == 3
    assert members("c-6a") == ["ada", "bob"] and members("c-5b-2") == ["cyd"]
    assert members("c-5b") == []
    # the next year: ada moved, bob left, dan is new
    out = sync("ada,Ada Lovelace,ada@school.example,5ème B,student\n"
               "cyd,Cyd Petit,cyd@school.example,5ème B,student\n"
               "dan,Dan Roux,dan@school.example,6ème A,student\n")
    assert [o["username"] for o in out if o.get("disabled")] == ["bob"]
    assert members("c-5b-2") == ["ada", "cyd"] and members("c-6a") == ["bob", "dan"]
    entry = admin_entry(slapd, user_dn("ada"), ["eschoolClass"])
    assert entry["eschoolClass"] == ["5ème B"]
    # bob deleted: out of his class's group, the entry gone
    out = sync("ada,Ada Lovelace,ada@school.example,5ème B,student\n"
               "cyd,Cyd Petit,cyd@school.example,5ème B,student\n"
               "dan,Dan Roux,dan@school.example,6ème A,student\n", "--delete-missing", "--yes")
    assert [o["username"] for o in out if o.get("deleted")] == ["bob"]
    assert admin_entry(slapd, user_dn("bob")) is None and members("c-6a") == ["dan"]
    assert "bob" not in members("students")  # the role's group too
    # dan moves too: 6ème A's group has nobody left and goes; ada becomes a
    # teacher: the teachers' group is her primary group
    sync("ada,Ada Lovelace,ada@school.example,5ème B,teacher\n"
         "cyd,Cyd Petit,cyd@school.example,5ème B,student\n"
         "dan,Dan Roux,dan@school.example,5ème B,student\n")
    assert members("c-6a") is None and members("c-5b-2") == ["ada", "cyd", "dan"]
    teachers = admin_entry(slapd, f"cn=teachers,{GROUPS}", ["memberUid", "gidNumber"])
    assert "ada" in teachers["memberUid"] and "ada" not in (members("students") or [])
    ada = admin_entry(slapd, user_dn("ada"), ["gidNumber", "shadowMax"])
    assert ada["gidNumber"] == teachers["gidNumber"] and ada["shadowMax"] == ["180"]


def test_only_the_directory_code_loads_libldap():
    """libldap, SASL and GnuTLS are the directory code's, eschool_ldap.so,
    loaded by the commands that connect: the eschool command itself (2.7
    MB of every process, with the libraries they bring) never maps them
    at start."""
    import re
    build = os.path.dirname(ESCHOOL)

    def needed(name):
        r = subprocess.run(["readelf", "-d", os.path.join(build, name)], capture_output=True,
                           text=True, check=True)
        return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)

    libs = needed("eschool")
    assert libs and not [lib for lib in libs if re.match(r"lib(ldap|lber|sasl2|gnutls)", lib)], libs
    assert [lib for lib in needed("eschool_ldap.so") if lib.startswith("libldap")]
    # and nothing maps it at run time either
    p = subprocess.run([ESCHOOL, "--version"], capture_output=True, text=True, check=True,
                       env={"LD_DEBUG": "files", "PATH": "/usr/bin:/bin"})
    assert "libldap" not in p.stderr and "eschool_ldap.so" not in p.stderr, p.stderr[-2000:]


def test_a_directory_code_others_may_write_is_never_loaded(server):
    """The directory code (eschool_ldap.so) is loaded as root only from a
    file and a directory root's alone: one anybody may write, or a link, is
    refused with what to do (exit 69, nothing written); doctor says so in
    its directory item and goes on; root's alone again, the command runs."""
    sb, slapd = server
    copy = sb.private("bin")
    plugin = os.path.join(os.path.dirname(ESCHOOL), "eschool_ldap.so")
    sb.cmd(["install", "-d", "-m", "755", copy], check=True)
    sb.cmd(["install", "-m", "755", ESCHOOL, f"{copy}/eschool"], check=True)
    sb.cmd(["install", "-m", "666", plugin, f"{copy}/eschool_ldap.so"], check=True)
    before = counter(slapd, "uidNumber")
    p = sb.cmd([f"{copy}/eschool", "add", "zed", "--email", "zed@example.org"])
    assert p.returncode == 69, (p.returncode, p.stdout, p.stderr)
    assert "eschool_ldap.so is missing, or is not root's alone" in p.stderr, p.stderr
    assert "reinstall eschool" in p.stderr
    assert counter(slapd, "uidNumber") == before
    assert slapd.search("(uid=zed)", ["uid"], bind_dn="admin") == {}
    p = sb.cmd([f"{copy}/eschool", "--json", "doctor"])
    assert p.returncode == 78, (p.returncode, p.stderr)
    items = {c["item"]: c for c in json.loads(p.stdout)["checks"]}
    assert items["directory"]["status"] == "fail", items["directory"]
    assert "eschool_ldap.so is missing, or is not root's alone" in items["directory"]["detail"]
    # a link, even to root's own, is not followed
    sb.cmd(["ln", "-sf", plugin, f"{copy}/eschool_ldap.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "list"])
    assert p.returncode == 69 and "not root's alone" in p.stderr, (p.returncode, p.stderr)
    # root's alone: loaded, the account is made
    sb.cmd(["rm", f"{copy}/eschool_ldap.so"], check=True)
    sb.cmd(["install", "-m", "644", plugin, f"{copy}/eschool_ldap.so"], check=True)
    p = sb.cmd([f"{copy}/eschool", "add", "zed", "--email", "zed@example.org"])
    assert p.returncode == 0, p.stderr
    assert slapd.search("(uid=zed)", ["uid"], bind_dn="admin") != {}
