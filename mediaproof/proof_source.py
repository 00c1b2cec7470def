"""Where a proof bundle comes from when none is given: the indexer's read API. An untrusted source: whatever it
answers is checked against the chain by mediaproof.verify before anyone relies on it."""

from __future__ import annotations

from typing import Any

import httpx

from mediaproof.errors import MediaproofError, NotRegistered
from mediaproof.problems import error_from


def fetch_bundles(indexer_url: str, sha256_hex: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every proof bundle the indexer knows for these bytes, earliest first; [] when it knows none."""
    url = f"{indexer_url.rstrip('/')}/proofs/0x{sha256_hex.removeprefix('0x')}"
    try:
        reply = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise MediaproofError(
            f"the indexer at {indexer_url} did not answer ({exc}); give the bundle with --proof"
        ) from exc
    if reply.status_code == 404:
        return []
    if reply.status_code != 200:
        raise error_from(reply.status_code, reply.content, reply.headers, f"the indexer at {indexer_url} ({url})")
    bundles = reply.json().get("bundles", [])
    return [b for b in bundles if isinstance(b, dict)]


def pick_bundle(bundles: list[dict[str, Any]], owner: str | None, sha256_hex: str) -> dict[str, Any]:
    """The earliest bundle, or the earliest of `owner`'s; NotRegistered when there is none."""
    if owner:
        bundles = [b for b in bundles if str(b.get("owner", "")).lower() == owner.lower()]
    if not bundles:
        who = f" by {owner}" if owner else ""
        raise NotRegistered(f"no proof of sha256 {sha256_hex}{who} is known to the indexer")
    return bundles[0]
