"""packaging/systemd: the queue's service, timer and path units pass
`systemd-analyze verify` (with ExecStart pointing at the built binary), and
the service's command, run as systemd would (its argv, under faketime: a
timer tick an hour later), delivers a deferred mail and exits with a status
the unit counts as success."""
import configparser
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL  # noqa: E402
from conftest import configure_mail  # noqa: E402
from test_queue_run import enqueue, listing  # noqa: E402

UNITS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "packaging", "systemd")
NAMES = ["eschool-queue.service", "eschool-queue.timer", "eschool-queue.path"]


def unit(name):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(os.path.join(UNITS, name))
    return cp


def test_units_verify(tmp_path):
    for name in NAMES:
        text = open(os.path.join(UNITS, name)).read()
        (tmp_path / name).write_text(text.replace("/usr/sbin/eschool", ESCHOOL))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no"]
                       + [str(tmp_path / n) for n in NAMES], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert unit("eschool-queue.timer")["Timer"]["Persistent"] == "true"
    assert unit("eschool-queue.path")["Path"]["PathChanged"] == "/var/spool/eschool/new"
    assert unit("eschool-queue.path")["Path"]["Unit"] == "eschool-queue.service"


def test_service_command_delivers_under_faketime(sandbox, srv):
    configure_mail(sandbox, srv.port, srv.ca_file, mode="production")
    svc = unit("eschool-queue.service")["Service"]
    argv = shlex.split(svc["ExecStart"])
    assert argv[0] == "/usr/sbin/eschool" and argv[-2:] == ["queue", "run"]
    ok = {0} | {int(c) for c in svc["SuccessExitStatus"].split()}
    n0 = len(srv.messages)
    enqueue(sandbox, "timer@school.example", "reset", 0)
    srv.data_replies.append("451 4.3.0 later")
    argv[0] = ESCHOOL
    first = sandbox.cmd(argv)
    assert first.returncode == 75 and first.returncode in ok  # deferred: not a unit failure
    assert first.stdout == ""  # -q: quiet in the journal unless something is wrong
    later = sandbox.cmd(["faketime", "-f", "+1h"] + argv,
                        env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert later.returncode == 0, later.stderr
    assert [env.rcpt_tos for env, _ in srv.messages[n0:]] == [["timer@school.example"]]
    assert listing(sandbox) == []
