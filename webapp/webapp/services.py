"""The rest of Mediaproof as the web app's backend reaches it: the indexer, the upload service and the download
service's project files through their clients in mediaproof.clients (which own every path and answer), and the
chain's reads.

Every failure becomes the error class the service answered with (mediaproof.problems: a 4xx with its own sentence, a
5xx saying which service failed), or a ServiceUnavailable when it did not answer, so a page can say what went wrong.
Every write to the upload service carries the signed-in wallet's bearer token (`Authorization: Bearer <token>`), the
one the sign-in (state.AuthState) got from `POST /auth/session`.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

from mediaproof.clients import ServiceUnavailable, upload_async, upload_routes
from mediaproof.clients.download import AsyncDownloadClient
from mediaproof.clients.indexer import IndexerClient
from mediaproof.clients.upload_async import AsyncUploadClient
from mediaproof.errors import ChainError, MediaproofError
from mediaproof.settings import Settings

SIZES = ("small", "medium", "large", "original")
_MEDIA_KEY = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SHORT_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
TIMEOUT = 15.0
# prepare waits for variants and commit waits for receipts and a mined transaction: give them the cluster timeout.
SLOW_TIMEOUT = 180.0


def refused(exc: BaseException) -> bool:
    """Whether a service refused the request (a 4xx: its error class, its sentence), rather than failing."""
    return isinstance(exc, MediaproofError) and exc.status is not None and 400 <= exc.status < 500


def retry_after(value: object) -> int | None:
    """Whole seconds from a `Retry-After` header (or the body's `retry_after`); None when absent or not a number
    of seconds (an HTTP date is not what our services send)."""
    text = str(value).strip() if value is not None else ""
    return max(1, min(int(text), 24 * 3600)) if text.isdigit() else None


def is_media_key(key: str) -> bool:
    """A media id or sha256 (0x + 64 hex digits), as the indexer's /media/{key} takes it."""
    return bool(_MEDIA_KEY.match(key))


def is_short_id(key: str) -> bool:
    return bool(_SHORT_ID.match(key))


def download_base(settings: Settings) -> str:
    """Where the browser fetches bytes: the download service (an <img src> needs no CORS)."""
    return settings.resolved_download_url()


class KnownLinks:
    """Short ids this process learned from the uploads it committed, by media id and by sha256.

    The indexer's rows carry `short_id` only once it indexes the gateway's links; until then this fills the gap
    for media uploaded through this web app (one backend worker without Redis, so one map).
    """

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def learn(self, short_id: str, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._by_key[key.lower().removeprefix("0x")] = short_id

    def short_id(self, row: dict[str, Any]) -> str:
        if row.get("short_id"):
            return str(row["short_id"])
        with self._lock:
            for key in (row.get("id"), row.get("sha256")):
                if key and (found := self._by_key.get(str(key).lower().removeprefix("0x"))):
                    return found
        return ""


known_links = KnownLinks()


# --- the indexer (search, feed, profiles, clusters, projects): mediaproof.clients.indexer ---


def _indexer(settings: Settings) -> IndexerClient:
    return IndexerClient(settings.resolved_indexer_url(), timeout=TIMEOUT)


async def recent(settings: Settings, limit: int, offset: int) -> list[dict[str, Any]]:
    return await _indexer(settings).recent(limit, offset)


async def search(settings: Settings, query: str, limit: int = 24) -> list[dict[str, Any]]:
    return await _indexer(settings).search(query, limit)


async def media(settings: Settings, key: str, viewer: str = "") -> dict[str, Any]:
    """One record by media id or short id (that link's own record), or the first proof of a sha256; with a viewer
    wallet, whether it likes it (`liked`)."""
    return await _indexer(settings).media(key, viewer)


async def media_proof(settings: Settings, key: str) -> dict[str, Any]:
    """The portable proof bundle (mediaproof-proof-v1) of one record, by media id or short id."""
    return await _indexer(settings).media_proof(key)


async def analytics(settings: Settings, key: str) -> dict[str, Any]:
    """A record's views per UTC day and per size asked for, by media id or short id."""
    return await _indexer(settings).analytics(key)


async def first_proof(settings: Settings, sha256_hex: str) -> dict[str, Any]:
    """Who proved these bytes first, and in which block; NotRegistered when nobody did."""
    return await _indexer(settings).first_proof(sha256_hex)


async def proofs(settings: Settings, sha256_hex: str) -> list[dict[str, Any]]:
    """Every proof bundle of some bytes the indexer knows, earliest first (an untrusted source: the browser checks
    each against the chain); NotRegistered when it knows none."""
    return await _indexer(settings).proofs(sha256_hex)


async def transaction(settings: Settings, tx_hash: str) -> dict[str, Any]:
    """The batches and media one transaction registered (NotRegistered when the indexer knows none)."""
    return await _indexer(settings).transaction(tx_hash)


async def user(settings: Settings, address: str, limit: int = 48) -> dict[str, Any]:
    return await _indexer(settings).user(address, limit)


async def clusters(settings: Settings) -> list[dict[str, Any]]:
    return await _indexer(settings).clusters()


async def user_projects(settings: Settings, address: str) -> dict[str, list[dict[str, Any]]]:
    """The projects a wallet owns (`owned`) and those shared with it (`shared`), each with its role."""
    return await _indexer(settings).user_projects(address)


async def project(settings: Settings, project_id: str) -> dict[str, Any]:
    return await _indexer(settings).project(project_id)


async def project_versions(settings: Settings, project_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    return await _indexer(settings).project_versions(project_id, limit, offset)


# --- the upload service: mediaproof.clients.upload_async (the paths and answers are the client's) ---

MODES = upload_async.MODES
is_upload_id = upload_routes.is_upload_id


def _uploads(settings: Settings) -> AsyncUploadClient:
    return AsyncUploadClient(settings.resolved_upload_url(), timeout=TIMEOUT, slow_timeout=SLOW_TIMEOUT)


def upload_base(settings: Settings) -> str:
    """Where the browser sends a file's bytes itself (POST /uploads); the service allows this app's origin (CORS)."""
    return settings.resolved_upload_url()


async def sign_in_message(settings: Settings, address: str, origin: str, client_ip: str = "") -> dict[str, Any]:
    """The EIP-4361 message for `address` to sign, naming the page's own `origin`, asked on the page's behalf
    (`client_ip`: the browser's address, for the service's per-address limits on sign-ins)."""
    return await _uploads(settings).sign_in_message(address, origin, client_ip)


async def open_session(settings: Settings, message: str, signature: str, client_ip: str = "") -> dict[str, Any]:
    """`{token, address, expires_at}` of the wallet's session, from the signed message."""
    return await _uploads(settings).open_session(message, signature, client_ip)


async def end_session(settings: Settings, token: str) -> None:
    """Signing out: the token stops working at once."""
    await _uploads(settings).end_session(token)


async def wallet(settings: Settings, address: str) -> dict[str, Any]:
    return await _uploads(settings).wallet(address)


async def onboarding(settings: Settings, token: str) -> dict[str, Any]:
    """MediaApp.register() for the signed-in wallet to send."""
    return await _uploads(settings).onboarding(token)


async def upload(settings: Settings, upload_id: str) -> dict[str, Any]:
    """What the upload service holds for an upload the browser sent: sha256, cid, type, size, variants so far."""
    return await _uploads(settings).status(upload_id)


async def prepare(settings: Settings, token: str, upload_id: str, title: str, mode: str = "batched") -> dict[str, Any]:
    """The record for the signed-in wallet to sign (eth_signTypedData_v4 as it is)."""
    return await _uploads(settings).prepare(token, upload_id, title, mode)


async def commit(settings: Settings, token: str, upload_id: str, signature: str) -> dict[str, Any]:
    """`state` "committed" with the link, batch and proof bundle, or "anchoring" while its batch is still open."""
    return await _uploads(settings).commit(token, upload_id, signature)


async def post_project_manifest(settings: Settings, token: str, project_id: str, manifest: str) -> dict[str, Any]:
    """The manifest stored (every file checked stored and readable by the wallet): its `{cid, sha256, size}`."""
    return await _uploads(settings).post_manifest(token, project_id, manifest)


# --- the download service: a project's manifests and files (private ones with the viewer's session) ---


def _downloads(settings: Settings, token: str) -> AsyncDownloadClient:
    return AsyncDownloadClient(settings.resolved_download_url(), token, timeout=TIMEOUT)


MANIFEST_MAX_BYTES = 32 << 20  # the upload service's own limit on a manifest


async def project_manifest(settings: Settings, token: str, project_id: str, cid: str) -> bytes:
    """A manifest's bytes as stored (check them against the head's sha256). A private project's needs the token of
    a wallet the download service lets read it: NotAuthenticated (401) without one, Forbidden (403) for others."""
    return await _downloads(settings, token).manifest(project_id, cid, MANIFEST_MAX_BYTES)


async def project_file(settings: Settings, token: str, project_id: str, sha256_hex: str, limit: int) -> bytes:
    return await _downloads(settings, token).blob(project_id, sha256_hex, limit)


# --- the chain: reads the page makes before it has the wallet send a ProjectRegistry call ---


async def chain_call(settings: Settings, to: str, data: str) -> str:
    """eth_call on the latest block over JSON-RPC: the hex answer, or ChainError with the node's reason."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": to, "data": data}, "latest"]}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            reply = await client.post(settings.rpc_url, json=request)
        answer = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ServiceUnavailable(f"the chain at {settings.rpc_url} did not answer ({type(exc).__name__})") from None
    if "error" in answer or not isinstance(answer.get("result"), str):
        raise ChainError(f"the chain refused a read of {to}: {answer.get('error')}")
    return str(answer["result"])


# --- follows, likes and comments: the indexer reads them, the upload service takes the signed actions ---


async def followers(settings: Settings, address: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return await _indexer(settings).followers(address, limit, offset)


async def following(settings: Settings, address: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return await _indexer(settings).following(address, limit, offset)


async def comments(settings: Settings, media_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return await _indexer(settings).comments(media_id, limit, offset)


async def feed(settings: Settings, viewer: str, order: str, limit: int, offset: int) -> list[dict[str, Any]]:
    return await _indexer(settings).feed(viewer, order, limit, offset)


async def post_action(
    settings: Settings, kind: str, message: dict[str, Any], signature: str, client_ip: str = ""
) -> dict[str, Any]:
    """A signed follow, like or comment to the upload service: `{action_id, kind, author, state}`."""
    return await _uploads(settings).post_action(kind, message, signature, client_ip)
