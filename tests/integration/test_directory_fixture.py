"""The directory fixture (tests/directory.py) and the shipped LDAP files
(packaging/ldap): a real slapd in one sandbox, real SSSD workstations in
others, all on loopback. These tests prove what later tests will lean on:
the schema loads, the access rules hold (LDAP result codes), the uid
counter takes a compare-and-set, and SSSD with pam_sss resolves, logs in,
forces and makes a password change, refuses an expired account and falls
back on its cache when the server is gone.

LDAP codes: 0 success, 16 noSuchAttribute, 50 insufficientAccess. PAM codes:
0 success, 4 system error, 7 auth error, 12 new authtok required, 13 account
expired."""
import os
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from directory import (HOSTS, IDS_DN, INSUFFICIENT_ACCESS, LDAP_SUCCESS,  # noqa: E402
                       NO_SUCH_ATTRIBUTE, PAM_ACCT_EXPIRED, PAM_AUTH_ERR,
                       PAM_CHANGE_EXPIRED_AUTHTOK, PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS,
                       PAM_SYSTEM_ERR,
                       SHIPPED, Slapd, Workstation, days_now, make_ca, user_dn, user_ldif)
from sandbox import TOP, Sandbox  # noqa: E402

CACHED = "Authenticated with cached credentials."
ESCHOOL_ATTRS = ["eschoolRole", "eschoolMustChange", "eschoolSources", "eschoolMail",
                 "eschoolPendingCodeHash", "eschoolCreated", "eschoolUid"]


@pytest.fixture(scope="module")
def server():
    if os.geteuid() != 0:
        pytest.fail("integration tests must run as root (they use mount namespaces)")
    sb = Sandbox()
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture(scope="module")
def slapd(server):
    s = Slapd(server)
    yield s
    s.close()


@pytest.fixture(scope="module")
def ws1(slapd):
    ws = Workstation(slapd, "ws1")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def ws2(slapd):
    ws = Workstation(slapd, "ws2")
    yield ws
    ws.close()


def add_user(slapd, uid, uid_number, password, **kw):
    """An account added by the eschool helper's identity (a member of
    cn=eschool-admins), as the product will."""
    code, out = slapd.add(user_ldif(uid, uid_number, password, **kw), "eschool-admin")
    assert code == LDAP_SUCCESS, out
    return user_dn(uid)


def shipped_rules():
    """The olcAccess values of packaging/ldap/acl.ldif, unfolded."""
    with open(os.path.join(SHIPPED, "acl.ldif")) as f:
        text = f.read().replace("\n ", "")
    return [l.split(": ", 1)[1] for l in text.splitlines() if l.startswith("olcAccess: ")]


# ---- slapd: schema, rules, entries, TLS ----

def test_slapd_runs_the_shipped_schema_rules_and_entries(slapd):
    schemas = slapd.config_search("(objectClass=olcSchemaConfig)", ["cn"])
    assert "cn={4}eschool,cn=schema,cn=config" in schemas, list(schemas)
    classes = slapd.config_search("(cn=*eschool)", ["olcObjectClasses"],
                                  base="cn=schema,cn=config")
    names = " ".join(classes["cn={4}eschool,cn=schema,cn=config"]["olcObjectClasses"])
    assert "NAME 'eschoolAccount'" in names and "NAME 'eschoolIdPool'" in names

    db = slapd.config_search("(olcSuffix=dc=school,dc=example)", ["olcAccess", "olcDbIndex"])
    assert db["olcDatabase={1}mdb,cn=config"]["olcAccess"] == shipped_rules()
    assert "uid eq" in db["olcDatabase={1}mdb,cn=config"]["olcDbIndex"]

    # the shipped entries, the suffix, and the hosts tests/ldap/hosts.ldif adds
    found = slapd.search("(objectClass=*)", ["objectClass"], "admin")
    for dn in ["dc=school,dc=example", "ou=people,dc=school,dc=example",
               "ou=groups,dc=school,dc=example", "ou=hosts,dc=school,dc=example",
               "cn=eschool-admins,ou=groups,dc=school,dc=example",
               "cn=eschool-workstations,ou=groups,dc=school,dc=example", IDS_DN] + \
            [dn for dn, _ in HOSTS.values()]:
        assert dn in found, dn
    assert found[IDS_DN]["objectClass"] == ["eschoolIdPool"]
    members = slapd.entry("cn=eschool-workstations,ou=groups,dc=school,dc=example",
                          ["member"], "admin")["member"]
    assert sorted(members) == sorted(HOSTS[h][0] for h in ("ws1", "ws2", "ws3"))

    # every host binds with its password, and with no other
    for name, (dn, password) in HOSTS.items():
        assert slapd.bind_ok(dn, password), name
        assert not slapd.bind_ok(dn, password + "x"), name
    assert slapd.bind_ok(slapd.admin_dn, slapd.admin_password)


def test_both_schema_forms_are_the_generators_and_load(server, tmp_path):
    """packaging/ldap/eschool.ldif (loaded above) and eschool.schema, the
    slapd.conf form, are what tools/ldapschema.py writes, and the latter
    passes slaptest after the schemas it needs."""
    tool = os.path.join(TOP, "tools", "ldapschema.py")
    subprocess.run(["/usr/bin/python3", tool, str(tmp_path)], check=True)
    for name in ("eschool.ldif", "eschool.schema"):
        with open(tmp_path / name) as made, open(os.path.join(SHIPPED, name)) as shipped:
            assert made.read() == shipped.read(), f"{name} is not what the tool writes"
    conf = "".join(f"include /etc/ldap/schema/{s}.schema\n"
                   for s in ("core", "cosine", "nis", "inetorgperson"))
    conf += (f"include {SHIPPED}/eschool.schema\nmodulepath /usr/lib/ldap\n"
             "moduleload back_mdb\ndatabase mdb\nsuffix dc=school,dc=example\n"
             "directory /var/lib/slaptest\n")
    server.write("/var/lib/slaptest/slapd.conf", conf)
    p = server.cmd(["slaptest", "-u", "-f", "/var/lib/slaptest/slapd.conf"])
    assert p.returncode == 0 and "succeeded" in p.stderr, p.stderr


def test_starttls_needs_the_private_ca(slapd):
    ok = slapd.client(["ldapsearch", "-b", slapd.base, "-s", "base", "(objectClass=*)"])
    assert ok.returncode == 0, ok.stderr
    with tempfile.TemporaryDirectory() as other:
        os.chmod(other, 0o755)
        other_ca = make_ca(other, "another CA")[0]
        bad = slapd.client(["ldapsearch", "-b", slapd.base, "-s", "base", "(objectClass=*)"],
                           ca_file=other_ca)
    assert bad.returncode != 0
    assert "ldap_start_tls" in bad.stderr and "Connect error" in bad.stderr, bad.stderr
    assert "dn: dc=school,dc=example" not in bad.stdout


# ---- the access rules ----

def test_an_admin_host_adds_a_school_account(slapd):
    dn = add_user(slapd, "alice", 21001, "Alice-pass-1",
                  extra=["eschoolMustChange: 1", "eschoolSources: ws1", "eschoolLang: fr",
                         "eschoolPendingCodeHash: k1$abcdef"])
    got = slapd.entry(dn, ["objectClass"] + ESCHOOL_ATTRS, *HOSTS["eschool-admin"])
    assert sorted(got["objectClass"]) == ["eschoolAccount", "inetOrgPerson", "posixAccount",
                                          "shadowAccount"]
    assert got["eschoolRole"] == ["student"]
    assert got["eschoolMustChange"] == ["1"]
    assert got["eschoolSources"] == ["ws1"]
    assert got["eschoolPendingCodeHash"] == ["k1$abcdef"]
    assert slapd.bind_ok(dn, "Alice-pass-1")
    # a workstation cannot add accounts
    code, out = slapd.add(user_ldif("mallory", 21002, "M-pass-1"), "ws1")
    assert code == INSUFFICIENT_ACCESS, out
    assert slapd.entry(user_dn("mallory"), [], "admin") is None


def test_a_workstation_writes_eschool_state_and_nothing_else(slapd):
    dn = add_user(slapd, "bruno", 21011, "Bruno-pass-1", extra=["eschoolSources: ws2"])
    code, out = slapd.replace(dn, "eschoolSources", "ws1,ws2", bind_dn="ws1")
    assert code == LDAP_SUCCESS, out
    assert slapd.entry(dn, ["eschoolSources"], "admin")["eschoolSources"] == ["ws1,ws2"]

    denied = [slapd.replace(dn, "userPassword", "Chosen-by-ws1", bind_dn="ws1"),
              slapd.modify(f"dn: {dn}\nchangetype: modify\nadd: objectClass\n"
                           "objectClass: extensibleObject\n", "ws1"),
              slapd.modify(f"dn: {dn}\nchangetype: modify\ndelete: objectClass\n"
                           "objectClass: eschoolAccount\n", "ws1"),
              slapd.replace(dn, "mail", "bruno@evil.example", bind_dn="ws1"),
              slapd.replace(dn, "cn", "Someone Else", bind_dn="ws1"),
              slapd.replace(dn, "shadowLastChange", "99999", bind_dn="ws1")]
    for code, out in denied:
        assert code == INSUFFICIENT_ACCESS, out
    after = slapd.entry(dn, ["objectClass", "mail", "cn", "shadowLastChange"], "admin")
    assert "extensibleObject" not in after["objectClass"]
    assert after["mail"] == ["bruno@school.example"] and after["cn"] == ["Bruno"]
    assert after["shadowLastChange"] == [str(days_now())]
    assert slapd.bind_ok(dn, "Bruno-pass-1")
    assert not slapd.bind_ok(dn, "Chosen-by-ws1")


def test_a_user_cannot_read_the_code_hash_nor_write_must_change(slapd):
    dn = add_user(slapd, "chloe", 21021, "Chloe-pass-1",
                  extra=["eschoolMustChange: 1", "eschoolPendingCodeHash: k1$secret"])
    own = slapd.entry(dn, ["*", "eschoolPendingCodeHash"], dn, "Chloe-pass-1")
    assert own["uid"] == ["chloe"]  # the user reads their entry...
    assert "posixAccount" in own["objectClass"]
    for attr in ESCHOOL_ATTRS + ["userPassword"]:
        assert attr not in own, attr  # ... but none of eschool's state
    code, out = slapd.replace(dn, "eschoolMustChange", "0", bind_dn=dn, password="Chloe-pass-1")
    assert code == INSUFFICIENT_ACCESS, out
    # what the rules give the user: their own password and shadowLastChange
    code, out = slapd.replace(dn, "shadowLastChange", str(days_now()), bind_dn=dn,
                              password="Chloe-pass-1")
    assert code == LDAP_SUCCESS, out
    assert slapd.entry(dn, ["eschoolMustChange"], "admin")["eschoolMustChange"] == ["1"]


def test_anonymous_reads_no_eschool_state_and_no_password(slapd):
    dn = add_user(slapd, "david", 21031, "David-pass-1",
                  extra=["eschoolPendingCodeHash: k1$secret", "eschoolSources: ws1"])
    found = slapd.search("(uid=david)", ["*", "+"] + ESCHOOL_ATTRS + ["userPassword"])
    assert list(found) == [dn]
    assert found[dn]["uidNumber"] == ["21031"]  # what SSSD needs is public
    for attr in ESCHOOL_ATTRS + ["userPassword"]:
        assert attr not in found[dn], attr
    # nor can a filter on them reveal anything
    assert slapd.search("(eschoolSources=ws1)") == {}
    assert slapd.search("(&(uid=david)(userPassword=*))") == {}
    # the counter is invisible too
    assert slapd.entry(IDS_DN) is None


def test_only_admins_change_the_id_counter(slapd):
    user = add_user(slapd, "emma", 21041, "Emma-pass-1")
    before = slapd.entry(IDS_DN, ["uidNumber", "gidNumber"], "admin")
    for bind in [HOSTS["ws1"], (user, "Emma-pass-1")]:
        code, out = slapd.replace(IDS_DN, "gidNumber", "1", bind_dn=bind[0], password=bind[1])
        assert code == INSUFFICIENT_ACCESS, (bind, out)
    assert slapd.entry(IDS_DN, ["uidNumber", "gidNumber"], "admin") == before
    # a workstation reads it (the code key is there: it checks codes typed
    # at login), a user does not even see it
    assert slapd.entry(IDS_DN, [], "ws1") is not None
    assert slapd.entry(IDS_DN, [], user, "Emma-pass-1") is None
    code, out = slapd.replace(IDS_DN, "gidNumber", before["gidNumber"][0],
                              bind_dn="eschool-admin")
    assert code == LDAP_SUCCESS, out


def test_the_counter_takes_a_compare_and_set_once(slapd):
    current = int(slapd.entry(IDS_DN, ["uidNumber"], *HOSTS["eschool-admin"])["uidNumber"][0])
    cas = (f"dn: {IDS_DN}\nchangetype: modify\n"
           f"delete: uidNumber\nuidNumber: {current}\n-\n"
           f"add: uidNumber\nuidNumber: {current + 1}\n")
    code, out = slapd.modify(cas, "eschool-admin")
    assert code == LDAP_SUCCESS, out
    code, out = slapd.modify(cas, "eschool-admin")  # a second helper that read the same
    assert code == NO_SUCH_ATTRIBUTE, out
    assert slapd.entry(IDS_DN, ["uidNumber"], "admin")["uidNumber"] == [str(current + 1)]


def test_objectclass_is_public_and_written_by_admins_only(slapd):
    """Rule {2}: slapd expands @eschoolAccount (rule {3}) to objectClass too,
    as top, its superior, MUSTs it; without {2} workstations would rewrite
    every entry's objectClass and nobody else would see any."""
    dn = add_user(slapd, "frank", 21051, "Frank-pass-1")
    assert list(slapd.search("(&(objectClass=posixAccount)(uid=frank))")) == [dn]
    own = slapd.entry(dn, ["objectClass"], dn, "Frank-pass-1")
    assert "eschoolAccount" in own["objectClass"]
    add_class = f"dn: {dn}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n"
    for bind in [HOSTS["ws1"], (dn, "Frank-pass-1")]:
        code, out = slapd.modify(add_class, *bind)
        assert code == INSUFFICIENT_ACCESS, (bind, out)
    code, out = slapd.modify(add_class, "eschool-admin")
    assert code == LDAP_SUCCESS, out
    assert "extensibleObject" in slapd.entry(dn, ["objectClass"])["objectClass"]


# ---- SSSD on the workstations ----

def test_both_workstations_see_a_user_added_on_the_server(slapd, ws1, ws2):
    add_user(slapd, "gina", 21061, "Gina-pass-1")
    group = ("dn: cn=lab-a,ou=groups,dc=school,dc=example\nobjectClass: posixGroup\n"
             "cn: lab-a\ngidNumber: 21900\nmemberUid: gina\n")
    code, out = slapd.add(group, "eschool-admin")
    assert code == LDAP_SUCCESS, out
    for ws in (ws1, ws2):
        assert ws.wait_getent("passwd", "gina") == ["gina", "*", "21061", "21061", "Gina",
                                                     "/home/gina", "/bin/bash"], ws.logs()
        assert ws.getent("group", "lab-a") == ["lab-a", "*", "21900", "gina"]
    # the server's own sandbox has no SSSD: the user is not there
    assert slapd.sb.cmd(["getent", "passwd", "gina"]).returncode == 2


def test_pam_sss_logs_in_with_the_directory_password(slapd, ws1):
    add_user(slapd, "hugo", 21071, "Hugo-pass-1")
    ws1.pam_ok("hugo", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
               passwords=["Hugo-pass-1"])
    r = ws1.pam("hugo", [["auth", PAM_SUCCESS]], passwords=["Hugo-pass-2"])
    assert not r["ok"] and r["code"] == PAM_AUTH_ERR, r

    # lines added to a stack (pam_eschool's, later) run after pam_sss's
    ws1.sb.write("/var/lib/es-test/record", '#!/bin/sh\necho "$PAM_TYPE $PAM_USER" '
                 '>> /var/lib/es-test/ran\n', mode="755")
    ws1.pam_service("es-extra", extra={"account": ["account required pam_exec.so "
                                                   "/var/lib/es-test/record"]})
    ws1.pam_ok("hugo", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
               passwords=["Hugo-pass-1"], service="es-extra")
    assert ws1.sb.read("/var/lib/es-test/ran") == "account hugo\n"
    assert ws1.sb.read("/etc/pam.d/es-extra").splitlines()[1:3] == [
        "account [default=bad success=ok user_unknown=ignore] pam_sss.so",
        "account required pam_exec.so /var/lib/es-test/record"]


def test_an_account_without_shadow_last_change_cannot_log_in(slapd, ws1):
    """ldap_pwd_policy = shadow: SSSD refuses the authentication (system
    error) of an entry with no shadowLastChange; its account stage, which
    only looks at shadowExpire, lets it through. Every account eschool
    writes needs shadowLastChange."""
    add_user(slapd, "nina", 21075, "Nina-pass-1", last_change=False)
    r = ws1.pam("nina", [["auth", PAM_SUCCESS]], passwords=["Nina-pass-1"])
    assert r["code"] == PAM_SYSTEM_ERR, r
    ws1.pam_ok("nina", [["account", PAM_SUCCESS]])
    code, out = slapd.replace(user_dn("nina"), "shadowLastChange", str(days_now()),
                              bind_dn="eschool-admin")
    assert code == LDAP_SUCCESS, out
    ws1.pam_ok("nina", [["auth", PAM_SUCCESS]], passwords=["Nina-pass-1"])


def test_a_forced_change_on_ws1_is_seen_by_ws2(slapd, ws1, ws2):
    dn = add_user(slapd, "iris", 21081, "Iris-temp-1", last_change=0)
    # shadowLastChange 0 (or below): SSSD's shadow policy says "new password
    # needed" whatever shadowMax says; a later day forces a change only once
    # shadowMax days have passed
    r = ws1.pam_ok("iris", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD]],
                   passwords=["Iris-temp-1"])
    assert "Password expired. Change your password now." in r["info"]
    # the user changes it (as passwd(1) would run for them: old, new, new)
    ws1.pam_ok("iris", [["chauthtok", PAM_SUCCESS]],
               passwords=["Iris-temp-1", "Iris-Chosen-2", "Iris-Chosen-2"], as_user=True)
    assert slapd.bind_ok(dn, "Iris-Chosen-2")
    assert not slapd.bind_ok(dn, "Iris-temp-1")
    assert slapd.entry(dn, ["shadowLastChange"], "admin")["shadowLastChange"] == [str(days_now())]
    # the other workstation takes the new password, and forces nothing
    ws2.pam_ok("iris", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
               passwords=["Iris-Chosen-2"])
    r = ws2.pam("iris", [["auth", PAM_SUCCESS]], passwords=["Iris-temp-1"])
    assert r["code"] == PAM_AUTH_ERR, r


def test_a_login_program_changes_an_expired_password_in_one_transaction(slapd, ws1):
    """As login(1) or sshd run it, as root: auth, account says 12, then
    chauthtok with PAM_CHANGE_EXPIRED_AUTHTOK (pam_sss asks the current
    password again, then the new one twice)."""
    dn = add_user(slapd, "jules", 21091, "Jules-temp-1", last_change=0)
    ws1.pam_ok("jules", [["auth", PAM_SUCCESS], ["account", PAM_NEW_AUTHTOK_REQD],
                         ["chauthtok", PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK]],
               passwords=["Jules-temp-1", "Jules-temp-1", "Jules-Chosen-2", "Jules-Chosen-2"])
    assert slapd.bind_ok(dn, "Jules-Chosen-2")
    assert slapd.entry(dn, ["shadowLastChange"], "admin")["shadowLastChange"] == [str(days_now())]
    ws1.pam_ok("jules", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
               passwords=["Jules-Chosen-2"])


def test_shadow_expire_is_refused_by_the_account_stage(slapd, ws1):
    dn = add_user(slapd, "karl", 21101, "Karl-pass-1")
    ws1.pam_ok("karl", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
               passwords=["Karl-pass-1"])
    code, out = slapd.replace(dn, "shadowExpire", "1", bind_dn="eschool-admin")
    assert code == LDAP_SUCCESS, out
    ws1.sss_cache_expire()
    # the account stage alone (access_provider = ldap, expire): refused
    r = ws1.pam("karl", [["account", PAM_SUCCESS]])
    assert r["code"] == PAM_ACCT_EXPIRED, r
    # a full login never gets that far: the shadow password policy of the
    # auth stage checks shadowExpire as well
    r = ws1.pam("karl", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
                passwords=["Karl-pass-1"])
    assert r["code"] == PAM_ACCT_EXPIRED, r


def test_cached_credentials_when_the_server_is_gone(server):
    """Its own server (the module's stays up): one online login on ws3,
    slapd stopped, the same password still opens the session from SSSD's
    cache and a wrong one does not; killed (SIGKILL) and started again on
    the same data, the server has every entry and SSSD goes back online."""
    slapd = Slapd(server, name="offline-ldap")
    ws3 = None
    try:
        ws3 = Workstation(slapd, "ws3", pam_verbosity=2)
        dn = add_user(slapd, "lena", 21111, "Lena-pass-1")
        online = ws3.pam_ok("lena", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
                            passwords=["Lena-pass-1"])
        assert CACHED not in online["info"]
        slapd.stop()
        assert not slapd.running()
        offline = ws3.pam_ok("lena", [["auth", PAM_SUCCESS], ["account", PAM_SUCCESS]],
                             passwords=["Lena-pass-1"])
        # pam_sss says where the answer came from (pam_verbosity 2)
        assert CACHED in offline["info"], offline
        r = ws3.pam("lena", [["auth", PAM_SUCCESS]], passwords=["Lena-pass-2"])
        assert r["code"] == PAM_AUTH_ERR, r
        assert ws3.getent("passwd", "lena")[2] == "21111"

        slapd.start()
        slapd.kill()
        slapd.start()
        assert slapd.bind_ok(dn, "Lena-pass-1")
        add_user(slapd, "marc", 21121, "Marc-pass-1")
        # offline_timeout = 2: SSSD tries the server again within seconds
        assert ws3.wait_getent("passwd", "marc", timeout=20) is not None, ws3.logs()
        ws3.pam_ok("marc", [["auth", PAM_SUCCESS]], passwords=["Marc-pass-1"])
    finally:
        if ws3 is not None:
            ws3.close()
        slapd.close()
