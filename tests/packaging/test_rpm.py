"""packaging/rpm/eschool.spec builds with Debian's rpmbuild (--nodeps:
Fedora's -devel packages are not here) from the dist tarball; the packages
hold the helper, the module, the man pages, the units and the config as
%config(noreplace), with the systemd scriptlets."""
import glob
import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rpmq(*args):
    p = subprocess.run(["rpm", "-qp", *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_rpmbuild():
    p = subprocess.run(["make", "--no-print-directory", "-C", TOP, "rpm"], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    rpms = {os.path.basename(f).split("-0")[0]: f
            for f in glob.glob(os.path.join(TOP, "build", "rpm", "RPMS", "*", "*.rpm"))}
    assert set(rpms) == {"eschool", "pam_eschool"}, rpms
    helper = rpmq("-l", rpms["eschool"]).split()
    module = rpmq("-l", rpms["pam_eschool"]).split()
    assert "/usr/lib64/security/pam_eschool.so" in module
    assert "/usr/share/man/man8/pam_eschool.8" in module
    for f in ("/usr/sbin/eschool", "/etc/eschool/eschool.conf",
              "/usr/share/man/man8/eschool.8", "/usr/share/man/man5/eschool.conf.5",
              "/usr/lib/systemd/system/eschool-queue.path",
              "/usr/lib/systemd/system/eschool-remind.timer",
              "/usr/share/eschool/templates/fr/welcome-student.txt"):
        assert f in helper, f
    # pam-auth-update is Debian's: not in the RPM
    assert not any("pam-configs" in f for f in helper + module)
    assert rpmq("--configfiles", rpms["eschool"]).split() == ["/etc/eschool/eschool.conf"]
    flags = rpmq("--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpms["eschool"])
    assert "/etc/eschool/eschool.conf cn" in flags.splitlines()  # %config(noreplace)
    dump = rpmq("--dump", rpms["eschool"])
    conf = next(l for l in dump.splitlines() if l.startswith("/etc/eschool/eschool.conf "))
    assert conf.split()[4] == "0100600", conf  # mode 600
    scripts = rpmq("--scripts", rpms["eschool"])
    assert "preset eschool-queue.path eschool-queue.timer eschool-remind.timer" in scripts
