"""kill -9 at random moments during `eschool queue run`, against a server
that answers 451 to 10 % of the messages at random; after each kill the
queue is run again (one runner, or four started at once, one of them killed
at random), then to the end without kills. In the end every message is
delivered, and a message arrives twice only in the window SMTP cannot close
(RFC 1047): its first copy was the last message the server accepted on a
connection that ended without QUIT, i.e. the runner died between the
server's 250 and its rename out of new/.

The queue is filled with bench/qfill (the queue's own writer, es_queue_add).
Deferred messages (451) come due without waiting: each run sees the clock a
little further ahead (libfaketime preloaded into eschool itself), 10 minutes
per run during the kills, then 5 hours per run (more than the longest
backoff, 4 h) until the queue is empty, well within the 5 days' lifetime."""
import os
import subprocess
import time

import pytest

from conftest import (BUILD, ESCHOOL, KILLS, MAILS, SPOOL, TOP, Run, check_duplicates,
                      deliveries, faketime_env, new_sandbox, queue_listing, Timeline,
                      record, replay, rng_for, sleep_until, spool_leftovers,
                      wait_connections_ended, write_config)

FAIL_RATE = 0.10
MSG_SIZE = 4000
STEP = 600             # clock moved per killed run (s)
FINAL_STEP = 5 * 3600  # per run to the end: beyond the longest backoff
FINAL_ROUNDS = 15
BUSY = "another 'eschool queue run' is delivering"


@pytest.fixture(scope="module")
def qfill(tmp_path_factory):
    """bench/qfill built against this build's libeschool.a."""
    out = str(tmp_path_factory.mktemp("qfill") / "qfill")
    os.chmod(os.path.dirname(out), 0o755)
    libs = subprocess.run(["pkg-config", "--libs", "libsodium", "inih", "libcrypt", "libcurl"],
                          capture_output=True, text=True, check=True).stdout.split()
    cmd = ["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-I" + os.path.join(TOP, "lib"),
           os.path.join(TOP, "bench", "qfill.c"), os.path.join(BUILD, "libeschool.a"),
           *libs, "-lm", "-lpthread", "-o", out]
    cc = subprocess.run(cmd, capture_output=True, text=True)
    if cc.returncode != 0:  # a library built with SANITIZE=1 needs its runtime
        cc = subprocess.run(cmd + ["-fsanitize=address,undefined"], capture_output=True,
                            text=True)
    assert cc.returncode == 0, cc.stderr[-3000:]
    return out


def fill(sb, qfill, n):
    p = sb.cmd([qfill, SPOOL, str(n), str(MSG_SIZE)],
               env={"ASAN_OPTIONS": "detect_leaks=0"})
    assert p.returncode == 0, p.stderr
    listing = queue_listing(sb)
    assert len(listing) == n
    return {m["to"]: m["id"] for m in listing}


def start(sb, runners, offset):
    runs = [Run(sb, [ESCHOOL, "-q", "queue", "run"], env=faketime_env(offset))
            for _ in range(runners)]
    for r in runs:
        r.wait_exec()
    return runs


def settle(runs):
    """Waits for every runner; each one that was not killed delivered
    (0), left deferred messages (75), or found another runner holding the
    queue (75, and says so). Returns how many found another runner."""
    busy = 0
    for r in runs:
        rc = r.wait()
        if r.killed:
            continue
        err = r.stderr()
        assert rc in (0, 75), f"queue run exited {rc} {replay()}\n{err[-3000:]}"
        assert "corrupt" not in err and "cannot" not in err, f"{err[-3000:]} {replay()}"
        busy += BUSY in err
    for r in runs:
        r.close()
    return busy


def measure(qfill, srv, seed, runners):
    """One uninterrupted run over a full queue (with the 451s) in a scratch
    sandbox: its length, how it progressed (samples of messages delivered),
    and the cost of a run that has nothing due."""
    with new_sandbox() as sb:
        write_config(sb, "production", srv)
        fill(sb, qfill, MAILS)
        srv.set_data_fail_rate(FAIL_RATE, seed)
        try:
            with srv.lock:
                n0 = len(srv.messages)
            runs = start(sb, runners, 0)
            samples = []
            while any(r.alive() for r in runs):
                with srv.lock:
                    samples.append((time.monotonic() - runs[0].t0, len(srv.messages) - n0))
                time.sleep(0.005)
            settle(runs)
            duration = max(r.elapsed for r in runs)
            with srv.lock:
                samples.append((duration, len(srv.messages) - n0))
            t = time.monotonic()
            settle(start(sb, 1, 0))  # the deferred ones are not due yet
            startup = time.monotonic() - t
        finally:
            srv.set_data_fail_rate(0)
    return duration, samples, startup


@pytest.mark.parametrize("runners", [1, 4])
def test_queue_run_survives_kill_9(runners, qfill, srv, request):
    t_start = time.monotonic()
    rng = rng_for(request.node.name)
    duration, samples, startup = measure(qfill, srv, rng.randrange(1 << 32), runners)
    timeline = Timeline(samples, duration)
    moments = timeline.moments(rng, KILLS)

    with new_sandbox() as sb:
        write_config(sb, "production", srv)
        expected = fill(sb, qfill, MAILS)
        with srv.lock:
            msg0, conn0 = len(srv.messages), len(srv.connections)
        srv.set_data_fail_rate(FAIL_RATE, rng.randrange(1 << 32))
        kills = finished = busy = 0
        offset = 0
        try:
            delivered = 0
            while moments:
                offset += STEP
                runs = start(sb, runners, offset)
                # the work done so far: where this round starts on the timeline
                start_at = timeline.position(delivered)
                # one of the runners still alive, at random, then (with 4:
                # the one holding the queue is not always the first to go)
                # at the next moment while one is left
                while moments:
                    sleep_until(runs[0].t0 + startup + max(moments[0] - start_at, 0))
                    alive = [r for r in runs if r.alive()]
                    if not alive:
                        finished += 1
                        break
                    moments.pop(0)
                    if rng.choice(alive).kill():
                        kills += 1
                    if not any(r.alive() for r in runs):
                        break
                busy += settle(runs)
                with srv.lock:
                    delivered = len({str(m["Message-ID"]) for _, m in srv.messages[msg0:]})
                if delivered == len(expected):
                    break  # nothing left to kill
            # to the end, without kills (at least one run: the one that
            # sweeps what the killed ones left, hours later)
            rounds = 0
            while rounds < FINAL_ROUNDS:
                rounds += 1
                offset += FINAL_STEP
                settle(start(sb, runners, offset))
                if not queue_listing(sb):
                    break
        finally:
            srv.set_data_fail_rate(0)

        left = spool_leftovers(sb)
        wait_connections_ended(srv, conn0)
        items = deliveries(srv, msg0, conn0)
        dups = check_duplicates(items)
        got = {}
        for mid, rcpt, msg, conn, pos in items:
            got.setdefault(rcpt, set()).add(mid)
        missing = sorted(set(expected) - set(got))
        assert not missing, f"{len(missing)} messages never delivered: {missing[:10]} {replay()}"
        unknown = sorted(set(got) - set(expected))
        assert not unknown, f"messages to no queued recipient: {unknown[:10]} {replay()}"
        several = {r: len(m) for r, m in got.items() if len(m) != 1}
        assert not several, f"recipients with several distinct messages: {several} {replay()}"
        still = queue_listing(sb)
        assert not still, (f"{len(still)} messages still queued after {rounds} runs without "
                           f"kills: {still[:3]} {replay()}")
        with srv.lock:
            conns = srv.connections[conn0:]
            cut = sum(1 for c in conns if c.cut)
        assert left["sent"] == [], f"delivered messages left in sent/: {left['sent'][:5]}"
        assert left["tmp"] == [], f"killed writers' temp files left in tmp/: {left['tmp'][:5]}"

    wall = time.monotonic() - t_start
    record(f"queue run x{runners}: {kills} kills ({finished} rounds ended before a kill), "
           + (f"{busy} runners found the queue held by another and left it, "
              if runners > 1 else "")
           + f"{len(expected)} mails, all delivered, {len(items)} received, {dups} duplicates "
           f"in the window, {len(conns)} connections ({cut} cut), {rounds} runs to the end; "
           f"uninterrupted run {duration:.1f} s; wall {wall:.1f} s")
    assert kills > 0 or KILLS == 0, f"no run was killed {replay()}"
