"""A small client of the indexer's read API, for the CLI (`mediaproof search`) and the web app."""

from __future__ import annotations

from typing import Any

import httpx

from mediaproof.errors import MediaproofError
from mediaproof.problems import error_from


def search(api_url: str, q: str, limit: int = 20, offset: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Media whose titles match `q` (best first); each dict has id, title, owner, sha256, cid, time, block..."""
    try:
        reply = httpx.get(
            api_url.rstrip("/") + "/search", params={"q": q, "limit": limit, "offset": offset}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise MediaproofError(f"the indexer at {api_url} did not answer ({exc}); is it running?") from exc
    if reply.status_code != 200:
        raise error_from(reply.status_code, reply.content, reply.headers, f"the indexer at {api_url}")
    return list(reply.json()["results"])
