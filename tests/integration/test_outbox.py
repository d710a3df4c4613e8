"""The outbox under faults and limits, against the real SMTP server
(tests/smtpserver.py): quota per day with one alert and the rest the next
day (faketime), 550 telling the admin once, a connection dropped in the
middle of DATA, a stalled server, 421 at RCPT, two concurrent runs, kill -9
in the middle of a run, pacing, and the log lines (never a password)."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sandbox import ESCHOOL  # noqa: E402
from conftest import configure_mail  # noqa: E402
from test_queue_run import enqueue, listing  # noqa: E402

ADMIN = "it@school.example"
LOG = "/var/log/eschool.log"
FAKETIME_ENV = {"ASAN_OPTIONS": "verify_asan_link_order=0"}


def configure(sb, srv, general="", mail=""):
    """The test server's settings, plus extra [general] and [mail] lines."""
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    conf = sb.read("/etc/eschool/eschool.conf")
    conf = conf.replace("[general]\n", f"[general]\nadmin_email = {ADMIN}\nlog_file = {LOG}\n"
                        + general, 1)
    sb.write("/etc/eschool/eschool.conf", conf + mail)


def sent_to(srv, n0):
    return [env.rcpt_tos[0] for env, _ in srv.messages[n0:]]


def later(sb, offset, *args):
    return sb.cmd(["faketime", "-f", offset, ESCHOOL] + list(args), env=FAKETIME_ENV)


def test_daily_quota_alert_then_next_day(sandbox, srv):
    configure(sandbox, srv, mail="daily_quota = 5\n")
    n0 = len(srv.messages)
    users = [f"q{i}@school.example" for i in range(8)]
    for i, to in enumerate(users):
        enqueue(sandbox, to, "welcome-student", 0, created=int(time.time()) - 100 + i)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0, p.stderr
    assert "quota" in p.stderr
    got = sent_to(srv, n0)
    assert [t for t in got if t != ADMIN] == users[:5]
    alerts = [m for env, m in srv.messages[n0:] if env.rcpt_tos == [ADMIN]]
    assert len(alerts) == 1 and "quota" in alerts[0]["Subject"]
    assert "4/5" in alerts[0]["Subject"]  # at 80 %, the default
    st = json.loads(sandbox.eschool("--json", "queue", "status").stdout)
    assert st["sent_today"] == 5 and st["daily_quota"] == 5 and st["queued"] == 3
    # the same day: nothing more goes out, no second alert
    n1 = len(srv.messages)
    assert sandbox.eschool("queue", "run").returncode == 0
    assert len(srv.messages) == n1
    # the next day: the other three, still no alert (3 < 4)
    p = later(sandbox, "+1d", "queue", "run")
    assert p.returncode == 0, p.stderr
    assert sent_to(srv, n1) == users[5:]
    assert listing(sandbox) == []


def test_550_fails_and_tells_the_admin_once(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    ident = enqueue(sandbox, "nobody@school.example", "welcome-student", 0)
    srv.rcpt_replies.append("550 5.1.1 <nobody@school.example>: no such mailbox")
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 0, p.stderr
    notices = [m for env, m in srv.messages[n0:] if env.rcpt_tos == [ADMIN]]
    assert len(notices) == 1
    body = notices[0].get_body(preferencelist=("plain",)).get_content()
    assert "nobody@school.example" in body and ident in body and "550" in body
    (m,) = listing(sandbox)
    assert m["state"] == "failed"
    # later runs do not tell again
    n1 = len(srv.messages)
    assert later(sandbox, "+1h", "queue", "run").returncode == 0
    assert len(srv.messages) == n1
    log = sandbox.read(LOG)
    assert re.search(rf"{re.escape(ident)} to=<nobody@school.example> .*result=failed.*550", log)


def test_connection_dropped_in_data_is_retried_once(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    enqueue(sandbox, "drop@school.example", "reset", 0)
    srv.data_replies.append("DROP")
    assert sandbox.eschool("queue", "run").returncode == 75
    (m,) = listing(sandbox)
    assert m["state"] == "deferred"
    assert len(srv.messages) == n0
    assert later(sandbox, "+5m", "queue", "run").returncode == 0
    assert sent_to(srv, n0) == ["drop@school.example"]
    assert listing(sandbox) == []


def test_stalled_server_times_out_and_keeps_the_mail(sandbox, srv):
    configure(sandbox, srv, mail="timeout = 1\n")
    n0 = len(srv.messages)
    enqueue(sandbox, "stall@school.example", "reset", 0)
    srv.data_replies.append("STALL")
    p = sandbox.eschool("queue", "run", timeout=60)
    assert p.returncode == 75, p.stderr
    (m,) = listing(sandbox)
    assert m["state"] == "deferred" and m["attempts"] == 1
    assert later(sandbox, "+5m", "queue", "run").returncode == 0
    assert sent_to(srv, n0) == ["stall@school.example"]


def test_421_at_rcpt_is_deferred(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    enqueue(sandbox, "busy@school.example", "reset", 0)
    srv.rcpt_replies.append("421 4.7.0 try again later")
    assert sandbox.eschool("queue", "run").returncode == 75
    (m,) = listing(sandbox)
    assert m["state"] == "deferred" and "421" in m["last_error"]
    assert later(sandbox, "+5m", "queue", "run").returncode == 0
    assert sent_to(srv, n0) == ["busy@school.example"]


def test_two_concurrent_runs_send_each_mail_once(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    users = [f"c{i}@school.example" for i in range(30)]
    for to in users:
        enqueue(sandbox, to, "reset", 0)
    procs = [sandbox.popen([ESCHOOL, "queue", "run"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes[0] == 0 and codes[1] in (0, 75)
    assert sandbox.eschool("queue", "run").returncode == 0  # what a busy one left
    got = sent_to(srv, n0)
    assert sorted(got) == sorted(users)  # each exactly once


def test_kill_9_in_the_middle_loses_nothing(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    users = [f"k{i}@school.example" for i in range(3)]
    for i, to in enumerate(users):
        enqueue(sandbox, to, "reset", 0, created=int(time.time()) - 10 + i)
    srv.data_replies.extend([None, "STALL"])  # the second one hangs in DATA
    proc = sandbox.popen([ESCHOOL, "queue", "run"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while len(srv.messages) < n0 + 1 or srv.data_replies:
        assert time.monotonic() < deadline, "the run did not reach the second mail"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(listing(sandbox)) == 2
    assert sandbox.eschool("queue", "run").returncode == 0
    assert sorted(sent_to(srv, n0)) == sorted(users)


def test_rate_per_second_paces_sends(sandbox, srv):
    configure(sandbox, srv, mail="rate_per_second = 2\n")
    n0 = len(srv.messages)
    for i in range(3):
        enqueue(sandbox, f"r{i}@school.example", "reset", 0)
    t0 = time.monotonic()
    assert sandbox.eschool("queue", "run").returncode == 0
    # three sends at most 2 per second: at least two half-second gaps
    assert time.monotonic() - t0 >= 1.0
    assert len(sent_to(srv, n0)) == 3


def test_log_lines_name_the_outcome_never_the_password(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", "add", "lena", "--email", "lena@school.example",
                        "--name", "Léna Dupré")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["delivery"] == "sent"
    (_, mail), = srv.messages[n0:]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    password = re.search(r"(?m)^\s*(?:Mot de passe provisoire|Temporary password|Password)\s*:\s*(\S+)", text).group(1)
    log = sandbox.read(LOG)
    assert re.search(r"to=<lena@school\.example> kind=welcome-student result=sent "
                     r"reply=\"250 ", log)
    assert "account created: user=lena role=student delivery=sent" in log
    assert password not in log
    assert sandbox.stat(LOG)[0] == 0o600
    assert sandbox.eschool("disable", "lena").returncode == 0
    assert "account disabled: user=lena" in sandbox.read(LOG)


def test_syslog_mail_and_authpriv_facilities(sandbox, srv):
    configure(sandbox, srv)
    log = sandbox.syslog()
    try:
        p = sandbox.eschool("add", "tom", "--email", "tom@school.example")
        assert p.returncode == 0, p.stderr
        lines = []
        log.setblocking(False)
        while True:
            try:
                lines.append(log.recv(4096).decode())
            except BlockingIOError:
                break
    finally:
        log.close()
    # <PRI>: facility * 8 + severity; mail = 2, authpriv = 10
    delivery = [l for l in lines if "to=<tom@school.example>" in l]
    account = [l for l in lines if "account created: user=tom" in l]
    assert len(delivery) == 1 and len(account) == 1, lines
    assert int(re.match(r"<(\d+)>", delivery[0]).group(1)) // 8 == 2
    assert int(re.match(r"<(\d+)>", account[0]).group(1)) // 8 == 10
    assert "eschool[" in delivery[0] and "result=sent" in delivery[0]


def _queued_then(sb, srv, n0, to):
    """The message is still queued (deferred), nothing reached the server;
    with the right settings a later run delivers it once."""
    (m,) = listing(sb)
    assert m["state"] == "deferred" and m["to"] == to
    configure(sb, srv)
    assert later(sb, "+5m", "queue", "run").returncode == 0
    assert sent_to(srv, n0) == [to]


def test_wrong_smtp_password_is_named_and_kept(sandbox, srv):
    configure_mail(sandbox, srv.port, srv.ca_file, mode="production", password="wrong")
    n0 = len(srv.messages)
    enqueue(sandbox, "pw@school.example", "reset", 0)
    p = sandbox.eschool("queue", "run")
    assert p.returncode == 75
    assert "login" in p.stderr + p.stdout and "535" in p.stderr + p.stdout
    assert "wrong" not in p.stderr + p.stdout
    _queued_then(sandbox, srv, n0, "pw@school.example")


def test_server_without_starttls_is_refused_and_kept(sandbox, srv, tmp_path):
    from smtpserver import SmtpServer
    d = os.path.dirname(srv.ca_file)
    plain = SmtpServer(str(tmp_path), starttls=False,
                       cert=(srv.ca_file, os.path.join(d, "server.crt"),
                             os.path.join(d, "server.key")))
    try:
        configure_mail(sandbox, plain.port, srv.ca_file, mode="production")
        n0 = len(srv.messages)
        enqueue(sandbox, "tls@school.example", "reset", 0)
        assert sandbox.eschool("queue", "run").returncode == 75
        assert plain.logins == [] and plain.messages == []  # nothing in clear
        (m,) = listing(sandbox)
        assert m["last_error"].startswith("tls")
        _queued_then(sandbox, srv, n0, "tls@school.example")
    finally:
        plain.stop()


def test_unknown_certificate_is_refused_and_kept(sandbox, srv):
    configure_mail(sandbox, srv.port, None, mode="production")  # system CAs only
    n0, l0 = len(srv.messages), len(srv.logins)
    enqueue(sandbox, "ca@school.example", "reset", 0)
    assert sandbox.eschool("queue", "run").returncode == 75
    assert len(srv.logins) == l0  # the password never went to that server
    _queued_then(sandbox, srv, n0, "ca@school.example")


def test_welcome_mail_structure(sandbox, srv):
    configure(sandbox, srv, general="contact = Bureau B12 <it> & co\n")
    n0 = len(srv.messages)
    p = sandbox.eschool("--json", "add", "elo", "--email", "elo@school.example",
                        "--name", 'Élodie "Lou" <Dupré> & Æsa', "--class", "2nde <B>")
    assert p.returncode == 0, p.stderr
    (env, msg), = srv.messages[n0:]
    assert env.mail_from == "noreply@school.example" and env.rcpt_tos == ["elo@school.example"]
    for h in ("Date", "Message-ID", "MIME-Version", "From", "To", "Subject"):
        assert msg[h], h
    assert msg["MIME-Version"] == "1.0"
    assert msg["To"].addresses[0].display_name == 'Élodie "Lou" <Dupré> & Æsa'
    assert msg["From"].addresses[0].display_name == "Lycée Exemple"
    raw = srv.messages[n0][0].content
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 128 for b in head)  # non-ASCII headers are RFC 2047 encoded
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert 'Élodie "Lou" <Dupré> & Æsa' in text  # text is not escaped
    assert "&lt;Dupré&gt; &amp; Æsa" in html and "<Dupré>" not in html
    assert "2nde &lt;B&gt;" in html
    assert "Bureau B12 &lt;it&gt; &amp; co" in html  # the footer's contact
    assert re.search(r'<a [^>]*href=|class="button"|role="button"', html)  # call to action
    assert '<meta name="viewport"' in html  # responsive
    pw = re.search(r"(?:Mot de passe provisoire|Temporary password) ?: +(\S+)", text).group(1)
    assert pw in html
    from conftest import password_ok
    assert password_ok(sandbox, "elo", pw)


def test_4xx_at_rcpt_or_data_is_retried_later(sandbox, srv):
    configure(sandbox, srv)
    n0 = len(srv.messages)
    cases = [("rcpt_replies", "451 4.7.1 greylisted"), ("data_replies", "421 4.3.2 shutting down")]
    for i, (where, reply) in enumerate(cases):
        to = f"t{i}@school.example"
        enqueue(sandbox, to, "reset", 0)
        getattr(srv, where).append(reply)
        assert sandbox.eschool("queue", "run").returncode == 75
        (m,) = listing(sandbox)
        assert m["state"] == "deferred" and reply[:3] in m["last_error"], m
        assert later(sandbox, "+5m", "queue", "run").returncode == 0
        assert sent_to(srv, n0) == [f"t{k}@school.example" for k in range(i + 1)]
        assert listing(sandbox) == []


def test_a_school_template_overrides_the_shipped_one(sandbox, srv):
    configure(sandbox, srv)
    sandbox.write("/etc/eschool/templates/fr/welcome-student.txt",
                  "Subject: Bienvenue au labo, {{name}}\n\nIdentifiant : {{username}}\n"
                  "Mot de passe provisoire : {{password}}\n")
    n0 = len(srv.messages)
    p = sandbox.eschool("add", "ines", "--email", "ines@school.example", "--name", "Inès")
    assert p.returncode == 0, p.stderr
    (_, msg), = srv.messages[n0:]
    assert msg["Subject"] == "Bienvenue au labo, Inès"
    text = msg.get_body(("plain",)).get_content()
    pw = re.search(r"Mot de passe provisoire : (\S+)", text).group(1)
    from conftest import password_ok
    assert password_ok(sandbox, "ines", pw)


def test_a_fifo_as_logo_neither_hangs_nor_stops_the_mail(sandbox, srv):
    # open() without O_NONBLOCK waits for a writer for ever; a broken logo
    # costs the picture only: one warning, the credentials still go out
    configure(sandbox, srv, general="logo = /etc/eschool/logo.png\n")
    sandbox.cmd(["mkfifo", "-m", "600", "/etc/eschool/logo.png"], check=True)
    n0 = len(srv.messages)
    # timeout(1) inside: the old code blocked in open() for ever
    p = sandbox.cmd(["timeout", "20", ESCHOOL, "add", "fifi", "--email", "fifi@school.example",
                     "--parent-email", "parent@school.example"])
    assert p.returncode == 0, p.stderr
    # two mails, one warning
    assert p.stderr.count("/etc/eschool/logo.png is not a regular file") == 1, p.stderr
    assert len(srv.messages) == n0 + 2
    for _, msg in srv.messages[n0:]:
        assert not [m for m in msg.walk() if m.get_content_type() == "image/png"]
        assert "cid:logo" not in msg.get_body(("html",)).get_content()
    # a symbolic link is followed (a school may point it at a shared copy),
    # and what it reaches is checked the same way: a link to a FIFO
    sandbox.cmd(["rm", "/etc/eschool/logo.png"], check=True)
    sandbox.cmd(["mkfifo", "/etc/eschool/pipe"], check=True)
    sandbox.cmd(["ln", "-s", "/etc/eschool/pipe", "/etc/eschool/logo.png"], check=True)
    p = sandbox.cmd(["timeout", "20", ESCHOOL, "add", "lien", "--email", "lien@school.example"])
    assert p.returncode == 0 and "is not a regular file" in p.stderr, p.stderr
    assert len(srv.messages) == n0 + 3
