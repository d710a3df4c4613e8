"""kill -9 at random moments during `eschool import` of a large roster, the
same import run again after each kill, then once to the end: every person of
the roster has exactly one account, complete (passwd, shadow, group, gshadow,
subuid/subgid, role groups, home with the whole skeleton, state file), and
its credentials went out exactly once:
- debug: printed (--json); a password was printed for every account, and
  the last one printed opens it (checked for every account a kill caught
  half made, and a sample of the others);
- production: queued, then mailed (the import sends what it queued, `queue
  run` what a killed import left): at the SMTP server, exactly one welcome
  mail (by Message-ID) per account and one parent notice per student with a
  parent address, nothing else; a second copy of the same mail only in the
  window SMTP cannot close (the sender killed between the server's 250 and
  its rename out of the queue), checked precisely; the mailed password
  opens the account;
- production with eschool-queue.path: the same, with `queue run` started
  again and again alongside the import, as the path unit does when a mail
  is queued: a mail the killed import had queued but not recorded must not
  go out before the resumed import replaces it.

The kill moments are drawn uniformly over an uninterrupted import measured
first in a scratch sandbox (conftest.Timeline): they fall in every phase
(reading, hashing, the account files' rewrite, homes, states, queueing,
sending, reporting) in proportion to its length."""
import json
import os
import re
import threading
import time

import pytest

from conftest import (ESCHOOL, KILLS, ROWS, STATE_DIR, Run, check_duplicates,
                      deliveries, faketime_env, new_sandbox, parse_state, Timeline,
                      queue_listing, record, replay, rng_for, sleep_until, spool_leftovers,
                      wait_connections_ended, write_config, wrong_passwords)

FIRST = ["Zoë", "Noël", "Élodie", "Jean-Luc", "Anaïs", "Björn", "Chloé", "Søren", "Inès",
         "François", "Œnone", "Ægir", "Renée", "Jürgen", "Marc", "Lucía"]
LAST = ["Lefèvre", "O'Neil", "Müller", "Garçon", "Dupont", "Nuñez", "Straße", "Ødegaard",
        "Martin", "d'Arc", "Van der Berg", "Łukasiewicz"]
CHECK_SAMPLE = 40  # passwords checked besides those of accounts a kill caught half made


def make_roster(rng, n):
    """n people: most with a username, some (10 %) derived from the name;
    students and teachers; a parent address for some students."""
    rows = []
    for i in range(n):
        role = "teacher" if rng.random() < 0.15 else "student"
        derived = rng.random() < 0.10
        rows.append({
            "username": "" if derived else f"{role[0]}{i:05d}",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "email": f"p{i:05d}@school.example",
            "role": role,
            "parent_email": (f"parent{i:05d}@family.example"
                             if role == "student" and rng.random() < 0.3 else ""),
            "class": rng.choice(["2A", "2B", "1S", "Tle \"C\""]) if role == "student" else "",
            "lang": rng.choice(["fr", "en", ""]),
        })
    return rows


def csv_text(rows):
    cols = ["username", "name", "email", "role", "parent_email", "class", "lang"]

    def cell(v):
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\'') else v
    lines = [",".join(cols)] + [",".join(cell(r[c]) for c in cols) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def cat_dir(sb, path):
    """Every file of a directory: name -> text (one process)."""
    script = 'for f in "$1"/*; do [ -f "$f" ] && printf "\\n==> %s\\n" "${f##*/}" && cat "$f"; done; true'
    text = sb.cmd(["sh", "-c", script, "sh", path], check=True).stdout
    out = {}
    for part in text.split("\n==> ")[1:]:
        name, _, body = part.partition("\n")
        out[name] = body
    return out


def scan_states(sb):
    """Read straight from the sandbox's state directory after a kill: the
    accounts whose creation it interrupted (state "creating") and how many
    are done. A state file is never torn: it is replaced by rename."""
    d = sb.host_view(f"{STATE_DIR}/users")
    creating, done = set(), 0
    for name in os.listdir(d) if os.path.isdir(d) else []:
        if name.startswith("."):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            text = f.read()
        try:
            st = parse_state(text)
        except AssertionError as e:
            raise AssertionError(f"state of {name} is torn after a kill: {e} {replay()}")
        if st.get("delivery") == "creating":
            creating.add(name)
        else:
            done += 1
    return creating, done


def entries(text):
    out = {}
    for line in text.splitlines():
        if line:
            out.setdefault(line.split(":")[0], []).append(line.split(":"))
    return out


def check_accounts(sb, rows, base_passwd, mode):
    """Every roster person has exactly one complete account; returns
    username -> (row, state)."""
    states_text = cat_dir(sb, f"{STATE_DIR}/users")
    states = {}
    for user, text in states_text.items():
        try:
            states[user] = parse_state(text)
        except AssertionError as e:
            raise AssertionError(f"state of {user} is torn or corrupt: {e} {replay()}")
    by_email = {}
    for user, st in states.items():
        by_email.setdefault(st.get("email"), []).append(user)
    accounts = {}
    for r in rows:
        users = by_email.get(r["email"], [])
        assert len(users) == 1, (f"{r['email']} ({r['name']}) has {len(users)} accounts: "
                                 f"{users} {replay()}")
        user = users[0]
        if r["username"]:
            assert user == r["username"], f"{r['email']}: account {user} {replay()}"
        st = states[user]
        assert st["role"] == r["role"] and st.get("name") == r["name"], (user, st)
        assert st.get("parent_email", "") == r["parent_email"], (user, st)
        want = {"debug": {"printed"}, "production": {"queued", "sent"}}[mode]
        assert st.get("delivery") in want, (
            f"{user}: delivery={st.get('delivery')} at the end {replay()}")
        accounts[user] = (r, st)
    extra = set(states) - set(accounts)
    assert not extra, f"state files of no roster person: {sorted(extra)[:10]} {replay()}"

    files = {f: entries(sb.read(f"/etc/{f}"))
             for f in ("passwd", "shadow", "group", "gshadow", "subuid", "subgid")}
    new_users = set(files["passwd"]) - set(base_passwd)
    assert new_users == set(accounts), (
        f"accounts without a roster person: {sorted(new_users - set(accounts))[:10]}, "
        f"roster persons without an account: {sorted(set(accounts) - new_users)[:10]} "
        f"{replay()}")
    uids = [e[0][2] for e in files["passwd"].values()]
    assert len(uids) == len(set(uids)), f"a uid is used twice {replay()}"
    for user in accounts:
        for f in files:
            n = len(files[f].get(user, []))
            assert n == 1, f"{user} has {n} entries in /etc/{f} {replay()}"
        pw = files["passwd"][user][0]
        assert files["group"][user][0][2] == pw[3], f"{user}: private group's gid {replay()}"
        assert pw[5] == f"/home/{user}", pw
        assert files["shadow"][user][0][1].startswith("$y$"), f"{user}: no password set"
    for group, role in (("students", "student"), ("teachers", "teacher")):
        for f in ("group", "gshadow"):
            (g,) = files[f][group]
            members = [m for m in g[3].split(",") if m]
            assert len(members) == len(set(members)), f"{group}: a member twice in /etc/{f}"
            want = sorted(u for u, (r, _) in accounts.items() if r["role"] == role)
            assert sorted(members) == want, f"/etc/{f} {group}: members differ {replay()}"

    # homes: the skeleton, whole (a copy cut by the kill must not stay),
    # owned by the account
    listing = sb.cmd(["sh", "-c", "cd /etc/skel && find . -type f -exec md5sum {} +; echo ==; "
                      "cd /home && find . -mindepth 1 -printf '%p %U %G %m %y\\n'; echo ==; "
                      "find . -type f -exec md5sum {} +"], check=True).stdout
    skel_sums, tree, home_sums = listing.split("==\n")
    skel = {line.split()[1][2:]: line.split()[0] for line in skel_sums.splitlines()}
    homes = {}
    for line in tree.splitlines():
        path, uid, gid, perm, kind = line.rsplit(" ", 4)
        homes[path[2:]] = (uid, gid, perm, kind)
    sums = {line.split()[1][2:]: line.split()[0] for line in home_sums.splitlines()}
    top = {p for p in homes if "/" not in p}
    assert top == set(accounts), f"homes differ from accounts: {sorted(top ^ set(accounts))[:10]}"
    home_mode = expected_home_mode(sb)
    for user in accounts:
        pw = files["passwd"][user][0]
        assert homes[user] == (pw[2], pw[3], home_mode, "d"), f"{user}: home {homes[user]}"
        for name, digest in skel.items():
            p = f"{user}/{name}"
            assert p in homes and homes[p][:2] == (pw[2], pw[3]), f"{p}: {homes.get(p)} {replay()}"
            assert sums.get(p) == digest, f"{p} differs from /etc/skel/{name} (torn copy?) {replay()}"
    return accounts, files


def expected_home_mode(sb):
    """useradd's: HOME_MODE, else 0777 & ~UMASK (login.defs)."""
    defs = {}
    for line in sb.read("/etc/login.defs").splitlines():
        f = line.split()
        if len(f) >= 2 and not f[0].startswith("#"):
            defs[f[0]] = f[1]
    if "HOME_MODE" in defs:
        return "%o" % int(defs["HOME_MODE"], 8)
    return "%o" % (0o777 & ~int(defs.get("UMASK", "022"), 8))


def mailed_password(msg):
    text = msg.get_body(("plain",)).get_content()
    m = re.search(r"(?:Mot de passe provisoire|Temporary password) ?: +(\S+)", text)
    assert m, text
    return m.group(1)


class DoneStates:
    """Counts the accounts complete (state past "creating") in a sandbox,
    reading only the state files not yet seen complete."""

    def __init__(self, sb):
        self.dir = sb.host_view(f"{STATE_DIR}/users")
        self.done = set()

    def count(self):
        try:
            names = os.listdir(self.dir)
        except OSError:
            return 0
        for name in names:
            if name.startswith(".") or name in self.done:
                continue
            try:
                with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                    if "\ndelivery=creating\n" not in f.read():
                        self.done.add(name)
            except OSError:
                pass
        return len(self.done)


def measure(roster_text, mode, srv):
    """An uninterrupted import in a scratch sandbox (then `queue run`, which
    has nothing left to send): its length, how it progressed (samples of
    accounts complete and mails delivered), and the start-up cost of a run
    that has nothing left to do."""
    with new_sandbox() as sb:
        write_config(sb, mode, srv if mode == "production" else None)
        path = sb.private("roster.csv")
        sb.write(path, roster_text)
        with srv.lock:
            n0 = len(srv.messages)
        states = DoneStates(sb)
        run = Run(sb, [ESCHOOL, "--json", "-q", "import", path])
        samples = []
        while run.alive():
            with srv.lock:
                sent = len(srv.messages) - n0
            samples.append((time.monotonic() - run.t0, states.count(), sent))
            time.sleep(0.02)
        assert run.wait() == 0, run.stderr()[-3000:]
        duration = run.elapsed
        run.close()
        with srv.lock:
            sent = len(srv.messages) - n0
        samples.append((duration, states.count(), sent))
        t = time.monotonic()
        p = sb.eschool("--json", "-q", "import", path)
        startup = time.monotonic() - t
        assert p.returncode == 0 and p.stdout == "", p.stderr
        if mode == "production":
            assert sb.eschool("queue", "run").returncode == 0
    return duration, samples, startup


_measured = {}  # mode -> measure(): the variants import the same roster


class PathUnit:
    """What eschool-queue.path does in production: a `queue run` started
    again and again while the import runs (never killed here: the kills
    are the import's), so that the mails an import queues may go out
    before that import has recorded them."""

    def __init__(self, sb):
        self.sb = sb
        self.runs = 0
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop.is_set():
            run = Run(self.sb, [ESCHOOL, "-q", "queue", "run"])
            try:
                rc = run.wait()
            except AssertionError as e:  # it hangs
                self.errors.append(str(e))
                return
            if rc not in (0, 75):
                self.errors.append(f"queue run exited {rc}: {run.stderr()[-2000:]}")
            run.close()
            self.runs += 1
            self.stop.wait(0.02)

    def close(self):
        self.stop.set()
        self.thread.join()
        assert not self.errors, f"{self.errors[:3]} {replay()}"


def etc_leftovers(sb):
    """What killed writers of the account files left in /etc: FILE+ (staged),
    FILE.PID (a lock being taken), FILE.lock (a lock held)."""
    names = sb.listdir("/etc") or []
    return sorted(n for n in names
                  if re.fullmatch(r"(passwd|shadow|group|gshadow|subuid|subgid)(\+|\.\d+|\.lock)", n))


@pytest.mark.parametrize("variant", ["debug", "production", "production-path-unit"])
def test_import_survives_kill_9(variant, srv, request):
    t_start = time.monotonic()
    mode = "debug" if variant == "debug" else "production"
    prod = mode == "production"
    rng = rng_for(request.node.name)
    rows = make_roster(rng_for("roster"), ROWS)  # the same for every variant
    text = csv_text(rows)
    if mode not in _measured:
        _measured[mode] = measure(text, mode, srv)
    duration, samples, startup = _measured[mode]
    # the job: accounts complete, then (production) mails delivered; with
    # the path unit, mails go out alongside: accounts only
    with_mails = variant == "production"
    end = duration if variant != "production-path-unit" else next(
        (t for t, rows_done, _ in samples if rows_done == len(rows)), duration)
    timeline = Timeline([(t, rows_done + (sent if with_mails else 0))
                         for t, rows_done, sent in samples], end)
    moments = timeline.moments(rng, KILLS)
    first_done = next((t for t, rows_done, _ in samples if rows_done > 0), duration)

    with new_sandbox() as sb:
        write_config(sb, mode, srv if prod else None)
        base_passwd = entries(sb.read("/etc/passwd"))
        path = sb.private("roster.csv")
        sb.write(path, text)
        with srv.lock:
            msg0, conn0 = len(srv.messages), len(srv.connections)
        printed = {}    # username -> passwords shown, in order
        kills = {"import": 0, "queue run": 0}
        exited = 0
        interrupted = set()  # accounts caught half made by a kill
        import_done = False
        units = 0
        unit = PathUnit(sb) if variant == "production-path-unit" else None

        def collect(run):
            out = run.stdout()
            lines = out.split("\n")
            for line in lines[:-1]:  # a line cut by the kill has no newline
                obj = json.loads(line)
                if "password" in obj:
                    printed.setdefault(obj["username"], []).append(obj["password"])
            assert lines[-1] == "" or run.killed, f"unterminated output line: {lines[-1]!r}"

        try:
            while moments:
                # production: the import hands what it could not send to `queue run`
                what = "queue run" if import_done else "import"
                argv = [ESCHOOL, "-q", "queue", "run"] if import_done else \
                    [ESCHOOL, "--json", "-q", "import", path]
                run = Run(sb, argv)
                run.wait_exec()
                # the work kept so far: where this run starts on the timeline
                start = timeline.position(units)
                sleep_until(run.t0 + startup + max(moments[0] - start, 0))
                if run.kill():
                    kills[what] += 1
                    moments.pop(0)
                else:  # the moment is the next command's
                    exited += 1
                    rc = run.wait()
                    # 75: a path unit's `queue run` was delivering
                    assert rc == 0 or (rc == 75 and what == "queue run" and unit), (
                        f"{argv} exited {rc} after the kills {replay()}\n"
                        f"{run.stderr()[-3000:]}")
                    import_done |= what == "import"
                collect(run)
                run.close()
                creating, rows_done = scan_states(sb)
                interrupted |= creating
                units = rows_done
                if with_mails:
                    with srv.lock:
                        units += len({str(m["Message-ID"]) for _, m in srv.messages[msg0:]})
                if import_done and (not prod or unit or
                                    (not run.killed and what == "queue run")):
                    break  # everything is done: nothing left to kill
        finally:
            if unit:
                unit.close()

        # to the end without kills: the import completes what was cut ...
        run = Run(sb, [ESCHOOL, "--json", "-q", "import", path])
        assert run.wait() == 0, f"final import: {run.stderr()[-3000:]} {replay()}"
        collect(run)
        run.close()
        # ... and then has nothing left to do
        p = sb.eschool("--json", "import", path)
        assert p.returncode == 0 and p.stdout == "", p.stdout + p.stderr
        assert f"0 account(s) created, 0 completed, {len(rows)} already done" in p.stderr, p.stderr
        if prod:
            # the timer's run, two hours later: it also sweeps the temp
            # files of killed writers (an hour old)
            run = Run(sb, [ESCHOOL, "-q", "queue", "run"], env=faketime_env(2 * 3600))
            assert run.wait() == 0, f"queue run: {run.stderr()[-3000:]} {replay()}"
            run.close()
            assert queue_listing(sb) == [], f"mails left in the queue {replay()}"

        accounts, files = check_accounts(sb, rows, base_passwd, mode)
        shadow = {u: e[0][1] for u, e in files["shadow"].items()}
        assert interrupted <= set(accounts), sorted(interrupted - set(accounts))[:10]
        checked = 0
        dups = mails = 0
        if not prod:
            missing = [u for u in accounts if u not in printed]
            assert not missing, f"no password was ever printed for {missing[:10]} {replay()}"
            extra = set(printed) - set(accounts)
            assert not extra, f"passwords printed for no account: {sorted(extra)[:10]}"
            sample = interrupted | set(rng.sample(sorted(accounts),
                                                  min(CHECK_SAMPLE, len(accounts))))
            wrong = wrong_passwords({u: (shadow[u], printed[u][-1]) for u in sample})
            assert not wrong, (f"the last password printed does not open {wrong[:10]} "
                               f"{replay()}")
            checked = len(sample)
        else:
            assert not printed, f"passwords shown in production: {sorted(printed)[:10]}"
            wait_connections_ended(srv, conn0)
            items = deliveries(srv, msg0, conn0)
            dups = check_duplicates(items)
            welcome, notices = {}, {}
            for mid, rcpt, msg, conn, pos in items:
                kind = msg["X-Eschool-Kind"]
                if kind.startswith("welcome-"):
                    welcome.setdefault(rcpt, {})[mid] = msg
                elif kind == "parent-notice":
                    notices.setdefault(rcpt, {})[mid] = msg
                else:
                    raise AssertionError(f"unexpected mail {kind} to {rcpt} {replay()}")
            emails = {r["email"]: u for u, (r, st) in accounts.items()}
            assert set(welcome) == set(emails), (
                f"welcome mails: missing for {sorted(set(emails) - set(welcome))[:10]}, "
                f"to no account: {sorted(set(welcome) - set(emails))[:10]} {replay()}")
            twice = {a: len(m) for a, m in welcome.items() if len(m) != 1}
            assert not twice, f"accounts with several welcome mails: {twice} {replay()}"
            parents = {r["parent_email"] for r, st in accounts.values()
                       if r["parent_email"] and r["role"] == "student"}
            assert set(notices) == parents, (
                f"parent notices: missing {sorted(parents - set(notices))[:10]}, "
                f"extra {sorted(set(notices) - parents)[:10]} {replay()}")
            twice = {a: len(m) for a, m in notices.items() if len(m) != 1}
            assert not twice, f"parents told several times: {twice} {replay()}"
            sample = {accounts[u][0]["email"] for u in interrupted}
            sample |= set(rng.sample(sorted(emails), min(CHECK_SAMPLE, len(emails))))
            checks = {}
            for addr in sorted(sample):
                u = emails[addr]
                (msg,) = welcome[addr].values()
                want = f"welcome-{accounts[u][0]['role']}"
                assert msg["X-Eschool-Kind"] == want, (u, msg["X-Eschool-Kind"])
                assert u in msg.get_body(("plain",)).get_content()
                checks[u] = (shadow[u], mailed_password(msg))
            wrong = wrong_passwords(checks)
            assert not wrong, f"the mailed password does not open {wrong[:10]} {replay()}"
            checked = len(checks)
            mails = len(items)
        left = spool_leftovers(sb) if prod else {"tmp": [], "sent": []}
        assert left == {"tmp": [], "sent": []}, f"left in the spool: {left} {replay()}"
        state_tmp = [n for n in (sb.listdir(f"{STATE_DIR}/users") or []) if n.startswith(".")]
        etc_left = etc_leftovers(sb)

    wall = time.monotonic() - t_start
    record(f"import {variant}: {sum(kills.values())} kills ({kills['import']} in import, "
           f"{kills['queue run']} in queue run; {exited} runs ended by themselves"
           + (f"; {unit.runs} path-unit queue runs alongside" if unit else "")
           + f"), {len(rows)} rows, {len(accounts)} accounts checked "
           f"(passwd/shadow/group/gshadow/subuid/subgid/home/state), {checked} passwords "
           f"checked ({len(interrupted)} accounts caught half made by a kill, all checked)"
           + (f", {mails} mails received, {dups} duplicates in the window" if prod else "")
           + f"; uninterrupted import {duration:.1f} s (first account complete at "
           f"{first_done:.1f} s); left by killed writers: {len(state_tmp)} state temp "
           f"files, /etc {etc_left or 'nothing'}; wall {wall:.1f} s")
    assert sum(kills.values()) > 0 or KILLS == 0, f"no run was killed {replay()}"
