"""pam_eschool never holds a lock across a conversation with the user
(issue 16, item 2): a user can stop the login process (SIGSTOP from the
same real uid under su) while it waits for an answer, and the helper's
commands wait on that user's lock. tests/pamconvlock.c drives one
transaction through the real libpam; at every message its conversation
tries flock(LOCK_EX | LOCK_NB) on state_dir/locks/USER and on state_dir
(from another open file description: a lock the module holds in the same
process conflicts) and prints whether it was free.

Every stage is audited: the account stage's messages (a demanded change,
the password advice, the expiry warning), the prompt for an address
confirmation code and what is said after the answer (before the fix, said
while the lock taken to record the answer was still held), pam_unix's
prompts in the password stage, and the session stage (which speaks
nothing)."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import new_sandbox  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402
from test_pam import MODULE, NEW_PW, SAN_ENV, add, days_ago, edit_state, prepare, state  # noqa: E402

DRIVER = os.path.join(os.path.dirname(ESCHOOL), "pamconvlock")
STATE_DIR = "/var/lib/eschool"
# SANITIZE=1: the driver is built with ASan; libcrypt loaded at start, or
# ASan's crypt() interceptor leaves pam_unix a null pointer (see test_pam)
C_ENV = {"ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0",
         "LD_PRELOAD": "libcrypt.so.1"} if SAN_ENV else {}
STACK = f"""account required {MODULE}
password requisite pam_unix.so yescrypt
password required {MODULE}
session required {MODULE}
"""


@pytest.fixture
def sb():
    with new_sandbox() as s:
        prepare(s, policy="max_age_days = 90\nwarn_days = 7\n")
        s.write("/etc/pam.d/es-cl", STACK, mode="644")
        yield s


def converse(sb, ops, answers=(), prefix=(), rhost=None):
    """Runs the driver; returns ([(style, state, text)], {op: rc})."""
    argv = list(prefix) + [DRIVER]
    for a in answers:
        argv += ["-a", a]
    if rhost:
        argv += ["-r", rhost]
    argv += [STATE_DIR, "es-cl", "zoe", ops]
    p = sb.cmd(argv, env=C_ENV)
    assert p.returncode == 0, p.stderr
    msgs, codes = [], {}
    for line in p.stdout.splitlines():
        if line.startswith("conv "):
            _, style, st, text = (line.split(" ", 3) + [""])[:4]
            msgs.append((style, st, text))
        else:
            op, rc = line.split()
            codes[op] = int(rc)
    return msgs, codes


def all_free(msgs):
    assert msgs, "no conversation: nothing was checked"
    assert [m for m in msgs if m[1] != "free"] == [], msgs


def test_the_driver_sees_a_held_lock(sb):
    """The control: with the user's lock held (shared, by flock(1) around
    the driver), the conversation reports it."""
    add(sb, lang="en")
    msgs, codes = converse(sb, "account",
                           prefix=["flock", "-s", f"{STATE_DIR}/locks/zoe"])
    assert codes == {"account": 12}
    assert msgs and all(st == "held" for _, st, _ in msgs), msgs


def test_no_lock_across_the_address_code_conversation(sb):
    add(sb, lang="en")
    edit_state(sb, "zoe", must_change=0, initial_expires=0)
    p = sb.cmd([ESCHOOL, "--json", "set-email", "zoe", "zoe.new@school.example"],
               env={"ASAN_OPTIONS": "verify_asan_link_order=0"})
    assert p.returncode == 0, p.stderr
    code = json.loads(p.stdout)["code"]
    # a wrong code: the prompt, then the error said after the answer was
    # recorded under the lock
    msgs, codes = converse(sb, "account", answers=["WRONG-CODE"])
    assert codes == {"account": 0}
    assert [(s, t) for s, _, t in msgs][1:] == [("error", "Wrong code: your address is unchanged.")]
    assert msgs[0][0] == "echo"
    all_free(msgs)
    assert state(sb, "zoe")["pending_tries"] == "1"
    # the right one
    msgs, codes = converse(sb, "account", answers=[code])
    assert codes == {"account": 0}
    assert [(s, t) for s, _, t in msgs][1:] == [("info", "Your address is confirmed.")]
    all_free(msgs)
    assert state(sb, "zoe")["email"] == "zoe.new@school.example"


def test_no_lock_across_any_stage_of_a_first_login(sb):
    add(sb, lang="en")
    # the demanded change and its advice, pam_unix's prompts, the password
    # stage's record, the session's
    msgs, codes = converse(sb, "account,chauthtok,account,open", answers=[NEW_PW],
                           rhost="10.8.8.8")
    assert codes == {"account": 0, "chauthtok": 0, "open": 0}, (codes, msgs)
    styles = [s for s, _, _ in msgs]
    assert styles[:2] == ["error", "info"] and styles.count("prompt") == 2, msgs
    all_free(msgs)
    st = state(sb, "zoe")
    assert st["must_change"] == "0" and st["sources"] == "10.8.8.8", st
    # the expiry warning
    days_ago(sb, "zoe", password_changed=87)
    msgs, codes = converse(sb, "account,open", rhost="10.8.8.9")
    assert codes == {"account": 0, "open": 0}
    assert [t for _, _, t in msgs] == ["Your password expires in 3 days: change it soon."]
    all_free(msgs)
