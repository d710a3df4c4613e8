"""kill -9 at random moments during `eschool sync` of a second-year roster
with `[import] class_groups = yes`, the same sync run again after each
kill, then once to the end. Then, whatever the kills interrupted:
- every pupil of the new roster has exactly one account, of their class
  now, in their class's group and in no other class's;
- the pupils who changed class kept their account (same uid);
- those who left are disabled, still in their old class's group;
- the class groups are exactly one per class that has accounts: none left
  behind by a killed run, none numbered twice (c-6a and c-6a-2);
- no state keeps a class group claim (a move recorded half way);
- a further sync changes nothing.

The year-one import is not killed (test_import_crash covers it). Kill
moments are drawn uniformly over an uninterrupted sync measured first in a
scratch sandbox, the first in its first half."""
import os
import time

from conftest import (ESCHOOL, KILLS, ROWS, Run, Timeline, new_sandbox, parse_state, record,
                      replay, rng_for, sleep_until)

CONF = ("[general]\nmode = debug\nschool_name = Lycée Exemple\n"
        "[import]\nclass_groups = yes\n")
CLASSES = ["6ème A", "6ème B", "5ème A", "5ème B", "4ème A"]
GROUP = {"6ème A": "c-6a", "6ème B": "c-6b", "5ème A": "c-5a", "5ème B": "c-5b",
         "4ème A": "c-4a", "3ème C": "c-3c"}


def rosters(rng, n):
    """Year one (n pupils; one in eight without an address) and year two:
    a tenth left, a third moved up a class (some into the new 3ème C), a
    tenth new."""
    year1 = []
    for i in range(n):
        email = "" if i % 8 == 0 else f"p{i:04d}@school.example"
        year1.append([f"NOM{i:04d}", "Élève", rng.choice(CLASSES), email])
    left = set(rng.sample(range(n), n // 10))
    moved = set(rng.sample(sorted(set(range(n)) - left), n // 3))
    year2 = []
    for i, (last, first, klass, email) in enumerate(year1):
        if i in left:
            continue
        if i in moved:
            klass = rng.choice([c for c in CLASSES + ["3ème C"] if c != klass])
        year2.append([last, first, klass, email])
    for i in range(n, n + n // 10):
        email = "" if i % 8 == 0 else f"p{i:04d}@school.example"
        year2.append([f"NOM{i:04d}", "Élève", rng.choice(CLASSES), email])
    return year1, year2, {year1[i][0] for i in left}, {year1[i][0] for i in moved}


def text(rows):
    return "Nom;Prénom;Classe;Email\n" + "".join(";".join(r) + "\n" for r in rows)


def prepared(sb, year1, year2):
    sb.write("/etc/eschool/eschool.conf", CONF)
    one, two = sb.private("y1.csv"), sb.private("y2.csv")
    sb.write(one, text(year1))
    sb.write(two, text(year2))
    p = sb.eschool("-q", "import", one)
    assert p.returncode == 0, p.stderr
    return two


def accounts(sb):
    """username -> (state, uid) of every account eschool keeps."""
    d = sb.host_view("/var/lib/eschool/users")
    uids = {f[0]: int(f[2]) for f in (l.split(":") for l in sb.read("/etc/passwd").splitlines())}
    out = {}
    for name in os.listdir(d):
        if name.startswith("."):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            out[name] = (parse_state(f.read()), uids.get(name))
    return out


def class_groups(sb):
    """c-* group -> its members."""
    out = {}
    for line in sb.read("/etc/group").splitlines():
        f = line.split(":")
        if f[0].startswith("c-"):
            out[f[0]] = sorted(m for m in f[3].split(",") if m)
    return out


def by_surname(accts):
    out = {}
    for user, (st, uid) in accts.items():
        surname = st["name"].split()[-1].upper()
        assert surname not in out, f"two accounts for {surname}: {out[surname]}, {user} {replay()}"
        out[surname] = user
    return out


def test_sync_survives_kill_9():
    rng = rng_for("sync")
    n = max(40, ROWS // 5)
    year1, year2, left, moved = rosters(rng, n)
    # the uninterrupted sync, measured
    with new_sandbox() as sb:
        path = prepared(sb, year1, year2)
        run = Run(sb, [ESCHOOL, "-q", "sync", path])
        assert run.wait() == 0, run.stderr()[-3000:]
        duration = run.elapsed
        run.close()
        # a run with nothing left to do: what each run spends before its work
        run = Run(sb, [ESCHOOL, "-q", "sync", path])
        assert run.wait() == 0, run.stderr()[-3000:]
        startup = run.elapsed
        run.close()
    moments = Timeline([(duration, 1)], duration).moments(rng, KILLS)
    with new_sandbox() as sb:
        path = prepared(sb, year1, year2)
        before = accounts(sb)
        first_uid = {st["name"].split()[-1].upper(): uid for st, uid in before.values()}
        killed, at = 0, 0.0
        for m in moments:
            # the work a killed run did is kept: the next kill lands that
            # much further into the sync (after the next run's start-up)
            run = Run(sb, [ESCHOOL, "-q", "sync", path])
            run.wait_exec()
            sleep_until(run.t0 + min(startup, m) + max(0.0, m - at))
            at = m
            killed += run.kill()
            run.wait()
            run.close()
        p = sb.eschool("-q", "sync", path)
        assert p.returncode == 0, f"{p.stderr[-3000:]} {replay()}"
        assert killed > 0 or KILLS == 0, f"no run was killed {replay()}"

        accts = accounts(sb)
        who = by_surname(accts)
        groups = class_groups(sb)
        want_groups = {}
        for last, _, klass, _ in year2:
            user = who.get(last)
            assert user is not None, f"{last} has no account {replay()}"
            st, uid = accts[user]
            assert st["class"] == klass and st.get("class_group") == GROUP[klass], (user, st)
            assert st["disabled"] == "0", (user, st)
            if last in first_uid:
                assert uid == first_uid[last], f"{user} was made again {replay()}"
            want_groups.setdefault(GROUP[klass], []).append(user)
        for last in left:
            st, _ = accts[who[last]]
            assert st["disabled"] == "1", (last, st)
            want_groups.setdefault(GROUP[st["class"]], []).append(who[last])
        assert len(accts) == len(year2) + len(left), replay()
        assert {g: sorted(m) for g, m in want_groups.items()} == groups, (
            f"class groups out of step {replay()}")
        assert not [u for u, (st, _) in accts.items() if "class_group_claim" in st], replay()
        snap = sb.snapshot()
        p = sb.eschool("sync", path)
        assert p.returncode == 0 and "0 updated, 0 disabled" in p.stdout, p.stdout + p.stderr
        assert sb.snapshot() == snap
    record(f"sync with class groups: {n} pupils ({len(moved)} moved, {len(left)} left, "
           f"{n // 10} new), {killed} of {len(moments)} kills hit, uninterrupted run "
           f"{duration:.2f} s: consistent")
