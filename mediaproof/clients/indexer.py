"""Clients of the indexer's read API: `search`, `media`, `cluster_list`, `feed` and `follows` for the CLI
(`mediaproof search`, `get`, `delete`, `clusters`, `feed`, `followers`, `following`, short ids of the social
commands) and the upload service (is the media of a like or comment indexed, and not deleted?), IndexerClient
(async) for the web app.

An error answer is the class the indexer raised (mediaproof.problems.error_from); no answer at all, or a success that
is not a JSON object, is a ServiceUnavailable.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from mediaproof.clients import ServiceUnavailable, json_answer
from mediaproof.errors import InputError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SHORT_ID = re.compile(r"^[0-9A-Za-z]{1,32}$")


FEED_ORDERS = ("relevant", "latest")


def _project_id(project_id: str) -> str:
    # Checked here too: the id goes into the URL's path, where "../" would name another endpoint.
    if not _BYTES32.match(project_id):
        raise InputError(f"{project_id!r} is not a project id: expected 0x and 64 hex digits")
    return project_id.lower()


def search(api_url: str, q: str, limit: int = 20, offset: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Media whose titles match `q` (best first); each dict has id, title, owner, sha256, cid, time, block..."""
    params = {"q": q, "limit": limit, "offset": offset}
    return list(_get_sync(api_url, "/search", timeout, params)["results"])


def cluster_list(api_url: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The storage clusters as the indexer follows them."""
    return list(_get_sync(api_url, "/clusters", timeout)["clusters"])


def _get_sync(api_url: str, path: str, timeout: float, params: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        reply = httpx.get(api_url.rstrip("/") + path, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the indexer at {api_url} did not answer ({exc}); is it running?") from exc
    return json_answer(reply, "indexer")


def media(api_url: str, key: str, timeout: float = 10.0) -> dict[str, Any]:
    """One record by media id or short id: id, short_id, owner, title, deleted (its owner deleted it), …;
    NotRegistered when the indexer has none, ServiceUnavailable (or NotReady) when it cannot say."""
    if not (_BYTES32.match(key) or _SHORT_ID.match(key)):
        raise InputError(f"{key!r} is not a media id (0x and 64 hex digits) or a short id (letters and digits)")
    return _get_sync(api_url, f"/media/{key}", timeout)


def _address(address: str) -> str:
    # Checked here too: the address goes into the URL's path.
    if not _ADDRESS.match(address):
        raise InputError(f"{address!r} is not an address: expected 0x and 40 hex digits")
    return address


def feed(api_url: str, viewer: str, order: str = "relevant", limit: int = 20, offset: int = 0,
         timeout: float = 10.0) -> dict[str, Any]:  # fmt: skip
    """The news feed of `viewer`: media of the wallets it follows, by relevance or newest first."""
    params = {"viewer": _address(viewer), "order": order, "limit": limit, "offset": offset}
    return _get_sync(api_url, "/feed", timeout, params)


def follows(api_url: str, address: str, which: str, limit: int = 20, offset: int = 0,
            timeout: float = 10.0) -> dict[str, Any]:  # fmt: skip
    """`which` = "followers" or "following" of `address`, most recent first, with both counts."""
    if which not in ("followers", "following"):
        raise ValueError(which)
    return _get_sync(api_url, f"/users/{_address(address)}/{which}", timeout, {"limit": limit, "offset": offset})


class IndexerClient:
    """The indexer's read API over async HTTP (search, feed, records, proofs, profiles, projects, clusters), for the
    web app."""

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

    async def media(self, key: str, viewer: str = "") -> dict[str, Any]:
        """One record by media id or short id (that link's own record), or the first proof of a sha256; given a
        `viewer` wallet, also whether it likes the record now (`liked`)."""
        return await self._get(f"/media/{key}", {"viewer": _address(viewer)} if viewer else None)

    async def media_proof(self, key: str) -> dict[str, Any]:
        """The portable proof bundle (mediaproof-proof-v1) of one record, by media id or short id."""
        return await self._get(f"/media/{key}/proof")

    async def analytics(self, key: str) -> dict[str, Any]:
        """Views of one record (by media id or short id) through its links: `views`, `per_day` ({day, views}, UTC
        days in order) and `per_size` ({size, views}, the size asked for)."""
        if not (_BYTES32.match(key) or _SHORT_ID.match(key)):
            raise InputError(f"{key!r} is not a media id or short id: expected 0x and 64 hex digits, or a base62 id")
        return await self._get(f"/analytics/media/{key}")

    async def first_proof(self, sha256_hex: str) -> dict[str, Any]:
        """The first proof of some bytes (owner, block, short_id, …); NotRegistered when nobody proved them."""
        digest = sha256_hex.lower().removeprefix("0x")
        if not _SHA256.match(digest):
            raise InputError(f"not a sha256 digest (64 hex digits): {sha256_hex!r}")
        return await self._get(f"/media/0x{digest}")

    async def proofs(self, sha256_hex: str) -> list[dict[str, Any]]:
        """Every proof bundle of some bytes the indexer knows, earliest first (an untrusted source: check each against
        the chain); NotRegistered when it knows none."""
        digest = sha256_hex.lower().removeprefix("0x")
        if not _SHA256.match(digest):
            raise InputError(f"not a sha256 digest (64 hex digits): {sha256_hex!r}")
        body = await self._get(f"/proofs/0x{digest}")
        return [b for b in body.get("bundles") or [] if isinstance(b, dict)]

    async def transaction(self, tx_hash: str) -> dict[str, Any]:
        """What one transaction registered: `{tx, block, time, batches, media}`; NotRegistered when none is indexed."""
        if not _SHA256.match(tx_hash.lower().removeprefix("0x")) or not tx_hash.lower().startswith("0x"):
            raise InputError(f"not a transaction hash (0x and 64 hex digits): {tx_hash!r}")
        return await self._get(f"/transactions/{tx_hash.lower()}")

    async def user(self, address: str, limit: int = 48) -> dict[str, Any]:
        """A wallet's profile and its media."""
        return await self._get(f"/users/{address}", {"limit": limit})

    async def project(self, project_id: str) -> dict[str, Any]:
        """A project: owner, name, privacy, version, head (None before the first commit) and grantees' roles."""
        return await self._get(f"/projects/{_project_id(project_id)}")

    async def project_versions(self, project_id: str, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """A project's versions, newest first: version, committer, time, block, tx_hash, manifest cid and sha256."""
        body = await self._get(f"/projects/{_project_id(project_id)}/versions", {"limit": limit, "offset": offset})
        return [v for v in body.get("versions") or [] if isinstance(v, dict)]

    async def user_projects(self, address: str, limit: int = 100) -> dict[str, list[dict[str, Any]]]:
        """The projects a wallet owns (`owned`, role "owner") and those shared with it (`shared`, role read/write)."""
        body = await self._get(f"/users/{_address(address)}/projects", {"limit": limit})
        return {key: [p for p in body.get(key) or [] if isinstance(p, dict)] for key in ("owned", "shared")}

    async def followers(self, address: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Who follows a wallet, most recent first (`results`: address, block, time), with both its counts
        (`followers`, `following`)."""
        return await self._get(f"/users/{_address(address)}/followers", {"limit": limit, "offset": offset})

    async def following(self, address: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Whom a wallet follows, most recent first (`results`), with both its counts."""
        return await self._get(f"/users/{_address(address)}/following", {"limit": limit, "offset": offset})

    async def comments(self, media_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """A media's comments, newest first (`results`: comment_id = its first action id, author, text, created_time,
        edited, …) and their `count`."""
        if not _BYTES32.match(media_id):
            raise InputError(f"{media_id!r} is not a media id: expected 0x and 64 hex digits")
        return await self._get(f"/media/{media_id.lower()}/comments", {"limit": limit, "offset": offset})

    async def feed(
        self, viewer: str, order: str = "relevant", limit: int = 24, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Media of the wallets `viewer` follows, by relevancy or newest first (`order`: relevant | latest)."""
        if order not in FEED_ORDERS:
            raise InputError(f"order must be one of {', '.join(FEED_ORDERS)}, not {order!r}")
        params = {"viewer": _address(viewer), "order": order, "limit": limit, "offset": offset}
        body = await self._get("/feed", params)
        return [row for row in body.get("results") or [] if isinstance(row, dict)]

    async def clusters(self) -> list[dict[str, Any]]:
        """The storage clusters as the indexer follows them."""
        return list((await self._get("/clusters"))["clusters"])
