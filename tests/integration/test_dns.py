"""eschool check-dns against a real DNS server on loopback: dnsmasq on a
port of its own with --txt-record entries (no upstream: the .example zone
is local, so other names are NXDOMAIN), and a UDP socket that never
answers for the timeout."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


def check(tmp_path, server, *args, provider="gmail", dkim=None):
    conf = tmp_path / "eschool.conf"
    conf.write_text(f"[general]\nmode = debug\nadmin_email = it@school.example\n"
                    f"[mail]\nprovider = {provider}\n[dns]\nserver = {server}\n"
                    + (f"dkim_selectors = {dkim}\n" if dkim else ""))
    os.chmod(conf, 0o600)
    p = subprocess.run([ESCHOOL, "-c", str(conf), "--json", "check-dns", *args],
                       capture_output=True, text=True, timeout=60)
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
    assert dmarc["fix"] == ('publish: _dmarc.nodmarc.example TXT "v=DMARC1; p=quarantine; '
                            'rua=mailto:it@school.example"')
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
