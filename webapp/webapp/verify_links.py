"""What the shareable verify pages read from their address and from the indexer: the sha256 of /verify/<sha256>, the
transaction of /verify?tx=<hash>, and a transaction's registrations as rows a page shows. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import unquote

from mediaproof.safe_text import printable
from webapp.proof_reports import utc_seconds

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# What a refusal quotes of the address: enough to recognise it, never a page of someone's text.
QUOTE_CHARS = 80


def sha256_from_link(text: str) -> str | None:
    """The 64 lower-case hex digits a verify link names (with or without 0x, any case), or None."""
    digest = unquote(text).strip().lower().removeprefix("0x")
    return digest if _HEX64.match(digest) else None


def tx_from_link(text: str) -> str | None:
    """A transaction hash as 0x and 64 lower-case hex digits, or None."""
    value = unquote(text).strip().lower()
    return value if value.startswith("0x") and _HEX64.match(value[2:]) else None


def quoted(text: str) -> str:
    """Someone's text from the address, safe to say back: printable and short."""
    shown = printable(unquote(text))
    return shown if len(shown) <= QUOTE_CHARS else shown[:QUOTE_CHARS] + "…"


def media_row(row: dict[str, Any], short_id: str) -> dict[str, str]:
    """One file a transaction proved, as the page lists it: what it is, and where to verify it and see it."""
    sha = str(row.get("sha256") or "").lower()
    first = row.get("first_registration") or {}
    is_first = bool(row.get("is_first_proof", True))
    return {
        "title": printable(str(row.get("title") or "(untitled)")),  # from the chain: escaped
        "sha256": sha,
        "media_id": str(row.get("id") or ""),
        "owner": str(row.get("owner") or ""),
        "kind": str(row.get("kind") or ""),
        "deleted": "deleted" if row.get("deleted") else "",
        "first": "first proof of these bytes"
        if is_first
        else f"a later registration: first proven by {first.get('owner')} in block {first.get('block')}",
        "verify_href": f"/verify/{sha}",
        "media_href": f"/m/{short_id or row.get('id') or ''}",
    }


def batch_row(row: dict[str, Any]) -> dict[str, str]:
    return {
        "batch": str(row.get("batch") or ""),
        "root": str(row.get("root") or ""),
        "sequencer": str(row.get("sequencer") or ""),
        "manifest_cid": str(row.get("manifest_cid") or ""),
        "files": f"{row.get('indexed', 0)} of {row.get('declared', 0)} entries indexed ({row.get('status') or '?'})",
    }


def transaction_summary(found: dict[str, Any]) -> str:
    """The plain verdict of a transaction: what it registered, when."""
    media, batches = found.get("media") or [], found.get("batches") or []
    files = "one file" if len(media) == 1 else f"{len(media)} files"
    when = f"in block {found.get('block')} at {utc_seconds(found.get('time'))}"
    if batches:
        numbers = ", ".join(str(b.get("batch")) for b in batches)
        return f"This transaction anchored batch {numbers} {when}, proving {files}."
    return f"This transaction registered {files} directly {when}."


def embed(site: str, badge_base: str, sha256: str) -> dict[str, str]:
    """The badge of some bytes and the snippet that puts it, linked to their verify page, on someone else's page:
    `site` is the web app as people reach it, `badge_base` the indexer that draws the badge (GET /badge/…)."""
    digest = sha256_from_link(sha256)
    if digest is None:
        return {"verify_url": "", "badge_url": "", "snippet": ""}
    verify_url = f"{site.rstrip('/')}/verify/0x{digest}"
    badge_url = f"{badge_base.rstrip('/')}/badge/0x{digest}.svg"
    snippet = (
        f'<a href="{escape(verify_url)}"><img src="{escape(badge_url)}" '
        'alt="Mediaproof: proven on Ethereum" height="20"></a>'
    )
    return {"verify_url": verify_url, "badge_url": badge_url, "snippet": snippet}
