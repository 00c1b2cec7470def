"""Clients of the indexer's read API: `search` for the CLI (`mediaproof search`), IndexerClient (async) for the web app.

An error answer is the class the indexer raised (mediaproof.problems.error_from); no answer at all, or a success that
is not a JSON object, is a ServiceUnavailable.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from mediaproof.clients import ServiceUnavailable, json_answer
from mediaproof.errors import InputError
from mediaproof.problems import error_from

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def search(api_url: str, q: str, limit: int = 20, offset: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Media whose titles match `q` (best first); each dict has id, title, owner, sha256, cid, time, block..."""
    try:
        reply = httpx.get(
            api_url.rstrip("/") + "/search", params={"q": q, "limit": limit, "offset": offset}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the indexer at {api_url} did not answer ({exc}); is it running?") from exc
    if reply.status_code != 200:
        raise error_from(reply.status_code, reply.content, reply.headers, f"the indexer at {api_url}")
    return list(reply.json()["results"])


class IndexerClient:
    """The indexer's read API over async HTTP (search, feed, records, proofs, profiles, clusters), for the web app."""

    def __init__(self, api_url: str, timeout: float = 15.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                reply = await client.get(self.api_url + path, params=params)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the indexer did not answer ({type(exc).__name__}): is it running?") from None
        return json_answer(reply, "indexer")

    async def recent(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """The newest records first."""
        return list((await self._get("/recent", {"limit": limit, "offset": offset}))["results"])

    async def search(self, q: str, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Media whose titles match `q`, best first."""
        return list((await self._get("/search", {"q": q, "limit": limit, "offset": offset}))["results"])

    async def media(self, key: str) -> dict[str, Any]:
        """One record by media id or short id (that link's own record), or the first proof of a sha256."""
        return await self._get(f"/media/{key}")

    async def media_proof(self, key: str) -> dict[str, Any]:
        """The portable proof bundle (mediaproof-proof-v1) of one record, by media id or short id."""
        return await self._get(f"/media/{key}/proof")

    async def proofs(self, sha256_hex: str) -> list[dict[str, Any]]:
        """Every proof bundle of some bytes the indexer knows, earliest first (an untrusted source: check each against
        the chain); NotRegistered when it knows none."""
        digest = sha256_hex.lower().removeprefix("0x")
        if not _SHA256.match(digest):
            raise InputError(f"not a sha256 digest (64 hex digits): {sha256_hex!r}")
        body = await self._get(f"/proofs/0x{digest}")
        return [b for b in body.get("bundles") or [] if isinstance(b, dict)]

    async def user(self, address: str, limit: int = 48) -> dict[str, Any]:
        """A wallet's profile and its media."""
        return await self._get(f"/users/{address}", {"limit": limit})

    async def clusters(self) -> list[dict[str, Any]]:
        """The storage clusters as the indexer follows them."""
        return list((await self._get("/clusters"))["clusters"])
