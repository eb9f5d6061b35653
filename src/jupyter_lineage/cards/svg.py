"""What the card's SVG pictures are made of: escaped text, its width, and boxes that must not meet.

The card is drawn in Python so it needs no script library. Without a browser there are
no font metrics, so a label's width is estimated from per-character widths of DejaVu
Sans, the widest of the usual sans-serif fallbacks (Chromium on Linux uses it when
nothing else is installed): a label measured here is never narrower than drawn, so
boxes kept apart here stay apart on the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
ELLIPSIS = "\u2026"
# Characters XML 1.0 forbids: an SVG served as an image (data: URI) is parsed as XML, and
# one of these would make the whole picture fail to load.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Advance widths in em of DejaVu Sans, grouped; anything else counts as a full em.
_NARROW = {**dict.fromkeys("il|!.,:;'`", 0.28), **dict.fromkeys("jfrt()[]{}I", 0.40)}
_WIDE = {**dict.fromkeys("mwMW@%", 1.0), **dict.fromkeys("ABCDGHKNOQRUVXYZ&", 0.78)}
_SPACE = 0.32
_DIGIT = 0.64
_LOWER = 0.63
_UPPER = 0.72
_OTHER_ASCII = 0.84


def esc(value: object) -> str:
    """Escape anything for SVG text or an attribute (XML-safe, quotes included)."""
    text = "" if value is None else str(value)
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def char_width(ch: str) -> float:
    """Estimated advance of one character, in em."""
    if ch in _NARROW:
        return _NARROW[ch]
    if ch in _WIDE:
        return _WIDE[ch]
    if ch == " ":
        return _SPACE
    if ch.isdigit() and ch.isascii():
        return _DIGIT
    if ch.isascii():
        if ch.islower():
            return _LOWER
        if ch.isupper():
            return _UPPER
        return _OTHER_ASCII
    return 1.0  # wide scripts, symbols and the ellipsis itself


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` at font size ``size`` (never less than drawn)."""
    return sum(char_width(ch) for ch in text) * size


def fit(text: str, width: float, size: float) -> str:
    """``text``, cut and ended with an ellipsis when wider than ``width`` pixels."""
    if text_width(text, size) <= width:
        return text
    room = width - char_width(ELLIPSIS) * size
    out = []
    used = 0.0
    for ch in text:
        w = char_width(ch) * size
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def fmt(value: float) -> str:
    """A metric's value, short: three significant digits."""
    return f"{value:.3g}"


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in pixels: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


def overlapping(boxes: list[Box]) -> list[tuple[int, int]]:
    """Pairs of indices of boxes that overlap (sorted sweep along x)."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].x)
    hits = []
    for a, i in enumerate(order):
        for j in order[a + 1 :]:
            if boxes[j].x >= boxes[i].x + boxes[i].w:
                break
            if boxes[i].overlaps(boxes[j]):
                hits.append((min(i, j), max(i, j)))
    return hits


def svg_open(width: float, height: float, label: str, css_class: str) -> str:
    """The root element: scales down to its container, never up; ``label`` names it for screen readers."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(css_class)}" role="img" '
        f'aria-label="{esc(label)}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'style="max-width:100%;height:auto;display:block" '
        f'font-family="{FONT_FAMILY}" font-size="11">'
    )
