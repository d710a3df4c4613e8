"""make install / make uninstall into a DESTDIR: every file where a
packager expects it (Debian 12 defaults), modes, the school's config never
replaced, and uninstall leaves nothing behind but what the school changed."""
import os
import re
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECURITY = "/usr/lib/x86_64-linux-gnu/security"


def make(*args):
    p = subprocess.run(["make", "--no-print-directory", "-C", TOP, *args], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        out.update(os.path.relpath(os.path.join(d, n), root) for n in names)
    return out


def mode(path):
    return oct(os.stat(path).st_mode & 0o7777)


def test_install_then_uninstall(tmp_path):
    dest = str(tmp_path / "root")
    make("install", f"DESTDIR={dest}")
    got = files(dest)
    templates = {f for f in got if f.startswith("usr/share/eschool/templates/")}
    for f in ("usr/sbin/eschool", SECURITY[1:] + "/pam_eschool.so",
              SECURITY[1:] + "/pam_eschool_ldap.so",
              "usr/share/pam-configs/eschool", "usr/share/man/man8/eschool.8",
              "usr/share/man/man8/pam_eschool.8", "usr/share/man/man5/eschool.conf.5",
              "etc/eschool/eschool.conf", "lib/systemd/system/eschool-queue.service",
              "lib/systemd/system/eschool-remind.timer",
              "usr/share/eschool/templates/fr/welcome-student.txt",
              "usr/share/eschool/templates/en/verify-email.html",
              "usr/share/eschool/ldap/eschool.ldif", "usr/share/eschool/ldap/eschool.schema",
              "usr/share/eschool/ldap/acl.ldif", "usr/share/eschool/ldap/dit.ldif",
              "usr/lib/eschool/eschool_slips.so", "usr/lib/eschool/eschool_smtp.so",
              "usr/lib/eschool/eschool_ldap.so"):
        assert f in got, (f, sorted(got))
    assert len(templates) == len(os.listdir(os.path.join(TOP, "conf/templates/fr"))) * 2
    assert mode(f"{dest}/usr/sbin/eschool") == "0o755"
    assert mode(f"{dest}{SECURITY}/pam_eschool.so") == "0o644"
    assert mode(f"{dest}/etc/eschool/eschool.conf") == "0o600"
    assert mode(f"{dest}/usr/share/eschool/templates/fr/reset.txt") == "0o644"
    unit = open(f"{dest}/lib/systemd/system/eschool-remind.service").read()
    assert "ExecStart=/usr/sbin/eschool -q remind" in unit
    # the built-in template_dir is where the templates went
    assert b"/usr/share/eschool/templates\0" in open(f"{TOP}/build/eschool", "rb").read()
    # the school's config survives a second install, and uninstall
    with open(f"{dest}/etc/eschool/eschool.conf", "a") as f:
        f.write("[general]\nschool_name = Lycée Exemple\n")
    make("install", f"DESTDIR={dest}")
    assert "Lycée Exemple" in open(f"{dest}/etc/eschool/eschool.conf").read()
    make("uninstall", f"DESTDIR={dest}")
    assert files(dest) == {"etc/eschool/eschool.conf"}
    os.remove(f"{dest}/etc/eschool/eschool.conf")
    make("install", f"DESTDIR={dest}")
    make("uninstall", f"DESTDIR={dest}")
    assert not os.path.exists(dest) or files(dest) == set() and \
        all(not dirs for _, dirs, _ in os.walk(dest))


@pytest.mark.parametrize("var,value,where", [
    ("PREFIX", "/usr/local", "usr/local/sbin/eschool"),
    ("PAMDIR", "/lib/security", "lib/security/pam_eschool.so"),
    ("SYSTEMDUNITDIR", "/usr/lib/systemd/system", "usr/lib/systemd/system/eschool-queue.timer"),
    ("MANDIR", "/opt/man", "opt/man/man8/pam_eschool.8"),
    ("SYSCONFDIR", "/opt/etc", "opt/etc/eschool/eschool.conf"),
])
def test_install_honours_the_directories(tmp_path, var, value, where):
    dest = str(tmp_path / "root")
    make("install", f"DESTDIR={dest}", f"{var}={value}")
    assert where in files(dest)
    if var == "PREFIX":
        unit = open(f"{dest}/lib/systemd/system/eschool-queue.service").read()
        assert "ExecStart=/usr/local/sbin/eschool" in unit
    make("uninstall", f"DESTDIR={dest}", f"{var}={value}")
    assert files(dest) == set()


def test_dist_tarball_builds(tmp_path):
    make("dist")
    version = re.search(r"^VERSION := (\S+)$", open(os.path.join(TOP, "Makefile")).read(),
                        re.M).group(1)
    tarball = os.path.join(TOP, f"eschool-{version}.tar.gz")
    try:
        subprocess.run(["tar", "-xzf", tarball, "-C", str(tmp_path)], check=True)
        src = tmp_path / f"eschool-{version}"
        listed = subprocess.run(["git", "-C", TOP, "ls-files"], capture_output=True, text=True,
                                check=True).stdout.split()
        assert files(src) == set(listed)
        # it builds on its own, and its unit tests pass
        p = subprocess.run(["make", "-C", str(src), "-j2", "unit"], capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        assert (src / "build" / "eschool").exists() and (src / "build" / "pam_eschool.so").exists()
        for t in sorted((src / "build" / "tests").iterdir()):
            r = subprocess.run([str(t)], capture_output=True, text=True)
            assert r.returncode == 0, (t.name, r.stdout[-1000:], r.stderr[-1000:])
    finally:
        os.remove(tarball)
