"""A profile's picture drawn from its address: a mirrored 5×5 pattern in one colour, the same for the same address on
every page and machine, so a person is recognised at a glance without uploading anything. Pure: address in, SVG out.

No avatar package fit: blockies and jazzicon on npm draw in the browser on a canvas (Reflex would need a React
wrapper for each), and Python's pydenticon needs Pillow at request time; an SVG as a data: URL is a few lines.
"""

from __future__ import annotations

import base64
import hashlib

CELLS = 5


def avatar_svg(address: str) -> str:
    """The SVG of `address` (any case: the same wallet draws the same picture)."""
    digest = hashlib.sha256(address.strip().lower().encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    colour = f"hsl({hue} 65% 45%)"
    background = f"hsl({hue} 60% 92%)"
    cells = []
    half = (CELLS + 1) // 2  # the left columns and the middle one; the right side mirrors the left
    for row in range(CELLS):
        for col in range(half):
            if digest[2 + row * half + col] & 1:
                for x in {col, CELLS - 1 - col}:
                    cells.append(f'<rect x="{x}" y="{row}" width="1" height="1"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 {CELLS + 1} {CELLS + 1}" '
        'shape-rendering="crispEdges">'
        f'<rect x="-0.5" y="-0.5" width="{CELLS + 1}" height="{CELLS + 1}" fill="{background}"/>'
        f'<g fill="{colour}">{"".join(cells)}</g></svg>'
    )


def avatar_url(address: str) -> str:
    """The avatar as a data: URL for an <img>: nothing to fetch, nothing that can fail to load."""
    return "data:image/svg+xml;base64," + base64.b64encode(avatar_svg(address).encode()).decode()
