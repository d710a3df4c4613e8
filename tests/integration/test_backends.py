"""mail.backend = console | file (Django's console and file backends): in
debug mode the mails production would send are printed or written as .eml
files, besides the password shown; in production they replace SMTP. And the
school's logo, inline in the HTML part (multipart/related, cid:logo)."""
import email
import email.policy
import json
import os
import re
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import CONF, json_lines, password_ok  # noqa: E402

MAILS = "/var/mail/eschool-mails"
ADD = ["add", "zoe", "--email", "zoe@school.example", "--name", "Zoë Lefèvre",
       "--parent-email", "parent@school.example"]


def png_1x1():
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def eml_files(sb):
    names = sb.listdir(MAILS) or []
    out = {}
    for name in names:
        assert name.endswith(".eml")
        assert sb.stat(f"{MAILS}/{name}")[0] == 0o600
        with open(sb.host_view(f"{MAILS}/{name}"), "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        out[msg["X-Eschool-Kind"]] = msg
    return out


def password_in(msg):
    text = msg.get_body(("plain",)).get_content()
    m = re.search(r"(?:Mot de passe provisoire|Temporary password) ?: +(\S+)", text)
    return m.group(1) if m else None


def test_file_backend_in_debug_mode_writes_the_mails(sandbox):
    sb = sandbox
    sb.write(CONF, f"[general]\nmode = debug\nschool_name = Lycée Exemple\n"
                   f"[mail]\nbackend = file\nfile_dir = {MAILS}\n")
    p = sb.eschool("--json", *ADD)
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)
    assert obj["delivery"] == "printed"
    mails = eml_files(sb)
    assert sorted(mails) == ["parent-notice", "welcome-student"]
    assert password_in(mails["welcome-student"]) == obj["password"]
    assert password_ok(sb, "zoe", obj["password"])
    assert "Zoë Lefèvre" in str(mails["welcome-student"]["To"])
    assert obj["password"] not in mails["parent-notice"].as_string()
    assert sb.stat(MAILS)[0] == 0o700


def test_django_file_backend_from_the_environment(sandbox):
    sb = sandbox
    env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": MAILS}
    p = sb.eschool("add", "noel", "--email", "noel@school.example", env=env)
    assert p.returncode == 0, p.stderr
    assert MAILS in p.stdout  # says where the mail is
    assert list(eml_files(sb)) == ["welcome-student"]


def test_console_backend_prints_the_mail_beside_the_json(sandbox):
    sb = sandbox
    sb.write(CONF, "[general]\nmode = debug\n[mail]\nbackend = console\n")
    p = sb.eschool("--json", "add", "lea", "--email", "lea@school.example")
    assert p.returncode == 0, p.stderr
    (obj,) = json_lines(p.stdout)  # stdout stays pure JSON
    assert "X-Eschool-Kind: welcome-student" in p.stderr
    assert "To: lea@school.example" in p.stderr
    # without --json the mail is on stdout, after the credentials
    p = sb.eschool("add", "max", "--email", "max@school.example")
    assert p.returncode == 0 and "X-Eschool-Kind: welcome-student" in p.stdout
    assert "\r" not in p.stdout


def test_file_backend_in_production_replaces_smtp(sandbox):
    sb = sandbox
    sb.write(CONF, f"[general]\nmode = production\n[mail]\nbackend = file\n"
                   f"file_dir = {MAILS}\nfrom = noreply@school.example\nhost = 127.0.0.1\n")
    p = sb.eschool("--json", *ADD)
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "zoe", "delivery": "sent"}]
    mails = eml_files(sb)
    assert sorted(mails) == ["parent-notice", "welcome-student"]
    assert password_ok(sb, "zoe", password_in(mails["welcome-student"]))
    q = sb.eschool("--json", "queue", "list")
    assert q.returncode == 0 and q.stdout == ""


def test_logo_is_inline_in_the_html(sandbox):
    sb = sandbox
    sb.write(CONF, f"[general]\nmode = debug\nlogo = /etc/eschool/logo.png\n"
                   f"[mail]\nbackend = file\nfile_dir = {MAILS}\n")
    with open(sb.host_view("/etc/eschool/logo.png"), "wb") as f:
        f.write(png_1x1())
    assert sb.eschool("add", "ana", "--email", "ana@school.example").returncode == 0
    msg = eml_files(sb)["welcome-student"]
    # related(alternative(text, html), logo): both parts can show the logo
    assert msg.get_content_type() == "multipart/related"
    alt = [p for p in msg.walk() if p.get_content_type() == "multipart/alternative"]
    assert len(alt) == 1
    assert [p.get_content_type() for p in alt[0].iter_parts()] == ["text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    assert 'src="cid:logo"' in html
    (img,) = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert img["Content-ID"] == "<logo>"
    assert img.get_content() == png_1x1()


def test_a_logo_that_is_not_a_png_is_left_out(sandbox):
    sb = sandbox
    sb.write(CONF, f"[general]\nmode = debug\nlogo = /etc/eschool/logo.png\n"
                   f"[mail]\nbackend = file\nfile_dir = {MAILS}\n")
    sb.write("/etc/eschool/logo.png", "<svg/>")
    p = sb.eschool("add", "ben", "--email", "ben@school.example")
    assert p.returncode == 0 and "not a PNG" in p.stderr
    msg = eml_files(sb)["welcome-student"]
    assert not [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert "cid:logo" not in msg.get_body(("html",)).get_content()
