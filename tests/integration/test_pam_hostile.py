"""pam_eschool.so against hostile input at the PAM boundary, through the real
libpam inside the sandbox (issue 8, item 5): user names, PAM_RHOST and
PAM_TTY with control characters, 4 KB lengths, "../", "%n", invalid UTF-8
and NUL-free binary; no PAM_USER at all; conversations that fail, return
nothing or 1 MB; hostile module arguments. tests/pamhostile.c drives what
pypamtest cannot; tests/pamloop.c the 1,000 transactions of the descriptor
check.

Each test checks: no crash (exit status; ASan/LSan with SANITIZE=1, else
valgrind where a conversation or a mail is involved), the PAM codes (a
hostile name is treated exactly like an unmanaged user), nothing read or
written outside state_dir for it (strace, file listings, canaries), every
syslog line free of bytes < 0x20 and 0x7f, every queued mail free of raw
control characters (CR only in CRLF) with the source shown escaped."""
import email
import email.policy
import json
import os
import re
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
from sandbox import ESCHOOL, parse_state  # noqa: E402
from test_pam import (MODULE, SAN_ENV, SET_ITEMS, STATE, add, edit_state,  # noqa: E402
                      prepare, state)

BUILD = os.path.dirname(ESCHOOL)
HOSTILE = os.path.join(BUILD, "pamhostile")
LOOP = os.path.join(BUILD, "pamloop")
SPOOL_NEW = "/var/spool/eschool/new"
ALL_OPS = "account,chauthtok,open,close"
AUTHTOK = {"PAM_AUTHTOK": "Tr3s-Bien-Choisi!"}  # what pam_set_items puts in PAM_AUTHTOK

# The module between two harmless neighbours: its PAM_IGNORE shows as 0
# (pam_permit decides), an error of its own as that error. pam_set_items
# sets PAM_AUTHTOK from the environment, as a password module would.
STACK = f"""account required {MODULE} debug
account optional pam_permit.so
password optional {SET_ITEMS}
password required {MODULE} debug
password optional pam_permit.so
session required {MODULE} debug
session optional pam_permit.so
"""

# The C drivers are built with the sanitizers too (SANITIZE=1): no preload,
# and LeakSanitizer on
C_ENV = {"ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"} if SAN_ENV else {}
VALGRIND = ["valgrind", "-q", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"]

HOSTILE_NAMES = [
    b"zoe\n", b"zoe\r\nFAKE pam_eschool: password changed for root", b"a" * 4096,
    b"../../etc/x", b"../x", b"../../../../../../etc/x", b"zoe/../zoe", b"/etc/x", b".", b"..",
    b"", b"%n%n%n%n%s", b"zoe%n", b"\xff\xfe\xfd", bytes(range(1, 256)), b"\x1b[2Jzoe",
    b"ZOE", b" zoe", b"zoe ", b"zoe\t", "\u202ezoe".encode(), b"zoe\x7f",
    b"\xc0\xafetc\xc0\xafx", b"zoe$x", b"-zoe", b"../../x",
]


class Syslog:
    """Every datagram sent to the sandbox's /dev/log while it runs, read by
    a thread (a unix datagram queue holds about 10: a sender would block)."""

    def __init__(self, sb):
        self.sock = sb.syslog()
        self.sock.settimeout(0.1)
        self.lines = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                self.lines.append(self.sock.recv(65536))
            except OSError:  # timeout included
                if self.done.is_set():
                    return

    def stop(self):
        self.done.set()
        self.thread.join(10)
        self.sock.close()
        return self.lines


def assert_clean_log(lines):
    assert lines, "nothing was logged: the check checked nothing"
    for line in lines:
        bad = [b for b in line if b < 0x20 or b == 0x7f]
        assert not bad, line


def ours(lines):
    return [l for l in lines if b"pam_eschool(" in l]


def run_hostile(sb, user=None, rhost=None, tty=None, conv=None, answer=None, ops=ALL_OPS,
                service="es-h", memcheck=False, strace=None, env=None, n=1):
    """Runs tests/pamhostile.c; returns ({op: rc}, prompts, messages)."""
    argv = [HOSTILE]
    argv += ["-U"] if user is None else ["-u", user.hex()]
    if rhost is not None:
        argv += ["-r", rhost.hex()]
    if tty is not None:
        argv += ["-t", tty.hex()]
    if conv is not None:
        argv += ["-c", conv]
    if answer is not None:
        argv += ["-a", answer.hex()]
    argv += ["-n", str(n), service, ops]
    if memcheck and not SAN_ENV:
        argv = VALGRIND + argv
    if strace:
        argv = ["strace", "-f", "-qq", "-s", "4096", "-e", "trace=%file", "-o", strace] + argv
    run_env = {**C_ENV, **(env or {})}
    if strace and SAN_ENV:  # LeakSanitizer cannot run under ptrace
        run_env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"
    p = sb.cmd(argv, env=run_env)
    assert p.returncode == 0, (user, rhost, tty, conv, p.returncode, p.stderr[-4000:])
    assert "Sanitizer" not in p.stderr and "valgrind" not in p.stderr.lower(), p.stderr[-4000:]
    codes, counts = {}, {}
    for line in p.stdout.splitlines():
        key, value = line.split()
        (counts if key in ("prompts", "messages") else codes)[key] = int(value)
    return codes, counts["prompts"], counts["messages"]


def listing(sb):
    """Every file (path, size, mtime) where the module could write, and /etc."""
    p = sb.cmd(["find", "/etc", "/var/lib", "/var/spool", "/var/mail", "/home", "-xdev",
                "-printf", r"%p %s %T@\n"], check=True)
    return p.stdout


def prepare_zoe(sb, policy=""):
    prepare(sb, policy=policy)
    add(sb, lang="en")
    sb.write("/etc/pam.d/es-h", STACK, mode="644")


@pytest.fixture
def sb():
    with new_sandbox() as s:
        yield s


def test_hostile_user_names_are_left_alone_and_touch_nothing(sb):
    prepare_zoe(sb)
    for canary in ("/etc/x", "/var/lib/x", "/var/lib/eschool/x"):
        sb.write(canary, "canary\n", mode="644")
    # the oracle: an unmanaged user, and a managed one to show it differs
    nobody, _, _ = run_hostile(sb, b"nobody", env=AUTHTOK)
    assert nobody == {"account": 0, "chauthtok": 0, "open": 0, "close": 0}
    zoe, _, _ = run_hostile(sb, b"zoe", ops="account", env=AUTHTOK)
    assert zoe == {"account": 12}  # the temporary password must be changed
    sb.cmd(["mkdir", "-p", os.path.dirname(sb.private("trace"))], check=True)
    before, zoe_state = listing(sb), sb.read(f"{STATE}/zoe")
    log = Syslog(sb)
    try:
        for i, name in enumerate(HOSTILE_NAMES):
            trace = sb.private(f"trace.{i}")
            codes, prompts, _ = run_hostile(sb, name, rhost=b"10.1.1.1", strace=trace,
                                            env=AUTHTOK)
            assert codes == nobody, (name, codes)
            assert prompts == 0, name
            # and again, for memory errors and leaks (valgrind: a third of
            # the names and every long one, for time)
            memcheck = i % 3 == 0 or len(name) > 64
            assert run_hostile(sb, name, rhost=b"10.1.1.1", memcheck=memcheck,
                               env=AUTHTOK)[0] == nobody
            # decided from the name alone: no state, spool or config path
            # opened for it, and never the canaries
            text = sb.read(trace)
            for needle in ("/var/lib/eschool", "/var/spool/eschool", "eschool.conf",
                           "etc/x", '"x"'):
                assert needle not in text, (name, needle,
                                            [l for l in text.splitlines() if needle in l])
    finally:
        lines = log.stop()
    assert listing(sb) == before
    assert sb.read(f"{STATE}/zoe") == zoe_state
    for canary in ("/etc/x", "/var/lib/x", "/var/lib/eschool/x"):
        assert sb.read(canary) == "canary\n"
    assert_clean_log(lines)
    # the debug line names the refused user, escaped
    text = b"\n".join(ours(lines))
    assert b"user name 'zoe\\x0d\\x0aFAKE pam_eschool: password changed for root'" in text
    assert b"user name '\\xe2\\x80\\xaezoe'" in text  # the bidi override
    assert b"user name '../../etc/x' is not one eschool manages" in text


def test_no_pam_user_is_never_asked_for(sb):
    """PAM_USER unset: the module does not prompt (pam_get_user would ask
    "login:" and let the conversation's answer, here "zoe", become the
    user); whatever the conversation, it steps aside."""
    prepare_zoe(sb)
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    before = listing(sb)
    log = Syslog(sb)
    try:
        for conv in ("answer", "null", "null-resp", "conv-err", "buf-err", "huge", "binary"):
            codes, prompts, _ = run_hostile(sb, None, conv=conv, answer=b"zoe", n=5,
                                            rhost=b"10.2.2.2", memcheck=True, env=AUTHTOK)
            assert codes == {"account": 0, "chauthtok": 0, "open": 0, "close": 0}, conv
            assert prompts == 0, conv
    finally:
        lines = log.stop()
    assert listing(sb) == before
    for line in lines:
        assert not any(b < 0x20 or b == 0x7f for b in line), line


def set_email_code(sb):
    p = sb.cmd([ESCHOOL, "--json", "set-email", "zoe", "zoe.new@school.example"],
               env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["code"]


def test_hostile_conversation_at_the_code_prompt(sb):
    """The one question the module asks (the code of a pending address
    change): a conversation that fails, answers nothing, NULL, 1 MB or
    binary never fails the login, never changes the address, and counts a
    try only for an answer that was given."""
    prepare_zoe(sb)
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    code = set_email_code(sb)
    log = Syslog(sb)
    try:
        for conv, answer, tries in (("null", None, 0), ("null-resp", None, 0),
                                    ("conv-err", None, 0), ("buf-err", None, 0),
                                    ("answer", b"", 0),           # skips
                                    ("huge", None, 1),            # 1 MB: wrong
                                    ("binary", None, 2),          # wrong
                                    ("answer", b"%n%n%s%s\n", 3),  # wrong
                                    ):
            codes, prompts, _ = run_hostile(sb, b"zoe", conv=conv, answer=answer,
                                            rhost=b"10.3.3.3", memcheck=True)
            assert codes == {"account": 0, "chauthtok": 0, "open": 0, "close": 0}, conv
            assert prompts == 1, conv  # it was asked
            st = state(sb, "zoe")
            assert st["email"] == "zoe@school.example", conv
            assert int(st.get("pending_tries", 0)) == tries, (conv, st)
        # the driver's plain path works: the right code confirms
        codes, prompts, messages = run_hostile(sb, b"zoe", conv="answer",
                                               answer=code.encode(), ops="account")
        assert codes == {"account": 0} and prompts == 1 and messages == 1
        assert state(sb, "zoe")["email"] == "zoe.new@school.example"
    finally:
        lines = log.stop()
    assert_clean_log(lines)
    assert len([l for l in lines if b"wrong address confirmation code for zoe" in l]) == 3
    # nothing of the answers reached the log
    assert not any(b"%n%n" in l or b"AAAAAAAA" in l for l in lines)


def clean(raw):
    """What the man page promises for a source (es_login_source_clean)."""
    out = ""
    for b in raw:
        piece = chr(b) if 0x21 <= b <= 0x7e and b not in b",%\\" else f"\\x{b:02x}"
        if len(out) + len(piece) > 128:
            break
        out += piece
    return out


HOSTILE_SOURCES = [  # (PAM_RHOST, PAM_TTY)
    (b"evil\r\nBcc: attacker@example.org", None),
    (b"h" * 4096, None),
    (b"a,b,c", None),
    (b"%0a%n%s", None),
    (b"\xff\xfe\xc3(", None),
    (b"\x1b[31mred\x1b[0m", None),
    ("\u202egpj.exe".encode(), None),
    (b"b\xc3\xbcrger.example", None),  # raw UTF-8, not punycode
    (b"\\x0a", None),
    (None, b"tty\x01\x02\n"),
    (b"", b"\x7f" * 10),
    (bytes(range(1, 256)), b"pts/9"),
]


def queued(sb):
    """(header dict, message bytes) of every file in the spool's new/."""
    out = []
    for name in sb.listdir(SPOOL_NEW) or []:
        p = subprocess.run(sb.enter + ["cat",
                            f"{SPOOL_NEW}/{name}"], capture_output=True, check=True)
        head, sep, msg = p.stdout.partition(b"\nend\n")
        assert sep, name
        meta = dict(l.split("=", 1) for l in head.decode().splitlines()[1:])
        assert len(msg) == int(meta["size"]), name
        out.append((meta, msg))
    return out


def assert_clean_mail(msg):
    """No raw control character; CR and LF only as CRLF line ends."""
    assert not any(b < 0x20 and b not in (0x0d, 0x0a) or b == 0x7f for b in msg), msg[:2000]
    assert msg.count(b"\r") == msg.count(b"\n") == msg.count(b"\r\n"), msg[:2000]


def test_hostile_sources_in_state_mail_and_log(sb):
    prepare_zoe(sb, policy="known_sources = 50\n")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    # a first login: later sources are new ones, each worth a notice
    assert run_hostile(sb, b"zoe", rhost=b"10.0.0.1", ops="open")[0] == {"open": 0}
    n0 = len([m for m, _ in queued(sb) if m["kind"] == "new-login-source"])
    assert n0 == 0
    log = Syslog(sb)
    try:
        for i, (rhost, tty) in enumerate(HOSTILE_SOURCES):
            codes, _, _ = run_hostile(sb, b"zoe", rhost=rhost, tty=tty, ops="account,open,close",
                                      memcheck=i < 2)
            assert codes == {"account": 0, "open": 0, "close": 0}, (rhost, tty)
    finally:
        lines = log.stop()
    want = [clean(r if r else t) for r, t in HOSTILE_SOURCES]
    # the state: every source printable ASCII, no separator, no escape
    sources = parse_state(sb.read(f"{STATE}/zoe"))["sources"].split(",")
    assert sources == list(reversed(want)) + ["10.0.0.1"]
    for s in sources:
        assert re.fullmatch(r"[\x21-\x7e]{1,128}", s) and "%" not in s, s
    # one notice per source, none lost to a value the mail would refuse
    notices = [(m, msg) for m, msg in queued(sb) if m["kind"] == "new-login-source"]
    assert len(notices) == len(HOSTILE_SOURCES)
    shown = set()
    for meta, msg in notices:
        assert_clean_mail(msg)
        mail = email.message_from_bytes(msg, policy=email.policy.default)
        assert mail["Bcc"] is None and mail["To"].addresses[0].addr_spec == "zoe@school.example"
        text = mail.get_body(("plain",)).get_content()
        m = re.search(r" from (.+),\r?$", text, re.M)
        assert m, text
        shown.add(m.group(1))
        html = mail.get_body(("html",)).get_content()
        assert "\x1b" not in html and "\u202e" not in html
    # a remote host as recorded; a login without one (PAM_TTY alone) was
    # made at this computer: its console, never the device
    console = "the console of the computer " + clean(socket.gethostname().encode())
    assert shown == {clean(r) for r, _ in HOSTILE_SOURCES if r} | {console}
    assert want[0] == "evil\\x0d\\x0aBcc:\\x20attacker@example.org"
    assert_clean_log(lines)


def test_hostile_module_arguments_are_logged_escaped(sb):
    prepare_zoe(sb)
    args = [b"frob\x01\x1b[2Jnicate", b"config=", b"config=relative.conf", b"%n%n%n%s",
            b"\x7f\xff\xfe", b"config=/etc/eschool/missing\x01.conf", b"A" * 600, b"debug",
            b"[config=/etc/eschool/with space.conf]"]
    # (libpam cuts a service file's line at 1,024 bytes: the 600-byte
    # argument keeps it whole)
    line = b"account required " + MODULE.encode() + b" " + b" ".join(args) + b"\n"
    assert len(line) < 1024
    subprocess.run(sb.enter + ["sh", "-c",
                    "cat > /etc/pam.d/es-args && chmod 644 /etc/pam.d/es-args"],
                   input=line, check=True)
    log = Syslog(sb)
    try:
        codes, _, _ = run_hostile(sb, b"zoe", ops="account", service="es-args", memcheck=True)
    finally:
        lines = log.stop()
    # the bad ones are ignored and the module still decides (the bracketed
    # config= is a good one: absolute; missing, the file is optional)
    assert codes == {"account": 12}
    assert_clean_log(lines)
    text = b"\n".join(ours(lines))
    for shown in (b"'frob\\x01\\x1b[2Jnicate'", b"'config='", b"'config=relative.conf'",
                  b"'%n%n%n%s'", b"'\\x7f\\xff\\xfe'",
                  b"'config=/etc/eschool/missing\\x01.conf'", b"'" + b"A" * 600 + b"'"):
        assert shown + b" (ignored)" in text, (shown, text[:3000])


def test_descriptors_after_1000_transactions(sb):
    """1,000 full transactions in one process (account, a recorded password
    change, session open and close, a new source each time, so two mails
    queued per cycle): as many open descriptors after as before."""
    prepare_zoe(sb)
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    # the shadow entry changed today, as after pam_unix's change: the
    # module records the change pam_set_items' PAM_AUTHTOK stands for
    sb.cmd(["sh", "-c", 'chage -d "$(date +%F)" zoe'], check=True)
    sb.write("/etc/pam.d/es-loop", f"""account required {MODULE}
password optional {SET_ITEMS}
password required {MODULE}
session required {MODULE}
""", mode="644")
    log = Syslog(sb)  # the host's syslog connection exists: the module reuses it
    try:
        p = sb.cmd([LOOP, "es-loop", "zoe", "1000"], env={**C_ENV, **AUTHTOK}, timeout=900)
    finally:
        lines = log.stop()
    assert p.returncode == 0, p.stderr[-3000:]
    m = re.search(r"^fds (\d+) (\d+)$", p.stdout, re.M)
    assert m and m.group(1) == m.group(2), p.stdout
    print(f"open descriptors: {m.group(1)} before, {m.group(2)} after 1,000 transactions")
    kinds = [meta["kind"] for meta, _ in queued(sb)]
    assert kinds.count("password-changed") == 1000 and kinds.count("new-login-source") == 999
    assert len(ours(lines)) >= 1000  # "password changed for zoe" each time
    assert_clean_log(lines)
