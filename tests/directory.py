"""A school's directory for the tests: a real slapd (OpenLDAP) with the
shipped schema, access rules and entries (packaging/ldap), and lab
workstations that read it through a real SSSD, each in its own Sandbox.

    server = Sandbox()
    slapd = Slapd(server)                 # ldap://127.0.0.1:PORT, StartTLS
    ws1 = Workstation(slapd, "ws1")       # sssd -i in a sandbox of its own
    slapd.add(user_ldif(...))
    ws1.getent("passwd", "zoe")
    ws1.pam("zoe", [["auth", 0], ["account", 0]], passwords=["..."])

The sandboxes share the host's network namespace: a workstation reaches the
server's slapd on 127.0.0.1, and the private CA's certificate lives in a
host temp dir under /tmp that every sandbox sees. Nothing is written to the
host's /etc or /var/lib: slapd's configuration and data are in the server
sandbox's /var/lib, SSSD's caches in the workstation's /var/lib/sss, and
each workstation has its own /run (SSSD's pid file is /run/sssd.pid, which
the sandbox would otherwise share with the host and every other sandbox)."""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from urllib.parse import quote

from sandbox import TOP, Sandbox

LDAP_DIR = os.path.join(TOP, "tests", "ldap")
SHIPPED = os.path.join(TOP, "packaging", "ldap")
DRIVER = os.path.join(TOP, "tests", "pamdrive.py")

BASE = "dc=school,dc=example"
PEOPLE = "ou=people," + BASE
GROUPS = "ou=groups," + BASE
IDS_DN = "cn=eschool-ids," + BASE
ADMIN_DN = "cn=admin," + BASE           # the rootdn: above every access rule
ADMIN_PASSWORD = "root-dn-Secret-1"
# name -> (DN, password): the shipped eschool-admin and ws01 entries with
# the passwords tests/ldap/hosts.ldif gives them, and ws02/ws03 it adds
HOSTS = {
    "eschool-admin": ("cn=eschool-admin,ou=hosts," + BASE, "helper-Secret-1"),
    "ws1": ("cn=ws01,ou=hosts," + BASE, "ws1-Secret-1"),
    "ws2": ("cn=ws02,ou=hosts," + BASE, "ws2-Secret-1"),
    "ws3": ("cn=ws03,ou=hosts," + BASE, "ws3-Secret-1"),
}

# LDAP result codes the tests look for (ldapmodify exits with them)
LDAP_SUCCESS, NO_SUCH_ATTRIBUTE, INVALID_CREDENTIALS, INSUFFICIENT_ACCESS = 0, 16, 49, 50
# PAM codes
PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_PERM_DENIED, PAM_AUTH_ERR = 0, 4, 6, 7
PAM_NEW_AUTHTOK_REQD, PAM_ACCT_EXPIRED = 12, 13
PAM_CHANGE_EXPIRED_AUTHTOK = 0x20


def ssha(password):
    """An {SSHA} userPassword value, as slappasswd makes them."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def make_ca(directory, name="eschool test CA"):
    """A private CA and a certificate for 127.0.0.1/localhost signed by it,
    as tests/smtpserver.py makes them but with P-256 keys (RSA key
    generation took a second). Returns (ca_file, cert_file, key_file)."""
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    crt, ext = os.path.join(directory, "server.crt"), os.path.join(directory, "server.ext")

    def run(*argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "30",
        "-subj", f"/CN={name}")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "30", "-extfile", ext)
    os.chmod(ca_crt, 0o644)
    return ca_crt, crt, key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(template, values):
    """tests/ldap/NAME with its @KEY@ placeholders replaced; an unknown
    placeholder left over is an error."""
    with open(os.path.join(LDAP_DIR, template)) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z0-9_]+@", text)
    assert not left, f"{template}: no value for {left}"
    return text


def parse_ldif(text):
    """ldapsearch -LLL output -> {dn: {attr: [values]}} (base64 values
    decoded, folded lines joined)."""
    entries = {}
    for block in text.strip().split("\n\n"):
        lines = []
        for line in block.split("\n"):
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            elif line and not line.startswith("#"):
                lines.append(line)
        dn, attrs = None, {}
        for line in lines:
            name, _, value = line.partition(":")
            if value.startswith(":"):
                value = base64.b64decode(value[1:].strip()).decode("utf-8", "replace")
            else:
                value = value.strip()
            if name == "dn":
                dn = value
            else:
                attrs.setdefault(name, []).append(value)
        if dn is not None:
            entries[dn] = attrs
    return entries


def user_dn(uid):
    return f"uid={uid},{PEOPLE}"


def days_now():
    """Today as a shadow day number (days since 1970-01-01, UTC)."""
    return int(time.time() // 86400)


def user_ldif(uid, uid_number, password, *, last_change=None, shadow_max=99999,
              extra=(), name=None):
    """An LDIF add of a school account: inetOrgPerson + posixAccount +
    shadowAccount + eschoolAccount, with eschool's state on the entry.
    last_change: shadowLastChange (today when None; 0 forces a change with
    ldap_pwd_policy = shadow; False leaves it out). shadow_max: None leaves
    it out. extra: more 'attr: value' lines."""
    name = name or uid.capitalize()
    lines = [f"dn: {user_dn(uid)}",
             "objectClass: inetOrgPerson", "objectClass: posixAccount",
             "objectClass: shadowAccount", "objectClass: eschoolAccount",
             f"uid: {uid}", f"cn: {name}", f"sn: {name}",
             f"uidNumber: {uid_number}", f"gidNumber: {uid_number}",
             f"homeDirectory: /home/{uid}", "loginShell: /bin/bash",
             f"userPassword: {ssha(password)}",
             f"mail: {uid}@school.example",
             "eschoolRole: student", f"eschoolMail: {uid}@school.example",
             f"eschoolCreated: {int(time.time())}", f"eschoolUid: {uid_number}"]
    if shadow_max is not None:
        lines.append(f"shadowMax: {shadow_max}")
    if last_change is not False:
        lines.append(f"shadowLastChange: {days_now() if last_change is None else last_change}")
    return "\n".join(lines + list(extra)) + "\n"


class Slapd:
    """slapd in the server sandbox `sb`, built offline from tests/ldap and
    packaging/ldap (slapadd/slapmodify), listening on ldap://127.0.0.1:PORT
    (StartTLS with a private CA) and on an ldapi socket in the sandbox."""

    base = BASE
    admin_dn = ADMIN_DN
    admin_password = ADMIN_PASSWORD
    hosts = HOSTS

    def __init__(self, sb, start=True, name="eschool-ldap", schema="rfc2307"):
        """name: the directory under the sandbox's /var/lib (two servers in
        one sandbox). schema: "rfc2307" (Debian's nis schema: posixGroup
        structural, members by memberUid) or "rfc2307bis" (posixGroup
        auxiliary, so a group can be a groupOfNames with member DNs)."""
        self.sb = sb
        self.schema = schema
        self.var = f"/var/lib/{name}"
        # CA, certificate and key where every sandbox (and the host) sees them
        self.shared = tempfile.mkdtemp(prefix="eschool-ldap.", dir="/tmp")
        os.chmod(self.shared, 0o755)
        self.ca_file = os.path.join(self.shared, "ca.crt")
        self.log_file = os.path.join(self.shared, "slapd.log")
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.conf_dir = f"{self.var}/slapd.d"
        self.socket = f"{self.var}/ldapi"
        self.ldapi = "ldapi://" + quote(self.socket, safe="")
        self.proc = None
        self.pid = None
        try:
            self.ca_file, self.cert_file, self.key_file = make_ca(self.shared)
            self._build()
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def host_dn(name):
        """The DN a host binds as: "ws1".."ws3", "eschool-admin"."""
        return HOSTS[name][0]

    @staticmethod
    def host_password(name):
        return HOSTS[name][1]

    # ---- the offline build ----

    def _nis_schema(self):
        """The path of the RFC 2307 schema to load: Debian's nis.ldif, or
        for rfc2307bis the same with what the draft changes for groups
        (posixGroup auxiliary, beside groupOfNames) under its own name."""
        nis = "/etc/ldap/schema/nis.ldif"
        if self.schema == "rfc2307":
            return nis
        assert self.schema == "rfc2307bis", self.schema
        with open(nis) as f:
            text = f.read()
        # unfold the LDIF lines, change the one class, write it whole
        text = re.sub(r"\n ", "", text)
        text = text.replace("dn: cn=nis,cn=schema,cn=config", "dn: cn=rfc2307bis,cn=schema,cn=config")
        text = re.sub(r"(?m)^cn: nis$", "cn: rfc2307bis", text)
        group = "NAME 'posixGroup' DESC 'Abstraction of a group of accounts' SUP top STRUCTURAL"
        assert group in text, "Debian's nis.ldif changed: posixGroup not found"
        text = text.replace(group, group.replace("STRUCTURAL", "AUXILIARY"))
        path = os.path.join(self.shared, "rfc2307bis.ldif")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def _build(self):
        values = {"TOP": TOP, "RUNDIR": f"{self.var}/run", "DBDIR": f"{self.var}/db",
                  "CA_FILE": self.ca_file, "CERT_FILE": self.cert_file,
                  "KEY_FILE": self.key_file, "ADMIN_HASH": ssha(ADMIN_PASSWORD),
                  "NIS_SCHEMA": self._nis_schema()}
        self.sb.write(f"{self.var}/config.ldif", fill("config.ldif", values))
        self.sb.write(f"{self.var}/data.ldif", fill("data.ldif", {"TOP": TOP}))
        hashes = {"ADMIN_HOST_HASH": ssha(HOSTS["eschool-admin"][1]),
                  "WS1_HASH": ssha(HOSTS["ws1"][1]), "WS2_HASH": ssha(HOSTS["ws2"][1]),
                  "WS3_HASH": ssha(HOSTS["ws3"][1])}
        self.sb.write(f"{self.var}/hosts.ldif", fill("hosts.ldif", hashes))
        script = """set -e
cd "$1"
mkdir -p slapd.d db run
slapadd -n0 -F slapd.d -l config.ldif
slapmodify -n0 -F slapd.d -l "$2/acl.ldif"
slapadd -q -n1 -F slapd.d -l data.ldif
slapmodify -n1 -F slapd.d -l hosts.ldif
"""
        self.sb.cmd(["sh", "-c", script, "sh", self.var, SHIPPED], check=True)

    # ---- the daemon ----

    def start(self, timeout=15):
        assert self.proc is None, "slapd is already running"
        log = open(self.log_file, "a")
        self.proc = self.sb.popen(["slapd", "-d", "0", "-h", f"{self.uri}/ {self.ldapi}",
                                   "-F", self.conf_dir],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.pid = Sandbox.child_pid(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"slapd exited while starting:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if os.path.exists(self.sb.host_view(self.socket)):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"slapd does not answer on {self.uri}:\n{self.log()}")
            time.sleep(0.02)

    def _end(self, sig, timeout=15):
        if self.proc is None:
            return
        if self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout)
        finally:
            self.proc = None
            self.pid = None

    def stop(self):
        """SIGTERM: slapd closes its database and exits."""
        self._end(signal.SIGTERM)

    def kill(self):
        """SIGKILL: as if the server lost power (LMDB stays consistent)."""
        self._end(signal.SIGKILL)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_file, errors="replace") as f:
            return f.read()

    def close(self):
        self.kill()
        shutil.rmtree(self.shared, ignore_errors=True)

    # ---- clients (run in the server sandbox, over TCP with StartTLS) ----

    def client(self, argv, bind_dn=None, password=None, input=None, ca_file=None,
               starttls=True):
        """Runs an ldap-utils command against the server: simple bind as
        bind_dn (anonymous when None), StartTLS required (-ZZ) verified
        with ca_file (the private CA by default). CompletedProcess."""
        full = [argv[0], "-H", self.uri, "-x"] + (["-ZZ"] if starttls else [])
        if bind_dn is not None:
            full += ["-D", bind_dn, "-w", password]
        # (not LDAPNOINIT: it turns off the LDAPTLS_* variables too)
        env = {"LDAPTLS_CACERT": ca_file or self.ca_file, "LDAPTLS_REQCERT": "demand"}
        return self.sb.cmd(full + list(argv[1:]), input=input, env=env, timeout=60)

    def search(self, filter="(objectClass=*)", attrs=(), bind_dn=None, password=None,
               base=None, scope="sub"):
        """{dn: {attr: [values]}} of the entries found (an empty dict when
        the base does not exist); any other LDAP error is an AssertionError.
        Anonymous unless bind_dn says: a DN with its password, a host's
        name ("ws1", "eschool-admin") or "admin" (the rootdn)."""
        if bind_dn is not None:
            bind_dn, password = self._bind(bind_dn, password)
        p = self.client(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-s", scope,
                         "-b", base or self.base, filter] + list(attrs),
                        bind_dn, password)
        if p.returncode == 32:  # noSuchObject
            return {}
        assert p.returncode == 0, f"ldapsearch {filter}: exit {p.returncode}\n{p.stderr}"
        return parse_ldif(p.stdout)

    def entry(self, dn, attrs=(), bind_dn=None, password=None):
        """The attributes of one entry, or None."""
        found = self.search("(objectClass=*)", attrs, bind_dn, password, base=dn, scope="base")
        return found.get(dn)

    def _bind(self, bind_dn, password):
        if bind_dn in (None, "admin"):
            return ADMIN_DN, ADMIN_PASSWORD  # the rootdn
        if bind_dn in HOSTS:  # a host by its name: "ws1", "eschool-admin"
            return HOSTS[bind_dn]
        return bind_dn, password

    def add(self, ldif, bind_dn=None, password=None):
        """ldapadd as bind_dn (the rootdn when None; or a host's name):
        (LDAP result code, output)."""
        dn, pw = self._bind(bind_dn, password)
        p = self.client(["ldapadd"], dn, pw, input=ldif)
        return p.returncode, p.stdout + p.stderr

    def modify(self, ldif, bind_dn=None, password=None):
        """ldapmodify as bind_dn (the rootdn when None; or a host's name):
        (LDAP result code, output)."""
        dn, pw = self._bind(bind_dn, password)
        p = self.client(["ldapmodify"], dn, pw, input=ldif)
        return p.returncode, p.stdout + p.stderr

    def replace(self, dn, attr, *values, bind_dn=None, password=None):
        """One replace of one attribute; (code, output)."""
        ldif = f"dn: {dn}\nchangetype: modify\nreplace: {attr}\n"
        ldif += "".join(f"{attr}: {v}\n" for v in values)
        return self.modify(ldif, bind_dn, password)

    def bind_ok(self, dn, password):
        """True when a simple bind as dn with password succeeds (ldapwhoami)."""
        p = self.client(["ldapwhoami"], dn, password)
        return p.returncode == 0

    def whoami(self, dn, password):
        p = self.client(["ldapwhoami"], dn, password)
        return p.returncode, (p.stdout + p.stderr).strip()

    def config_search(self, filter="(objectClass=*)", attrs=(), base="cn=config"):
        """cn=config as root over the ldapi socket (SASL EXTERNAL)."""
        p = self.sb.cmd(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL",
                         "-H", self.ldapi, "-b", base, filter] + list(attrs))
        assert p.returncode == 0, f"ldapsearch on {self.ldapi}: exit {p.returncode}\n{p.stderr}"
        return parse_ldif(p.stdout)

    def config_modify(self, ldif):
        p = self.sb.cmd(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi],
                        input=ldif)
        return p.returncode, p.stdout + p.stderr


# ---- the workstations ----

# What SSSD keeps of eschool's attributes for pam_eschool (login_reads =
# sssd), as README.md's sssd.conf says (test_directory checks they agree):
# the public ones only, since SSSD's NSS responder hands them to anyone.
ESCHOOL_SSSD_PUBLIC = ["eschoolRole", "eschoolLang", "eschoolCreated", "eschoolPasswordChanged",
                       "eschoolMustChange", "eschoolInitialExpires", "eschoolDisabled",
                       "eschoolPendingExpires", "eschoolPendingTries", "eschoolUid",
                       "eschoolLastChangeSeen"]
SSSD_EXTRA_ATTRS = ("ldap_user_extra_attrs = eschoolObjectClass:objectClass, "
                    + ", ".join(ESCHOOL_SSSD_PUBLIC))
SSSD_USER_ATTRIBUTES = ("user_attributes = +eschoolObjectClass, "
                        + ", ".join("+" + a for a in ESCHOOL_SSSD_PUBLIC) + ", +shadowLastChange")

SSSD_CONF = """[sssd]
services = nss, pam
domains = school
debug_level = {debug}

[nss]
debug_level = {debug}
# a name looked up before it exists on the server is not remembered as missing
entry_negative_timeout = 0
{user_attributes}

[pam]
debug_level = {debug}
# pam_id_timeout: for how long after a PAM request the responder trusts its
# cached copy of the user (shadow attributes included) instead of asking
# the server; SSSD's default is 5 s, in which a login right after a password
# change on the same workstation still sees the old shadowLastChange (SSSD
# does not update its copy after the change) and is forced again.
pam_id_timeout = {pam_id_timeout}
offline_credentials_expiration = 0
# 1 (SSSD's default) or 2: "Authenticated with cached credentials." too
pam_verbosity = {pam_verbosity}

[domain/school]
debug_level = {debug}
id_provider = ldap
auth_provider = ldap
chpass_provider = ldap
access_provider = ldap
ldap_access_order = expire
ldap_account_expire_policy = shadow
ldap_pwd_policy = shadow
ldap_chpass_update_last_change = true
{extra_attrs}
ldap_uri = {uri}
ldap_search_base = {base}
ldap_id_use_start_tls = true
ldap_tls_cacert = {ca}
ldap_tls_reqcert = demand
ldap_default_bind_dn = {bind_dn}
ldap_default_authtok_type = password
ldap_default_authtok = {bind_pw}
cache_credentials = true
entry_cache_timeout = {entry_cache_timeout}
# a server that does not answer is given up quickly (connection refused is
# seen at once anyway), and an offline domain tries again after 2 s
ldap_network_timeout = 2
ldap_opt_timeout = 4
ldap_search_timeout = 4
ldap_connection_expire_timeout = 60
offline_timeout = 2
offline_timeout_max = 0
offline_timeout_random_offset = 0
{extra}
"""

# The PAM stacks of a workstation's test service: pam_sss with Debian's
# options (/usr/share/pam-configs/sss: forward_pass on the first auth
# module, the account line as Debian writes it). Debian's auth and password
# lines are "sufficient" because pam_unix stands beside them; here pam_sss
# is alone, so "required": the stack returns pam_sss's own code (a
# "sufficient" module's failure would end as libpam's PAM_PERM_DENIED or
# pam_deny's), and lines appended after it (pam_eschool) still run when it
# succeeds.
DEFAULT_STACKS = {
    "auth": ["auth required pam_sss.so forward_pass"],
    "account": ["account [default=bad success=ok user_unknown=ignore] pam_sss.so"],
    "password": ["password required pam_sss.so"],
    "session": ["session optional pam_sss.so"],
}


class Workstation:
    """A lab workstation: its own Sandbox whose NSS and PAM go through a
    real SSSD (sssd -i) bound to the server as the host's entry."""

    SSS_DIRS = [("db", "700"), ("deskprofile", "711"), ("gpo_cache", "755"), ("mc", "775"),
                ("pipes", "755"), ("pipes/private", "750"), ("pubconf", "755"),
                ("pubconf/krb5.include.d", "755"), ("secrets", "700")]

    def __init__(self, slapd, host="ws1", entry_cache_timeout=5, pam_id_timeout=0,
                 pam_verbosity=1, debug_level="0x0270", extra_conf="", start=True,
                 eschool_attrs=True):
        """host: "ws1".."ws3" (its entry in HOSTS: the bind DN and password).
        pam_id_timeout 0: every PAM request reads the user from the server
        (see SSSD_CONF). extra_conf: more lines for [domain/school]."""
        self.slapd = slapd
        self.host = host
        self.bind_dn, self.bind_password = HOSTS[host]
        self.sb = Sandbox()
        self.proc = None
        self.pid = None
        try:
            self._setup(entry_cache_timeout, pam_id_timeout, pam_verbosity, debug_level,
                        extra_conf, eschool_attrs)
            if start:
                self.start_sssd()
        except BaseException:
            self.sb.close()
            raise

    def _setup(self, entry_cache_timeout, pam_id_timeout, pam_verbosity, debug_level,
               extra_conf, eschool_attrs):
        sb = self.sb
        # a /run of its own: /run/sssd.pid would be the host's otherwise
        sb.cmd(["mount", "-t", "tmpfs", "-o", "mode=0755", "eschool-run", "/run"], check=True)
        conf = SSSD_CONF.format(debug=debug_level, uri=self.slapd.uri, base=self.slapd.base,
                                ca=self.slapd.ca_file, bind_dn=self.bind_dn,
                                bind_pw=self.bind_password,
                                entry_cache_timeout=entry_cache_timeout,
                                pam_id_timeout=pam_id_timeout, pam_verbosity=pam_verbosity,
                                extra=extra_conf,
                                extra_attrs=SSSD_EXTRA_ATTRS if eschool_attrs else "",
                                user_attributes=SSSD_USER_ATTRIBUTES if eschool_attrs else "")
        sb.write("/etc/sssd/sssd.conf", conf, mode="600")
        nss = sb.read("/etc/nsswitch.conf")
        nss = re.sub(r"(?m)^(passwd|group|shadow):.*$", lambda m: f"{m.group(1)}: files sss", nss)
        sb.write("/etc/nsswitch.conf", nss, mode="644")
        dirs = " ".join(f"/var/lib/sss/{d}" for d, _ in self.SSS_DIRS)
        modes = "; ".join(f"chmod {m} /var/lib/sss/{d}" for d, m in self.SSS_DIRS)
        sb.cmd(["sh", "-c", f"mkdir -p {dirs} /var/log/sssd && {modes} && chmod 750 /var/log/sssd"],
               check=True)

    def start_sssd(self, timeout=20):
        assert self.proc is None, "sssd is already running"
        self.proc = self.sb.popen(["sssd", "-i", "--logger=files"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.pid = Sandbox.child_pid(self.proc)
        pidfile = self.sb.host_view("/run/sssd.pid")
        nss_pipe = self.sb.host_view("/var/lib/sss/pipes/nss")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"sssd exited while starting:\n{self.logs()}")
            if os.path.exists(pidfile):  # written once every service is up
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(nss_pipe)
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"sssd did not start:\n{self.logs()}")
            time.sleep(0.02)

    def stop_sssd(self, timeout=15):
        if self.proc is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
        finally:
            self.proc = None
            self.pid = None

    def close(self):
        try:
            self.stop_sssd()
        finally:
            self.sb.close()

    def logs(self):
        """SSSD's logs (/var/log/sssd/*.log in the sandbox), for messages."""
        p = self.sb.cmd(["sh", "-c", 'for f in /var/log/sssd/*.log; do echo "== $f"; '
                                     'tail -n 60 "$f"; done'])
        return p.stdout

    # ---- what a workstation's programs see ----

    def getent(self, db, key):
        """The entry's fields (split on ':'), or None when NSS says none."""
        p = self.sb.cmd(["getent", db, key])
        if p.returncode == 2:
            return None
        assert p.returncode == 0, f"getent {db} {key}: exit {p.returncode} {p.stderr}"
        return p.stdout.rstrip("\n").split(":")

    def wait_getent(self, db, key, timeout=10):
        """Polls getent until the entry is there (a server-side change is
        seen once SSSD's cached copy has expired)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.getent(db, key)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def sss_cache_expire(self):
        """sss_cache -E: every cached entry is out of date."""
        self.sb.cmd(["sss_cache", "-E"], check=True)

    def pam_service(self, name, stacks=None, extra=None):
        """Writes /etc/pam.d/NAME: DEFAULT_STACKS with `stacks` replacing
        whole stacks and `extra` (stack -> lines) appended to them, e.g.
        extra={"account": ["account required /path/pam_eschool.so"]}."""
        chosen = dict(DEFAULT_STACKS)
        chosen.update(stacks or {})
        lines = []
        for stack in ("auth", "account", "password", "session"):
            lines += chosen.get(stack, [])
            lines += (extra or {}).get(stack, [])
        self.sb.write(f"/etc/pam.d/{name}", "\n".join(lines) + "\n", mode="644")
        return name

    def pam(self, user, ops, passwords=(), service="es-sss", as_user=False, env=None,
            answers=()):
        """One PAM transaction through tests/pamdrive.py (pypamtest) in the
        workstation: ops are [op, expected code(, flags)]. as_user: run it
        with the user's uid and gid (as passwd(1) would run for them;
        pam_sss asks root for no old password). Returns pamdrive's JSON
        with "code" (the first op's unexpected code, if any)."""
        if service == "es-sss" and not self.sb.exists("/etc/pam.d/es-sss"):
            self.pam_service("es-sss")
        driver = DRIVER
        if as_user:
            # the checkout may be in a directory only root can enter (a
            # mktemp -d clone): the driver goes where the user can read it
            driver = "/var/mail/pamdrive.py"
            self.sb.cmd(["install", "-m", "0755", DRIVER, driver], check=True)
        argv = ["/usr/bin/python3", driver,
                json.dumps({"service": service, "user": user, "ops": ops,
                            "passwords": list(passwords), "answers": list(answers)})]
        if as_user:
            pw = self.getent("passwd", user)
            assert pw is not None, f"{user} is not known on {self.host}"
            argv = ["setpriv", f"--reuid={pw[2]}", f"--regid={pw[3]}", "--clear-groups"] + argv
        p = self.sb.cmd(argv, env=env)
        assert p.stdout.strip(), p.stderr
        out = json.loads(p.stdout.strip().splitlines()[-1])
        m = re.search(r"returned \[(\d+)\]", out.get("failed", ""))
        out["code"] = int(m.group(1)) if m else None
        out["stderr"] = p.stderr
        return out

    def pam_ok(self, user, ops, passwords=(), **kw):
        """pam() that must meet every expectation; explains itself if not."""
        r = self.pam(user, ops, passwords, **kw)
        assert r["ok"], f"{r}\n{self.logs()}"
        return r
