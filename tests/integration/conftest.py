"""Integration fixtures: every test that creates accounts runs eschool inside a
private mount namespace (tests/sandbox-start) with a copy of /etc and tmpfs over
/home, /var/log, /var/mail, /var/lib and /var/spool, so the host never changes.
The session checks at the end that the host's account files are untouched."""
import hashlib
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL, Sandbox  # noqa: E402
HOST_FILES = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"]


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="session", autouse=True)
def host_untouched():
    before = {p: _digest(p) for p in HOST_FILES}
    homes = sorted(os.listdir("/home"))
    yield
    after = {p: _digest(p) for p in HOST_FILES}
    assert after == before, "the test suite changed the host's account files"
    assert sorted(os.listdir("/home")) == homes, "the test suite changed the host's /home"


@pytest.fixture
def sandbox():
    if os.geteuid() != 0:
        pytest.fail("integration tests must run as root (they use mount namespaces)")
    if not os.path.exists(ESCHOOL):
        pytest.fail("build/eschool is missing: run make")
    sb = Sandbox()
    # a config like a school's, debug mode
    sb.write("/etc/eschool/eschool.conf",
             "[general]\nmode = debug\nschool_name = Lycée Exemple\n")
    try:
        yield sb
    finally:
        sb.close()
