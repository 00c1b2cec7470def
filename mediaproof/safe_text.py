"""Text that came from someone else (titles on chain, an indexer's answers) made safe to show, and the characters
a new title may not carry.

A title is one line of words. Control characters (NUL, ESC sequences, CR, backspace …), lone surrogates, line
and paragraph separators and the bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) can move a
terminal's cursor, rewrite a line of `mediaproof verify`, or reorder what a reader sees ("gpj.exe"), so the upload
service refuses them at prepare. What is on chain already was never checked by anyone: every printer escapes it.
"""

from __future__ import annotations

import unicodedata

from mediaproof.errors import InputError

MAX_TITLE_BYTES = 1000

# Bidi_Class LRE RLE LRO RLO PDF LRI RLI FSI PDI, and the implicit marks LRM RLM ALM.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# unicodedata has no names for controls (only aliases): the ones people meet.
_CONTROL_NAMES = {0x00: "NULL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN",
                  0x1B: "ESCAPE", 0x7F: "DELETE", 0x9B: "CONTROL SEQUENCE INTRODUCER"}  # fmt: skip
# Invisible joiners that emoji sequences (ZWJ) and Persian, Hindi … (ZWNJ) need: printed as they are.
_JOINERS = frozenset("\u200c\u200d")


def unsafe_characters(text: str) -> list[str]:
    """The characters of `text` a title may not carry, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for c in text:
        if c in BIDI_CONTROLS or unicodedata.category(c) in _REFUSED_CATEGORIES:
            seen.setdefault(c)
    return list(seen)


def check_title(title: object) -> str:
    """`title` stripped, if a new record may carry it; otherwise an InputError saying what to change."""
    if not isinstance(title, str) or not title.strip():
        raise InputError("title is missing or empty: give the media a title")
    refused = unsafe_characters(title)
    if refused:
        raise InputError(
            f"the title carries {describe(refused[:5])}{' …' if len(refused) > 5 else ''}: a title is one line of "
            "text without control characters, line breaks or bidirectional formatting; remove them and try again"
        )
    if len(title.encode()) > MAX_TITLE_BYTES:
        raise InputError(f"title is over {MAX_TITLE_BYTES} bytes: shorten it")
    return title.strip()


def describe(chars: list[str]) -> str:
    """The characters named for a sentence: `U+001B ESCAPE, U+202E RIGHT-TO-LEFT OVERRIDE`."""
    return ", ".join(f"U+{ord(c):04X} {_name(c)}" for c in chars)


def _name(c: str) -> str:
    fallback = "SURROGATE" if unicodedata.category(c) == "Cs" else "CONTROL"
    known = _CONTROL_NAMES.get(ord(c))
    return known if known is not None else unicodedata.name(c, fallback)


def printable(text: str) -> str:
    """`text` safe for a terminal or a page: every character that is not printable (controls, bidi controls,
    separators, other invisible format characters) shown as its escape (`\\x1b`, `\\u202e`), never interpreted.
    Joiners stay, so emoji sequences and scripts that need them print as they are."""
    return "".join(c if c.isprintable() or c in _JOINERS else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
