"""eschool check-dns against a real DNS server on loopback: dnsmasq on a
port of its own with --txt-record entries (no upstream: the .example zone
is local, so other names are NXDOMAIN), a UDP socket that never answers
for the timeout, and tests/dnsserver.py for answers larger than a UDP
reply (truncated over UDP, whole over TCP)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dnsserver import DnsServer  # noqa: E402
from sandbox import ESCHOOL  # noqa: E402

KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 300 + "IDAQAB"
GOOGLE = "v=spf1 include:_spf.google.com ~all"
DMARC = "v=DMARC1; p=quarantine; rua=mailto:it@school.example"
RECORDS = [
    ("good.example", GOOGLE), ("_dmarc.good.example", DMARC),
    ("google._domainkey.good.example", f"v=DKIM1; k=rsa; p={KEY}"),
    # SPF problems, each with good DMARC and DKIM
    ("nospf.example", "google-site-verification=abc"),
    ("twospf.example", GOOGLE), ("twospf.example", "v=spf1 mx -all"),
    ("noinclude.example", "v=spf1 mx ~all"),
    ("plusall.example", "v=spf1 include:_spf.google.com +all"),
    # DMARC problems
    ("nodmarc.example", GOOGLE),
    ("baddmarc.example", GOOGLE), ("_dmarc.baddmarc.example", "v=DMARC1; p=maybe"),
    ("nonedmarc.example", GOOGLE), ("_dmarc.nonedmarc.example", "v=DMARC1; p=none"),
    # DKIM under a selector of the school's own
    ("sel.example", GOOGLE), ("_dmarc.sel.example", DMARC),
    ("mail2026._domainkey.sel.example", f"v=DKIM1; p={KEY}"),
    ("revoked.example", GOOGLE), ("_dmarc.revoked.example", DMARC),
    ("google._domainkey.revoked.example", "v=DKIM1; p="),
    # the test SMTP setup's sending domain (provider custom: no include needed)
    ("school.example", "v=spf1 ip4:127.0.0.1 -all"), ("_dmarc.school.example", DMARC),
    ("google._domainkey.school.example", f"v=DKIM1; p={KEY}"),
    # an SPF record that lets no server send
    ("nobody.example", "v=spf1 -all"),
    # SendGrid's include
    ("sendgrid.example", "v=spf1 include:sendgrid.net -all"),
    ("_dmarc.sendgrid.example", DMARC), ("s1._domainkey.sendgrid.example", f"p={KEY}"),
]
# the SPF cases have good DMARC; all of these have a good DKIM key
for d in ("nospf", "twospf", "noinclude", "plusall"):
    RECORDS.append((f"_dmarc.{d}.example", DMARC))
for d in ("nospf", "twospf", "noinclude", "plusall", "nodmarc", "baddmarc", "nonedmarc"):
    RECORDS.append((f"google._domainkey.{d}.example", f"v=DKIM1; p={KEY}"))


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    """True when a DNS query for good.example TXT gets a reply."""
    query = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" \
        b"\x04good\x07example\x00\x00\x10\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(query, ("127.0.0.1", port))
        try:
            return s.recv(512)[:2] == b"\x00\x01"
        except OSError:
            return False


@pytest.fixture(scope="module")
def dns():
    port = free_udp_port()
    argv = ["dnsmasq", "--keep-in-foreground", f"--port={port}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--user=root", "--pid-file=",
            "--conf-file=/dev/null", "--local=/example/"]
    argv += [f"--txt-record={name},{text}" for name, text in RECORDS]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not answers(port):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
    yield port
    proc.kill()
    proc.wait()


def check(tmp_path, server, *args, provider="gmail", dkim=None, host=None, human=False,
          lang="C.UTF-8"):
    conf = tmp_path / "eschool.conf"
    conf.write_text(f"[general]\nmode = debug\nadmin_email = it@school.example\n"
                    f"[mail]\nprovider = {provider}\n"
                    + (f"host = {host}\n" if host else "")
                    + f"[dns]\nserver = {server}\n"
                    + (f"dkim_selectors = {dkim}\n" if dkim else ""))
    os.chmod(conf, 0o600)
    env = dict(os.environ, LANG=lang, LC_ALL="", LC_MESSAGES="")
    p = subprocess.run([ESCHOOL, "-c", str(conf)] + ([] if human else ["--json"])
                       + ["check-dns", *args], capture_output=True, text=True, timeout=60,
                       env=env)
    if human:
        return p, None
    out = json.loads(p.stdout) if p.stdout.strip() else None
    return p, out


def verdicts(out):
    return {c["record"]: c["ok"] for c in out["checks"]}


def test_a_good_domain_passes(dns, tmp_path):
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "good.example")
    assert p.returncode == 0 and out["ok"], p.stderr
    assert verdicts(out) == {"SPF": True, "DMARC": True, "DKIM": True}
    dmarc = out["checks"][1]
    assert dmarc["found"] == DMARC and dmarc["note"] == "policy p=quarantine"
    # the human form: ticks and the records found
    conf = tmp_path / "eschool.conf"
    h = subprocess.run([ESCHOOL, "-c", str(conf), "check-dns", "good.example"],
                       capture_output=True, text=True)
    assert h.returncode == 0 and h.stdout.count("✓") == 3 and "✗" not in h.stdout, h.stdout


@pytest.mark.parametrize("domain,problem", [
    ("nospf.example", "no SPF record"),
    ("twospf.example", "2 SPF records: there must be exactly one"),
    ("noinclude.example", "does not include _spf.google.com"),
    ("plusall.example", "ends with +all: anyone may send mail as plusall.example"),
])
def test_spf_problems(dns, tmp_path, domain, problem):
    p, out = check(tmp_path, f"127.0.0.1:{dns}", domain)
    assert p.returncode == 65 and not out["ok"], p.stderr
    spf = out["checks"][0]
    assert not spf["ok"] and problem in spf["problem"], spf
    assert spf["fix"]
    assert verdicts(out)["DMARC"] and verdicts(out)["DKIM"], out
    if domain == "nospf.example":
        assert spf["fix"] == 'publish: nospf.example TXT "v=spf1 include:_spf.google.com ~all"'


def test_dmarc_problems(dns, tmp_path):
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nodmarc.example")
    assert p.returncode == 65
    dmarc = out["checks"][1]
    assert not dmarc["ok"] and "no DMARC record" in dmarc["problem"]
    # p=none first: quarantine before SPF and DKIM pass sends the school's mail to spam
    assert dmarc["fix"] == ('publish: _dmarc.nodmarc.example TXT "v=DMARC1; p=none; '
                            'rua=mailto:it@school.example"')
    assert "move to p=quarantine" in dmarc["note"]
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "baddmarc.example")
    assert "bad policy p=maybe" in out["checks"][1]["problem"]
    # p=none passes, with the advice
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nonedmarc.example")
    assert verdicts(out)["DMARC"] and "monitoring only" in out["checks"][1]["note"]


def test_dkim_selectors(dns, tmp_path):
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "sel.example")
    dkim = out["checks"][2]
    assert p.returncode == 65 and not dkim["ok"]
    assert "selectors tried: google, s1, k1, mailo, default" in dkim["problem"]
    assert "--selector" in dkim["fix"]
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "sel.example", "--selector", "mail2026")
    assert p.returncode == 0 and out["checks"][2]["name"] == "mail2026._domainkey.sel.example"
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "sel.example", dkim="mail2026")
    assert p.returncode == 0, out
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "revoked.example")
    assert "revoked" in out["checks"][2]["problem"]


def test_provider_include(dns, tmp_path):
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "sendgrid.example", provider="sendgrid")
    assert p.returncode == 0, out
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "good.example", provider="sendgrid")
    assert "does not include sendgrid.net" in out["checks"][0]["problem"]


def test_a_silent_server_times_out_clearly(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        p, out = check(tmp_path, f"127.0.0.1:{port}", "good.example")
        took = time.monotonic() - t0
    assert p.returncode == 69 and out is None
    assert f"no answer from DNS (127.0.0.1:{port}) for good.example: timeout" in p.stderr
    assert took < 20, took


def test_bad_input(dns, tmp_path):
    p, _ = check(tmp_path, f"127.0.0.1:{dns}", "not a domain")
    assert p.returncode == 65 and "invalid domain" in p.stderr
    p, _ = check(tmp_path, f"127.0.0.1:{dns}")
    assert p.returncode == 64
    p, _ = check(tmp_path, f"127.0.0.1:{dns}", "good.example", "--selector", "../x")
    assert p.returncode == 64


@pytest.mark.parametrize("host,mechanism", [
    ("smtp.school-mail.example", "a:smtp.school-mail.example"),
    ("203.0.113.25", "ip4:203.0.113.25"),
    ("2001:db8::25", "ip6:2001:db8::25"),
])
def test_custom_server_spf_suggestion_names_the_server(dns, tmp_path, host, mechanism):
    """provider = custom without an SPF record: the record suggested lets the
    configured server send (never "v=spf1 ~all", which lets nobody), and is
    said to be a guess to check with the mail provider."""
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="custom", host=host)
    spf = out["checks"][0]
    assert p.returncode == 65 and not spf["ok"]
    assert spf["fix"] == f'publish: nospf.example TXT "v=spf1 {mechanism} ~all"', spf
    assert "guess" in spf["note"] and "mail provider" in spf["note"]
    p, _ = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="custom", host=host,
                 human=True)
    assert f'"v=spf1 {mechanism} ~all"' in p.stdout and "a guess from [mail] host" in p.stdout
    p, _ = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="custom", host=host,
                 human=True, lang="fr_FR.UTF-8")
    assert "une supposition d'après [mail] host" in p.stdout, p.stdout


def test_spf_suggestion_without_a_public_server(dns, tmp_path):
    # a local relay is no address the Internet sees: no record is made up
    for host in ("127.0.0.1", "relay.lan", None):
        p, out = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="custom",
                       host=host)
        spf = out["checks"][0]
        assert not spf["ok"] and "v=spf1 ~all" not in spf["fix"], spf
        assert "MECHANISM" in spf["fix"] and "your mail provider" in spf["fix"], spf
        if host:
            assert f"[mail] host {host} is not an address the Internet sees" in spf["fix"]
    # a preset's include wins over its host
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="sendgrid")
    assert out["checks"][0]["fix"] == 'publish: nospf.example TXT "v=spf1 include:sendgrid.net ~all"'
    assert out["checks"][0]["note"] is None


def test_an_spf_record_that_authorises_nobody_fails(dns, tmp_path):
    # "v=spf1 -all" is right for a domain that sends nothing, not for this one
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nobody.example", provider="custom",
                   host="smtp.school-mail.example")
    spf = out["checks"][0]
    assert not spf["ok"] and "authorises no server" in spf["problem"], spf
    assert "add a:smtp.school-mail.example" in spf["fix"] and "guess" in spf["note"]
    # the test setup's own record names its server: fine
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "school.example", provider="custom",
                   host="127.0.0.1")
    assert verdicts(out)["SPF"], out


# Answers over 20 KB, so the UDP answer is truncated and the resolver asks
# again over TCP: many TXT records at one name (verification tokens pile up
# over the years), one record of many character-strings, and a long SPF
# record alone at its name. The old 8 KB buffer was overrun: glibc returns
# the whole length of an answer that did not fit, and the record alone at
# its name was read past the buffer (ASan: stack-buffer-overflow); only the
# first 32 records were read.
BIG_TOKENS = [f"site-verification-{i:03d}=" + "t" * 230 for i in range(90)]
BIG_ONE = ["x" * 250] * 80  # one record, 80 character-strings
LONG_SPF = ("v=spf1 " + " ".join(f"ip4:198.51.{i // 250}.{i % 250}" for i in range(1250))
            + " include:_spf.google.com ~all")


@pytest.fixture(scope="module")
def bigdns():
    names = {"big.example": BIG_TOKENS + [GOOGLE], "bigone.example": [BIG_ONE, GOOGLE],
             "longspf.example": [LONG_SPF]}
    records = dict(names)
    for d in names:
        records[f"_dmarc.{d}"] = [DMARC]
        records[f"google._domainkey.{d}"] = [f"v=DKIM1; k=rsa; p={KEY}"]
    srv = DnsServer(records)
    yield srv
    srv.stop()


def txt_query(name):
    return (b"\0\1\1\0\0\1\0\0\0\0\0\0"
            + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\x10\0\x01")


@pytest.mark.parametrize("domain,spf_found", [
    ("big.example", GOOGLE), ("bigone.example", GOOGLE), ("longspf.example", LONG_SPF[:511]),
])
def test_a_20_kb_txt_answer_is_read_whole(bigdns, tmp_path, domain, spf_found):
    assert len(bigdns.answer(txt_query(domain), "tcp")) > 20000
    n0 = len(bigdns.queries)
    p, out = check(tmp_path, f"127.0.0.1:{bigdns.port}", domain)
    assert "AddressSanitizer" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stdout + p.stderr
    spf = out["checks"][0]
    assert spf["ok"] and spf["found"] == spf_found, spf
    assert verdicts(out) == {"SPF": True, "DMARC": True, "DKIM": True}
    # truncated over UDP, then asked again over TCP
    asked = [(t, q) for t, name, q in bigdns.queries[n0:] if name == domain]
    assert asked == [("udp", 16), ("tcp", 16)], asked


def test_a_french_terminal_reads_the_verdicts_in_french(dns, tmp_path):
    # the problems and fixes are lib/es_dns's, through the catalogue
    p, _ = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="sendgrid",
                 human=True, lang="fr_FR.UTF-8")
    assert "aucun enregistrement SPF (v=spf1)" in p.stdout, p.stdout
    assert 'publiez : nospf.example TXT "v=spf1 include:sendgrid.net ~all"' in p.stdout, p.stdout
    p, out = check(tmp_path, f"127.0.0.1:{dns}", "nospf.example", provider="sendgrid")
    assert out["checks"][0]["problem"] == "no SPF record (v=spf1)"
