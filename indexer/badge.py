"""The embeddable proof badge: an SVG saying whether some bytes are proven on Ethereum and in which block. Pure: its
only inputs are a block number or None, so nothing a user wrote (a title, a key) can reach the markup."""

from __future__ import annotations

LABEL = "mediaproof"
# Verdana 11 px, as badges are usually drawn: about 6.6 px per character (digits and lower case), plus padding.
_CHAR_PX = 6.6
_PAD_PX = 12


def _width(text: str) -> int:
    return round(len(text) * _CHAR_PX) + _PAD_PX


def badge_svg(block: int | None) -> str:
    """ "proven on Ethereum · block N" in green, or "not proven" in grey."""
    if block is not None and (not isinstance(block, int) or block < 0):
        raise ValueError("a badge's block is a non-negative int")
    message = f"proven on Ethereum · block {block}" if block is not None else "not proven"
    colour = "#2e7d32" if block is not None else "#6b7280"
    left, right = _width(LABEL), _width(message)
    total = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{LABEL}: {message}">'
        f"<title>{LABEL}: {message}</title>"
        f'<rect width="{left}" height="20" rx="3" fill="#374151"/>'
        f'<rect x="{left}" width="{right}" height="20" rx="3" fill="{colour}"/>'
        f'<rect x="{left}" width="4" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2}" y="14">{LABEL}</text>'
        f'<text x="{left + right / 2}" y="14">{message}</text>'
        "</g></svg>"
    )
