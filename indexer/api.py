"""The read API (FastAPI, JSON, OpenAPI at /openapi.json): search, media with their first proof, proof bundles,
batches, users, recent, clusters, analytics, projects (heads, versions, grants: what ProjectRegistry's events say,
for private projects too, since the chain already says it to anyone), and the social layer: followers, following,
comments, like and comment counts, the news feed, one action's record. It reads through the follower's store in the
same process, so DuckDB keeps one writer. Errors are RFC 9457 problem+json (mediaproof.problems): bad input gets a
422 with a sentence saying what was expected, unknown keys a 404.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from eth_utils import to_checksum_address
from fastapi import FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response

from indexer.badge import badge_svg
from indexer.bundles import bundle
from indexer.search import TitleIndex
from indexer.social_reads import ORDERS
from indexer.store import Store
from mediaproof import eip712
from mediaproof.errors import InputError, MediaproofError, NotReady, NotRegistered
from mediaproof.problems import add_problem_handlers
from mediaproof.receipts import receipt_signer

_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SHORT_ID = re.compile(r"^[0-9A-Za-z]{1,32}$")  # the gateway's base62 link ids
MAX_LIMIT = 100
MAX_BLOCK = 2**63 - 1
# ?viewer= on media answers: the Like button's state after a reload
VIEWER = Query(None, description="a wallet: each media then says whether it likes it now (liked)")


def _with_signers(media: dict[str, Any], identity: dict[str, Any] | None) -> dict[str, Any]:
    """Each receipt with the address its signature recovers to under StorageTopology's domain (None if it recovers
    to nothing): what the page compares with the cluster's key. The event carries no signer; recovering a few
    receipts per request costs less than recovering every receipt while indexing."""
    for r in media["receipts"]:
        r["signer"] = None
        if identity is None:
            continue
        receipt = eip712.StorageReceipt(
            int(r["cluster_id"]),
            bytes.fromhex(media["sha256"][2:]),
            media["owner"],
            bytes.fromhex(media["id"][2:]),
            int(r["issued_at"]),
        )
        with contextlib.suppress(MediaproofError, ValueError):  # a signature that recovers to nothing
            r["signer"] = receipt_signer(
                receipt, bytes.fromhex(r["signature"][2:]), int(identity["chain_id"]), identity["topology"]
            )
    return media


def with_first(store: Store, rows: list[dict[str, Any]], viewer: str | None = None) -> list[dict[str, Any]]:
    """Each list row says, as a media record does, whether it is the first proof of its bytes and which one is:
    a feed or search card can then say plainly that a record is a later registration of bytes proved before; its
    like and comment counts; and, given a viewer, whether that wallet likes it now."""
    # a feed item knows whether it is the first record of its bytes (first_id): only the others are looked up
    firsts = store.first_proofs(r["sha256"] for r in rows if r.get("first_id") != r["id"])
    counts = store.social_counts([r["id"] for r in rows if "likes" not in r])
    # a feed page read from owner_feed knows already (one query less)
    unknown = [r["id"] for r in rows if "liked" not in r]
    liked = store.liked(viewer, unknown) if viewer is not None and unknown else set()
    for r in rows:
        if "likes" not in r:
            r.update(counts.get(r["id"], {"likes": 0, "comments": 0}))
        if viewer is not None and "liked" not in r:
            r["liked"] = r["id"] in liked
        first: dict[str, Any] | None
        if r.pop("first_id", None) == r["id"]:
            first = {"owner": r["owner"], "media_id": r["id"], "block": r["block"], "short_id": r["short_id"]}
        else:
            first = firsts.get(r["sha256"])
        r["is_first_proof"] = first is None or first["media_id"] == r["id"]
        r["first_registration"] = first
    return rows


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character as a `\\uXXXX` escape: the same data to a JSON reader, but titles from the
    chain cannot carry a raw bidi override (U+202E) or C1 control (U+009B CSI) to whoever prints the body (`curl`
    in a terminal, a log). C0 controls such as ESC are escaped by JSON itself."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def create_app(store: Store, index: TitleIndex) -> FastAPI:
    app = FastAPI(
        title="Mediaproof indexer",
        version="2",
        description="Search and browse what is on chain.",
        default_response_class=AsciiJSONResponse,
    )

    def bundles_of(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        identity = store.deployment_identity()
        if identity is None:
            raise NotReady("the indexer has not started following a deployment yet; ask again shortly")
        try:
            return [bundle(s, identity) for s in sources]
        except ValueError as exc:
            raise NotReady(f"the indexed batch data is inconsistent ({exc}); re-index from scratch") from None

    add_problem_handlers(app)

    @app.get("/search", summary="Titles matching the words; the last word may be a prefix being typed")
    def search(
        q: str = Query(..., min_length=1, max_length=200, description="words; a trailing partial word is a prefix"),
        limit: int = Query(20, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=10_000),
        viewer: str | None = VIEWER,
    ) -> dict[str, Any]:
        rows = with_first(store, index.rows(index.search(q, limit=limit, offset=offset)), viewer_of(viewer))
        return {"query": q, "limit": limit, "offset": offset, "results": rows}

    def media_id_of(key: str) -> str:
        """The media id `key` names: itself (0x and 64 hex digits), or the record a gateway short id links to —
        that link's own record, never another record of the same bytes."""
        if _HASH.match(key):
            return key.lower()
        if _SHORT_ID.match(key):
            media_id = store.media_id_of_short_id(key)
            if media_id is None:
                raise NotRegistered(f"no media with the short id {key} is known to the indexer (yet)")
            return media_id.lower()
        raise InputError(
            f"{key!r} is not a media id, sha256 or short id: expected 0x and 64 hex digits, or a base62 id"
        )

    @app.get(
        "/media/{key}",
        summary="A media record by media id or short id (or the first proof of a sha256), with its variants, "
        "receipts and the first proof of its bytes",
    )
    def media(key: str, viewer: str | None = VIEWER) -> dict[str, Any]:
        wallet = viewer_of(viewer)
        media_id = media_id_of(key)
        found = store.media_detail(media_id)
        if found is None and _HASH.match(key):
            first = store.first_media_id(media_id)  # a sha256: the first proof of those bytes
            found = store.media_detail(first) if first is not None else None
        if found is None:
            raise NotRegistered(f"no media with id, sha256 or short id {key} is indexed")
        found.update(store.social_counts([found["id"]]).get(found["id"], {"likes": 0, "comments": 0}))
        if wallet is not None:
            found["liked"] = found["id"] in store.liked(wallet, [found["id"]])
        return _with_signers(found, store.deployment_identity())

    @app.get("/media/{key}/comments", summary="A media's comments, newest first, each as last edited")
    def media_comments(
        key: str, limit: int = Query(20, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_BLOCK)
    ) -> dict[str, Any]:
        media_id = media_id_of(key)
        if not store.media_exists(media_id):
            raise NotRegistered(f"no media with id {media_id} is indexed")
        rows = store.media_comments(media_id, limit, offset)
        return {"media_id": media_id, "count": store.comment_count(media_id), "limit": limit, "offset": offset,
                "results": rows}  # fmt: skip

    @app.get("/media/{key}/proof", summary="The proof bundle (mediaproof-proof-v1) of one record, by id or short id")
    def media_proof(key: str) -> dict[str, Any]:
        media_id = media_id_of(key)
        sources = store.proof_sources(media_id=media_id)
        if not sources:
            raise NotRegistered(
                f"no media with id {media_id} is indexed; for every proof of some bytes ask /proofs/{{sha256}}"
            )
        return bundles_of(sources)[0]

    @app.get("/proofs/{sha256}", summary="Every proof bundle of some bytes the indexer knows, earliest first")
    def proofs(sha256: str) -> dict[str, Any]:
        if not _HASH.match(sha256):
            raise InputError(f"{sha256!r} is not a sha256: expected 0x and 64 hex digits")
        sources = store.proof_sources(sha256=sha256.lower())
        if not sources:
            raise NotRegistered(f"no proof of the bytes with sha256 {sha256} is indexed")
        return {"sha256": sha256.lower(), "bundles": bundles_of(sources)}

    @app.get("/batches/{number}", summary="The batches anchored in one block: root, manifest, and how it was read")
    def batches(number: int = Path(..., ge=1, le=MAX_BLOCK, description="the batch number: its block")) -> Any:
        found = store.batches_in_block(number)
        if not found:
            raise NotRegistered(f"no batch was anchored in block {number} (or it is not indexed yet)")
        return {"batch": number, "anchors": found}

    @app.get("/transactions/{tx_hash}", summary="What one transaction registered: its batches and the media it proved")
    def transaction(tx_hash: str) -> dict[str, Any]:
        if not _HASH.match(tx_hash):
            raise InputError(f"{tx_hash!r} is not a transaction hash: expected 0x and 64 hex digits")
        found = store.transaction(tx_hash.lower())
        if found is None:
            raise NotRegistered(f"no batch or media registration from transaction {tx_hash} is indexed (yet)")
        with_first(store, found["media"])
        return found

    @app.get(
        "/badge/{name}",
        summary="An SVG badge for some bytes (/badge/<sha256>.svg): proven on Ethereum in block N, or not proven",
        response_class=Response,
    )
    def badge(name: str) -> Response:
        digest = name.removesuffix(".svg").lower().removeprefix("0x")
        if not name.endswith(".svg") or not _HASH.match("0x" + digest):
            raise InputError("a badge is /badge/SHA256.svg: the sha256 as 64 hex digits, with or without 0x")
        first = store.first_proofs(["0x" + digest]).get("0x" + digest)
        return Response(
            badge_svg(int(first["block"]) if first else None),
            media_type="image/svg+xml",
            # Embedded on other sites: a minute's cache, and an SVG opened on its own runs nothing.
            headers={
                "cache-control": "public, max-age=60",
                "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
                "x-content-type-options": "nosniff",
            },
        )

    @app.get("/users/{address}", summary="A user's profile and media, newest first")
    def user(
        address: str,
        limit: int = Query(20, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=MAX_BLOCK),
        viewer: str | None = VIEWER,
    ) -> Any:
        wallet = viewer_of(viewer)
        found = store.user_profile(wallet_of(address), limit, offset)
        if found is None:
            raise NotRegistered(f"{address} has not registered with Mediaproof, owns no media and follows no one")
        with_first(store, found["media"], wallet)
        found.update(store.follow_counts(found["owner"]))
        return found

    def wallet_of(address: str) -> str:
        if not _ADDRESS.match(address):
            raise InputError(f"{address!r} is not an address: expected 0x and 40 hex digits")
        return str(to_checksum_address(address))

    def viewer_of(viewer: str | None) -> str | None:
        return None if viewer is None else wallet_of(viewer)

    @app.get("/users/{address}/followers", summary="Who follows a wallet, most recent first, with both counts")
    def followers(
        address: str, limit: int = Query(20, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_BLOCK)
    ) -> dict[str, Any]:
        wallet = wallet_of(address)
        rows = store.followers(wallet, limit, offset)
        return {"address": wallet, **store.follow_counts(wallet), "limit": limit, "offset": offset, "results": rows}

    @app.get("/users/{address}/following", summary="Whom a wallet follows, most recent first, with both counts")
    def following(
        address: str, limit: int = Query(20, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_BLOCK)
    ) -> dict[str, Any]:
        wallet = wallet_of(address)
        rows = store.following(wallet, limit, offset)
        return {"address": wallet, **store.follow_counts(wallet), "limit": limit, "offset": offset, "results": rows}

    @app.get("/feed", summary="The news feed: media of the wallets the viewer follows, by relevance or newest first")
    def feed(
        viewer: str = Query(..., description="the wallet whose follows make the feed"),
        order: str = Query("relevant", description="relevant (docs/feed.md) or latest"),
        limit: int = Query(20, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=10_000),
    ) -> dict[str, Any]:
        wallet = wallet_of(viewer)
        if order not in ORDERS:
            raise InputError(f"order {order!r} is not a feed order: one of {', '.join(ORDERS)}")
        rows = with_first(store, store.feed(wallet, order, limit, offset), wallet)
        return {"viewer": wallet, "order": order, "limit": limit, "offset": offset, "results": rows}

    @app.get("/actions/{action_id}", summary="One social action: what it says, its batch, and whether it counted")
    def action(action_id: str) -> dict[str, Any]:
        if not _HASH.match(action_id):
            raise InputError(f"{action_id!r} is not an action id: expected 0x and 64 hex digits")
        found = store.action(action_id.lower())
        if not found:
            raise NotRegistered(f"no action with id {action_id} is indexed (yet)")
        return {**found[0], "replays": found[1:]}

    def project_id_of(pid: str) -> str:
        if not _HASH.match(pid):
            raise InputError(f"{pid!r} is not a project id: expected 0x and 64 hex digits (projectIdOf(owner, name))")
        return pid.lower()

    @app.get("/projects/{pid}", summary="A project: owner, name, privacy, version, head and its grantees' roles")
    def project(pid: str) -> dict[str, Any]:
        found = store.project(project_id_of(pid))
        if found is None:
            raise NotRegistered(f"no project with id {pid} is indexed (yet)")
        return found

    @app.get("/projects/{pid}/versions", summary="A project's versions, newest first: who committed, when, which tx")
    def project_versions(
        pid: str, limit: int = Query(20, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_BLOCK)
    ) -> dict[str, Any]:
        project_id = project_id_of(pid)
        if store.project(project_id) is None:
            raise NotRegistered(f"no project with id {pid} is indexed (yet)")
        versions = store.project_versions(project_id, limit, offset)
        return {"project_id": project_id, "limit": limit, "offset": offset, "versions": versions}

    @app.get("/users/{address}/projects", summary="The projects a wallet owns and those shared with it, with its role")
    def user_projects(
        address: str, limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_BLOCK)
    ) -> dict[str, Any]:
        if not _ADDRESS.match(address):
            raise InputError(f"{address!r} is not an address: expected 0x and 40 hex digits")
        wallet = to_checksum_address(address)
        return {"address": wallet, "limit": limit, "offset": offset, **store.projects_of(wallet, limit, offset)}

    @app.get("/recent", summary="Media newest first")
    def recent(
        limit: int = Query(20, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=MAX_BLOCK),
        viewer: str | None = VIEWER,
    ) -> dict[str, Any]:
        rows = with_first(store, store.recent_media(limit, offset), viewer_of(viewer))
        return {"limit": limit, "offset": offset, "results": rows}

    @app.get("/clusters", summary="Storage clusters: status and how many objects each holds")
    def clusters() -> dict[str, Any]:
        return {"clusters": store.cluster_list()}

    @app.get("/analytics/media/{key}", summary="Views per UTC day and per size, by media id or short id")
    def analytics(key: str) -> dict[str, Any]:
        if not _HASH.match(key) and not _SHORT_ID.match(key):
            raise InputError(f"{key!r} is not a media id or short id: expected 0x and 64 hex digits, or a base62 id")
        media_id = media_id_of(key)
        if not store.media_exists(media_id):
            raise NotRegistered(f"no media with id {media_id} is indexed")
        return store.media_analytics(media_id)

    @app.get("/health", summary="The indexed head block, and how far the download service's view records are read")
    def health() -> dict[str, Any]:
        head = store.head()
        read_through, missed = store.view_cursor()
        return {
            "block": head.number if head else None,
            "hash": head.hash if head else None,
            # `missed`: view records gone (past the download service's retention) before they were read
            "views": {"read_through": read_through, "missed": missed},
        }

    return app
