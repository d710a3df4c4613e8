"""The Debian packages, built by `make deb` (dpkg-buildpackage, lintian with
no error), installed with dpkg in a throwaway root (an overlay of / in its
own mount namespace, see throwaway-root): the module lands in the common-*
stacks through pam-auth-update, a local user from before logs in as before
through login's stack, an eschool user is asked to change the password;
removing the module takes it out of the stacks; purging eschool removes its
config and state."""
import glob
import json
import os
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(TOP, "tests", "pamdrive.py")
SUCCESS, NEW_AUTHTOK = 0, 12


class Root:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="eschool-pkgroot.")
        self.proc = subprocess.Popen([os.path.join(HERE, "throwaway-root"), self.dir],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["ready"], line + [self.proc.stdout.read()]
        self.pid, self.merged = line[1], line[2]

    def run(self, *argv, check=True, input=None):
        p = subprocess.run(["nsenter", "-t", self.pid, "-m", "--", "chroot", self.merged, *argv],
                           capture_output=True, text=True, input=input,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        if check:
            assert p.returncode == 0, (argv, p.stdout, p.stderr)
        return p

    def read(self, path):
        return self.run("cat", path).stdout

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.rmdir(self.dir)


def login(root, user, password, ops):
    p = root.run("/usr/bin/python3", DRIVER,
                 json.dumps({"service": "login", "user": user, "ops": ops,
                             "passwords": [password]}), check=False)
    assert p.stdout.strip(), p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def same_messages(a, b):
    """The same, but for pam_lastlog's "Last login:" (the first login has none)."""
    def keep(msgs):
        return [m for m in msgs if not m.startswith("Last login:")]
    return keep(a) == keep(b)


@pytest.fixture(scope="module")
def debs():
    p = subprocess.run(["make", "--no-print-directory", "-C", TOP, "deb"], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    found = sorted(f for f in glob.glob(os.path.join(TOP, "build", "deb", "*.deb"))
                   if "-dbgsym_" not in f)
    names = sorted(os.path.basename(f).split("_")[0] for f in found)
    assert names == ["eschool", "libpam-eschool"], found
    return found


def test_contents(debs):
    listing = {os.path.basename(d).split("_")[0]:
               subprocess.run(["dpkg-deb", "-c", d], capture_output=True, text=True).stdout
               for d in debs}
    assert "./usr/lib/x86_64-linux-gnu/security/pam_eschool.so" in listing["libpam-eschool"]
    assert "./usr/lib/x86_64-linux-gnu/security/pam_eschool_ldap.so" in listing["libpam-eschool"]
    assert "./usr/share/eschool/ldap/eschool.ldif" in listing["eschool"]
    for plugin in ("eschool_slips.so", "eschool_smtp.so", "eschool_ldap.so"):
        assert f"./usr/lib/eschool/{plugin}" in listing["eschool"], plugin
    assert "./usr/share/pam-configs/eschool" in listing["libpam-eschool"]
    assert "pam_eschool.so" not in listing["eschool"]
    for f in ("./usr/sbin/eschool", "./etc/eschool/eschool.conf",
              "./lib/systemd/system/eschool-remind.timer",
              "./usr/share/eschool/templates/fr/welcome-student.txt",
              "./usr/share/man/man8/eschool.8.gz"):
        assert f in listing["eschool"], f


def test_install_remove_purge(debs):
    root = Root()
    try:
        # a local user from before eschool
        root.run("useradd", "-m", "olduser")
        root.run("chpasswd", input="olduser:Old-Passw0rd!\n")
        before = login(root, "olduser", "Old-Passw0rd!",
                       [["auth", SUCCESS], ["account", SUCCESS], ["open", SUCCESS]])
        assert before["ok"], before
        root.run("sh", "-c", "cp " + " ".join(debs) + " /root/")
        root.run("sh", "-c", "dpkg -i /root/libpam-eschool_*.deb /root/eschool_*.deb")
        for f, line in (("common-account", "account\trequired\tpam_eschool.so"),
                        ("common-password", "password\trequired\tpam_eschool.so"),
                        ("common-session", "session\toptional\tpam_eschool.so")):
            assert line in root.read(f"/etc/pam.d/{f}"), f
        # beside SSSD's profile (libpam-sss: "sufficient pam_localuser.so"
        # ends the account stack for local users), pam_eschool comes first
        account = root.read("/etc/pam.d/common-account")
        if "pam_localuser.so" in account:
            assert account.index("pam_eschool.so") < account.index("pam_localuser.so"), account
        # the conffile and the enabled units
        assert "/etc/eschool/eschool.conf" in root.read("/var/lib/dpkg/info/eschool.conffiles")
        assert root.run("test", "-L",
                        "/etc/systemd/system/timers.target.wants/eschool-remind.timer",
                        check=False).returncode == 0
        # nobody managed yet: the old user's login is exactly as before
        after = login(root, "olduser", "Old-Passw0rd!",
                      [["auth", SUCCESS], ["account", SUCCESS], ["open", SUCCESS]])
        assert after["ok"] and after["errors"] == before["errors"], after
        assert same_messages(after["info"], before["info"]), (after, before)
        # a user made by eschool must change the password
        out = json.loads(root.run("eschool", "--json", "add", "zoe", "--email",
                                  "zoe@lycee-exemple.fr").stdout)
        r = login(root, "zoe", out["password"], [["auth", SUCCESS], ["account", NEW_AUTHTOK]])
        assert r["ok"] and r["errors"], r
        # shadow itself says so (lastchg 0, the role's maximum age): chage
        # tells the truth, and the stack forces the change without the module
        aging = root.run("chage", "-l", "zoe").stdout
        assert "Last password change\t\t\t\t\t: password must be changed" in aging, aging
        assert "Maximum number of days between password change\t\t: 90" in aging, aging
        root.run("pam-auth-update", "--package", "--disable", "eschool")
        assert "pam_eschool" not in root.read("/etc/pam.d/common-account")
        r = login(root, "zoe", out["password"], [["auth", SUCCESS], ["account", NEW_AUTHTOK]])
        assert r["ok"], r
        root.run("pam-auth-update", "--package", "--enable", "eschool")
        assert "pam_eschool" in root.read("/etc/pam.d/common-account")
        # removing the module never leaves a stack naming it
        root.run("dpkg", "-r", "libpam-eschool")
        for f in ("common-account", "common-password", "common-session"):
            assert "pam_eschool" not in root.read(f"/etc/pam.d/{f}"), f
        # and the temporary password still has to be changed
        r = login(root, "zoe", out["password"], [["auth", SUCCESS], ["account", NEW_AUTHTOK]])
        assert r["ok"], r
        assert login(root, "olduser", "Old-Passw0rd!", [["auth", SUCCESS], ["account", SUCCESS],
                                                       ["open", SUCCESS]])["ok"]
        # remove keeps config and state, purge removes them
        root.run("dpkg", "-r", "eschool")
        assert root.run("test", "-e", "/var/lib/eschool/users/zoe", check=False).returncode == 0
        assert root.run("test", "-e", "/etc/eschool/eschool.conf", check=False).returncode == 0
        root.run("dpkg", "-P", "eschool")
        for gone in ("/etc/eschool", "/var/lib/eschool", "/var/spool/eschool"):
            assert root.run("test", "-e", gone, check=False).returncode != 0, gone
    finally:
        root.close()


def test_make_deb_installs_its_build_dependencies():
    """`make deb` on a machine that has none of the packaging tools' extras:
    the unit tests that run while the package builds need cmocka (it was
    missing from Build-Depends and from deps-packaging), and lintian is
    installed, not assumed. In a throwaway root, on a copy of this tree."""
    root = Root()
    try:
        tree = subprocess.run(["tar", "-C", TOP, "-cf", "-", "--exclude=./build*",
                               "--exclude=./eschool-*.tar.gz", "."],
                              capture_output=True, check=True).stdout
        root.run("mkdir", "-p", "/root/src")
        subprocess.run(["nsenter", "-t", root.pid, "-m", "--", "chroot", root.merged,
                        "tar", "-x", "-C", "/root/src"], input=tree, check=True)
        root.run("dpkg", "--remove", "--force-depends", "libcmocka-dev", "lintian")
        p = root.run("make", "--no-print-directory", "-C", "/root/src", "deb", check=False)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
        debs = root.run("sh", "-c", "ls /root/src/build/deb/*.deb").stdout.split()
        names = sorted(os.path.basename(d).split("_")[0] for d in debs
                       if "-dbgsym_" not in d)
        assert names == ["eschool", "libpam-eschool"], debs
        # the Build-Depends say all the build needs: dpkg agrees on this root
        root.run("sh", "-c", "cd /root/src/build/deb/eschool-* && dpkg-checkbuilddeps")
        for pkg in ("libcmocka-dev", "lintian"):
            st = root.run("dpkg-query", "-W", "-f=${Status}", pkg, check=False).stdout
            assert st == "install ok installed", (pkg, st)
    finally:
        root.close()
