"""The shipped mail templates (conf/templates) as files: a box that looks
like a button (the button colour, or white text on a coloured background)
must be a link, or people click on it and nothing happens; a highlighted
note is styled as a note. No sandbox needed: nothing runs but the parser."""
import glob
import os
import re
from html.parser import HTMLParser

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(TOP, "conf", "templates")
HTML_FILES = sorted(glob.glob(os.path.join(TEMPLATES, "*", "*.html")))

BUTTON_COLOURS = {"#1d4ed8"}
WHITE = {"#fff", "#ffffff", "white"}
# elements that close themselves (no end tag in HTML)
VOID = {"br", "img", "meta", "hr", "input", "link", "col", "area", "base", "wbr", "source"}


def style_of(attrs):
    """An element's inline style as {property: value}, lowercased."""
    style = dict(attrs).get("style") or ""
    out = {}
    for decl in style.split(";"):
        if ":" in decl:
            k, v = decl.split(":", 1)
            out[k.strip().lower()] = v.strip().lower()
    return out


def looks_like_a_button(style):
    """The button colour as a background, or white text on any background."""
    bg = style.get("background-color") or style.get("background") or ""
    colour = re.match(r"(#[0-9a-f]{3,6}|[a-z]+)", bg)
    colour = colour.group(1) if colour else ""
    if colour in BUTTON_COLOURS:
        return True
    return bool(colour) and colour not in WHITE and style.get("color", "") in WHITE


class ButtonFinder(HTMLParser):
    """Collects (line, text) of every button-looking element without an
    <a href> inside it (or on itself)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # [tag, is_button, has_link, line, text]
        self.unlinked = []

    def handle_starttag(self, tag, attrs):
        is_link = tag == "a" and bool(dict(attrs).get("href"))
        if is_link:
            for frame in self.stack:
                frame[2] = True
        if tag in VOID:
            return
        self.stack.append([tag, looks_like_a_button(style_of(attrs)), is_link,
                           self.getpos()[0], []])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_data(self, data):
        for frame in self.stack:
            frame[4].append(data)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # pop to the matching open tag (templates are well formed; be lenient)
        while self.stack:
            t, button, linked, line, text = self.stack.pop()
            if button and not linked:
                self.unlinked.append((line, " ".join("".join(text).split())))
            if t == tag:
                break


def unlinked_buttons(html):
    p = ButtonFinder()
    p.feed(html)
    p.close()
    return p.unlinked


def test_the_checker_tells_a_button_from_a_link_and_a_note():
    """The markup the templates had (a blue button with no link) is found;
    a real link button and a highlighted note are not."""
    old = ('<table><tr><td style="background:#1d4ed8;border-radius:6px;padding:12px 24px;'
           'color:#ffffff;font-weight:bold;text-align:center;">Change your password now'
           '</td></tr></table>')
    assert unlinked_buttons(old) == [(1, "Change your password now")]
    white_on_green = '<p><span style="background-color:#15803d;color:white">Go</span></p>'
    assert unlinked_buttons(white_on_green) == [(1, "Go")]
    link = ('<table><tr><td style="background:#1d4ed8;color:#ffffff;">'
            '<a href="https://school.example/" style="color:#ffffff;">Log in</a></td></tr></table>')
    assert unlinked_buttons(link) == []
    note = ('<table><tr><td style="background:#eff6ff;border-left:4px solid #1d4ed8;'
            'color:#1f2933;">Nobody will ever ask you for a password</td></tr></table>')
    assert unlinked_buttons(note) == []


def test_templates_are_there():
    kinds = {os.path.relpath(f, TEMPLATES) for f in HTML_FILES}
    assert "fr/welcome-student.html" in kinds and "en/parent-notice.html" in kinds, kinds


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: os.path.relpath(p, TEMPLATES))
def test_no_button_without_a_link(path):
    with open(path, encoding="utf-8") as f:
        found = unlinked_buttons(f.read())
    assert found == [], (
        f"{os.path.relpath(path, TOP)}: a box that looks like a button but is no link "
        f"(line, text): {found}; make it a link or style it as a note "
        f"(light background, left border, dark text)")
