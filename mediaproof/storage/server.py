"""The storage cluster's HTTP API: verify and pin uploaded bytes, sign receipts for records, serve and list them.

Every route but GET /health serves only requests a gateway signed (storage/gatekeeper.py). A receipt is signed only
for an owner's record that names bytes this cluster holds (sha256, CID, size), after its IPFS node said that they
are pinned right now. Nothing is kept of uploaded bytes that do not hash (sha256, size, CID, by our count and by
IPFS's) to what the uploader claimed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from mediaproof import eip712
from mediaproof.errors import (
    ContentMismatch,
    InputError,
    NotPinned,
    NotRegistered,
    StorageError,
)
from mediaproof.gateway_auth import SCHEME
from mediaproof.ipfs_client import AsyncIpfsClient, normalize_cid
from mediaproof.problems import add_problem_handlers
from mediaproof.receipts import SignedReceipt, sign_receipt, signer_address
from mediaproof.storage.claims import (
    Claim,
    mismatches,
    parse_claim,
    parse_range,
    parse_sha256,
)
from mediaproof.storage.config import ClusterConfig
from mediaproof.storage.gatekeeper import Authorized, Gatekeeper, GatewayDirectory
from mediaproof.storage.gc import GarbageCollector
from mediaproof.storage.ingest import hash_only, ingest
from mediaproof.storage.keys import load_or_create_key
from mediaproof.storage.metadata import MetadataStore, StoredObject

HEALTH_TIMEOUT = 3.0
PIN_CHECK_TIMEOUT = 10.0
logger = logging.getLogger(__name__)
MAX_PAGE = 1000


@dataclass
class ClusterState:
    """Everything the handlers share: opened in the lifespan, closed after it."""

    config: ClusterConfig
    key: str
    signer: str
    db: MetadataStore
    ipfs: AsyncIpfsClient
    probe: AsyncIpfsClient  # short timeout, for /health
    pins: AsyncIpfsClient  # for "is it pinned right now?" before a receipt
    gatekeeper: Gatekeeper
    gc: GarbageCollector  # unpinned blocks (deleted objects, broken-off uploads) leave the node's blockstore
    commit_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    uploads_in_flight: int = 0

    async def is_pinned(self, cid: str) -> bool:
        return await self.pins.is_pinned(cid)

    def sign(self, record: eip712.MediaRecord) -> SignedReceipt:
        """This cluster's receipt for `record`, issued now (the caller checked that the bytes are held and pinned)."""
        config = self.config
        receipt = eip712.StorageReceipt(
            cluster_id=config.cluster_id,
            sha256=record.sha256,
            owner=record.owner,
            media_id=eip712.media_id(record, config.chain_id, config.media_app),
            issued_at=int(time.time()),
        )
        signature = sign_receipt(receipt, self.key, config.chain_id, config.topology)
        return SignedReceipt(
            receipt.cluster_id, receipt.sha256, receipt.owner, receipt.media_id, receipt.issued_at, signature,
            signer=self.signer,
        )  # fmt: skip

    def pinned_json(self, obj: StoredObject) -> dict[str, Any]:
        return {
            "cluster_id": self.config.cluster_id,
            "sha256": obj.sha256,
            "cid": obj.cid,
            "size": obj.size,
            "pinned": True,
        }


def create_app(config: ClusterConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key = load_or_create_key(config.data_dir)
        directory = GatewayDirectory(config.rpc_url, config.topology, config.chain_id, config.gateway_cache_seconds)
        state = ClusterState(
            config=config,
            key=key,
            signer=signer_address(key),
            db=MetadataStore(config.db_path),
            ipfs=AsyncIpfsClient(config.ipfs_api, timeout=config.ipfs_timeout),
            probe=AsyncIpfsClient(config.ipfs_api, timeout=HEALTH_TIMEOUT),
            pins=AsyncIpfsClient(config.ipfs_api, timeout=PIN_CHECK_TIMEOUT),
            gatekeeper=Gatekeeper(config.cluster_id, directory),
            gc=GarbageCollector(AsyncIpfsClient(config.ipfs_api, timeout=config.ipfs_timeout)),
        )
        app.state.cluster = state
        collecting = asyncio.create_task(state.gc.run())
        try:
            yield
        finally:
            collecting.cancel()
            await asyncio.gather(collecting, return_exceptions=True)
            for client in (state.ipfs, state.probe, state.pins, state.gc.ipfs):
                await client.close()
            state.db.close()

    app = FastAPI(title=f"Mediaproof storage cluster {config.cluster_id}", lifespan=lifespan)
    _add_error_handlers(app)

    def state_of(request: Request) -> ClusterState:
        state: ClusterState = request.app.state.cluster
        return state

    async def authorized(request: Request) -> Authorized:
        return await state_of(request).gatekeeper.check(request)

    # Every route on this router runs `authorized` first (before its parameters are even validated).
    gated = APIRouter(dependencies=[Depends(authorized)])

    def held(state: ClusterState, sha256hex: str) -> StoredObject:
        obj = state.db.get(parse_sha256(sha256hex))
        if obj is None:
            raise NotRegistered(
                f"cluster {state.config.cluster_id} holds no object with sha256 {sha256hex}; "
                "store it first with PUT /objects/<sha256>"
            )
        return obj

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        state = state_of(request)
        try:
            await state.probe.id()
            ipfs = "ok"
        except StorageError as exc:
            ipfs = f"down: {exc}"
        body = {
            "cluster_id": state.config.cluster_id,
            "signer": state.signer,
            "ipfs": ipfs,
            "objects": state.db.count(),
            "uploads_in_flight": state.uploads_in_flight,
            "gc": state.gc.status(),
        }
        return JSONResponse(body, status_code=200 if ipfs == "ok" else 503)

    @gated.get("/objects")
    async def list_objects(
        request: Request, limit: int = Query(100, ge=1, le=MAX_PAGE), after: str = ""
    ) -> dict[str, Any]:
        """One page of the objects recorded here, each with IPFS's word on whether it is pinned right now (one pin
        listing per page): the observer compares what clusters really hold with the gateway's placements."""
        state = state_of(request)
        cursor = parse_sha256(after) if after else ""
        rows = state.db.page(limit, cursor)
        pins = await state.ipfs.pin_ls() if rows else set()
        return {
            "cluster_id": state.config.cluster_id,
            "objects": [row.as_json() | {"pinned": normalize_cid(row.cid) in pins} for row in rows],
            "next": rows[-1].sha256 if len(rows) == limit else None,
        }

    @gated.put("/objects/{sha256hex}")
    async def put_object(
        sha256hex: str,
        request: Request,
        cid: str,
        size: int,
        title: str = "",
        lat: float | None = Query(None, ge=-90, le=90),
        lon: float | None = Query(None, ge=-180, le=180),
        created: int | None = Query(None, ge=0),
    ) -> JSONResponse:
        state = state_of(request)
        claim = parse_claim(sha256hex, cid, size, state.config.max_upload_bytes)
        existing = state.db.get(claim.sha256)
        if existing is not None and await state.is_pinned(existing.cid):
            # Already verified and pinned: hash the body to hold the uploader to its claim, but add nothing.
            digest = await hash_only(request.stream(), state.config.max_upload_bytes)
            _raise_on_mismatch(claim, mismatches(claim, digest, None), state)
            return JSONResponse(state.pinned_json(existing), status_code=200)
        # New bytes, or bytes whose pin went away behind our back: add them (again) and pin.
        state.uploads_in_flight += 1
        try:
            # From the add to the pin the blocks are unpinned: no garbage collection may run in between.
            async with state.gc.writing():
                try:
                    result = await ingest(request.stream(), state.ipfs, claim.size, state.config.max_upload_bytes)
                except BaseException:
                    state.gc.request()  # broken off or failed: the blocks written so far belong to no pin
                    raise
                problems = mismatches(claim, result.digest, result.added.cid)
                if problems:
                    await _discard(state, result.added.cid)
                    state.gc.request()  # whatever _discard had to leave (blocks another upload may share)
                    _raise_on_mismatch(claim, problems, state)
                async with state.commit_lock:
                    obj = state.db.get(claim.sha256)
                    if obj is None or existing is not None:  # new, or its pin went away
                        await state.ipfs.pin_add(claim.cid)
                    if obj is None:
                        now = int(time.time())
                        obj = state.db.insert(
                            StoredObject(
                                sha256=claim.sha256,
                                cid=claim.cid,
                                size=claim.size,
                                title=title,
                                lat=lat,
                                lon=lon,
                                created=created if created is not None else now,
                                pinned_at=now,
                            )
                        )
        finally:
            state.uploads_in_flight -= 1
        return JSONResponse(state.pinned_json(obj), status_code=201)

    @gated.post("/objects/{sha256hex}/receipts")
    async def post_receipt(sha256hex: str, request: Request, auth: Authorized = Depends(authorized)) -> dict[str, Any]:
        """A receipt for an owner's record of bytes held here, signed only while IPFS has them pinned."""
        state = state_of(request)
        sha256 = parse_sha256(sha256hex)
        record = _parse_record(auth.body)
        if record.sha256.hex() != sha256:
            raise InputError(
                f"the record names sha256 {record.sha256.hex()}, not {sha256} as the path does: ask for a receipt at "
                "the record's own /objects/<sha256>/receipts"
            )
        obj = held(state, sha256)
        problems = []
        if record.cid != obj.cid:
            problems.append(f"its CID is {record.cid}, but the object's is {obj.cid}")
        if record.size != obj.size:
            problems.append(f"its size is {record.size}, but the object is {obj.size} bytes")
        if problems:
            raise InputError(
                f"the record does not describe the bytes cluster {state.config.cluster_id} holds as {sha256}: "
                f"{'; '.join(problems)}. No receipt was signed."
            )
        if not await state.is_pinned(obj.cid):
            raise NotPinned(
                f"cluster {state.config.cluster_id} has {sha256} on record, but its IPFS node does not have CID "
                f"{obj.cid} pinned now, so it signs no receipt: store the bytes again (PUT /objects/{sha256})"
            )
        return state.sign(record).to_json()

    @gated.head("/objects/{sha256hex}")
    async def head_object(sha256hex: str, request: Request) -> Response:
        """The object's headers, and X-Pinned: whether IPFS has it pinned right now (so a sender knows to resend)."""
        state = state_of(request)
        obj = held(state, sha256hex)
        headers = _object_headers(obj, obj.size)
        headers["X-Pinned"] = "true" if await state.is_pinned(obj.cid) else "false"
        return Response(status_code=200, headers=headers)

    @gated.get("/objects/{sha256hex}")
    async def get_object(
        sha256hex: str,
        request: Request,
        offset: int = Query(0, ge=0),
        length: int | None = Query(None, ge=0),
    ) -> Response:
        state = state_of(request)
        obj = held(state, sha256hex)
        wanted = parse_range(request.headers.get("range"), obj.size)
        status = 206 if wanted is not None else 200
        if wanted is None:
            start = min(offset, obj.size)
            count = obj.size - start if length is None else min(length, obj.size - start)
        else:
            start, count = wanted.offset, wanted.length
        headers = _object_headers(obj, count)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{obj.size}"
        # The node answers, and its first chunk arrives, before we do: a dead or failing IPFS node gives a 503, not
        # a broken 200.
        chunks = await state.ipfs.cat(obj.cid, offset=start, length=count)
        try:
            first = await anext(chunks, b"")
        except BaseException:
            await chunks.aclose()
            raise
        # The stream is closed however the response ends, a reader hanging up included.
        return StreamingResponse(
            _prepend(first, chunks), status_code=status, headers=headers, background=BackgroundTask(chunks.aclose)
        )

    @gated.delete("/objects/{sha256hex}")
    async def delete_object(sha256hex: str, request: Request) -> dict[str, Any]:
        """Unpin and forget; the blocks go at the garbage collection this asks for (GET /health shows it done)."""
        state = state_of(request)
        obj = held(state, sha256hex)
        async with state.commit_lock:
            # A pin already removed behind our back is no reason to keep the record.
            if await state.is_pinned(obj.cid):
                await state.ipfs.pin_rm(obj.cid)
            state.db.delete(obj.sha256)
        state.gc.request()
        return {"cluster_id": state.config.cluster_id, "sha256": obj.sha256, "deleted": True}

    app.include_router(gated)
    return app


def _parse_record(body: bytes) -> eip712.MediaRecord:
    """The owner's record from a receipt request's body `{"record": <MediaRecord typed-data message>}`."""
    try:
        message = json.loads(body)["record"]
        if not isinstance(message, dict):
            raise TypeError(f"record is a {type(message).__name__}, not an object")
        return eip712.MediaRecord.from_message(message)
    except (ValueError, KeyError, TypeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise InputError(
            f'the body must be JSON {{"record": <MediaRecord typed-data message>}} as the owner signed it ({what})'
        ) from exc


async def _discard(state: ClusterState, cid: str) -> None:
    """Remove the blocks of an upload that failed its checks, unless another upload might share them.

    Blocks under a pin are refused by the node; an upload still in flight may be writing the same blocks unpinned,
    so with others in flight the blocks are left to the node's garbage collection.
    """
    if state.uploads_in_flight > 1 or state.db.holds_cid(cid):
        return
    async with state.commit_lock:
        await state.ipfs.block_rm([cid, *await state.ipfs.refs(cid)])


def _raise_on_mismatch(claim: Claim, problems: list[str], state: ClusterState) -> None:
    if problems:
        raise ContentMismatch(
            f"the bytes sent for sha256 {claim.sha256} do not match the claim: {'; '.join(problems)}. "
            f"Cluster {state.config.cluster_id} kept nothing; hash the file again and resend."
        )


def _object_headers(obj: StoredObject, length: int) -> dict[str, str]:
    return {
        "Content-Length": str(length),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        # Content is named by its hash, so it never changes under this name.
        "ETag": f'"{obj.sha256}"',
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-CID": obj.cid,
        "X-Content-Size": str(obj.size),
    }


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _add_error_handlers(app: FastAPI) -> None:
    add_problem_handlers(app, www_authenticate=SCHEME)

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The uploader hung up mid-body: the add was aborted and nothing pinned; no one is left to answer.
        logger.info("upload to %s broken off by the client; nothing kept", request.url.path)
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, client_gone)
