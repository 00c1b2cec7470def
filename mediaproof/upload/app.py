"""The upload service's HTTP API (FastAPI). Every expected failure answers 4xx/5xx JSON {detail, error}.

POST /uploads                      body = the file's bytes (streamed)  → upload id, sha256, cid, type, size
GET  /uploads/{id}                 the same, with variants as they become ready
POST /uploads/{id}/prepare         {owner, title, parent?}      → EIP-712 typed data of the record to sign
POST /uploads/{id}/commit          {signature, send?}           → short id, link, media id, tx, block
POST /uploads/{id}/confirm         {tx}                         → the link, after the client sent it itself
POST /users                        {owner, deposit_wei?}        → MediaApp.register() for the wallet to send
GET  /users/{address}              user contract and deposit
POST /media/{media_id}/delete/prepare                           → EIP-712 DeleteMedia to sign
POST /media/{media_id}/delete      {nonce, deadline, signature} → tombstoned; bytes unpinned if unused
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from eth_account import Account
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect
from web3.exceptions import TransactionNotFound

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.errors import (
    ChainError,
    ContentMismatch,
    InputError,
    MediaproofError,
    MediaTooLarge,
    NotRegistered,
    ReceiptError,
    SignatureRefused,
    StorageError,
    UploadConflict,
)
from mediaproof.gateway_store import GatewayStore, Rendition
from mediaproof.keygen import KeyGenerator
from mediaproof.register import SIGNATURE_LIFETIME, media_id_of, new_record, register_call
from mediaproof.settings import Settings
from mediaproof.upload.intake import inspect_media, receive, remove_quietly
from mediaproof.upload.ledger import Upload, UploadLedger
from mediaproof.upload.placement import Placer
from mediaproof.upload.relay import Relay, checked_address, parse_signature, relayer_key
from mediaproof.upload.variant_queue import Spool, VariantWorkers

logger = logging.getLogger(__name__)
T = TypeVar("T")
VARIANT_ORDER = ("large", "medium", "small", "poster")
VARIANT_POLL = 0.05


@dataclass
class Service:
    settings: Settings
    chain: MediaproofChain
    placer: Placer
    relay: Relay
    keygen: KeyGenerator
    spool: Spool
    workers: VariantWorkers
    incoming: Path
    _local: threading.local = field(default_factory=threading.local)
    _commit_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def db_path(self) -> Path:
        return self.settings.resolved_gateway_db()

    def store(self) -> GatewayStore:
        """This thread's connection to the gateway database (sqlite connections are not shared across threads)."""
        if not hasattr(self._local, "store"):
            self._local.store = GatewayStore(self.db_path)
        store: GatewayStore = self._local.store
        return store

    def ledger(self) -> UploadLedger:
        if not hasattr(self._local, "ledger"):
            self._local.ledger = UploadLedger(self.db_path)
        ledger: UploadLedger = self._local.ledger
        return ledger

    def commit_lock(self, upload_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._commit_locks.setdefault(upload_id, threading.Lock())


def build_service(settings: Settings) -> Service:
    chain = MediaproofChain.from_settings(settings)
    relayer = Account.from_key(relayer_key(settings, chain.chain_id))
    placer = Placer(chain, settings.http_timeout)
    placer.topology()  # build the ring now, not on the first upload
    work_dir = settings.data_dir / "upload"
    incoming = work_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for leftover in incoming.glob("upload-*.part"):  # bodies a crashed process was receiving
        remove_quietly(leftover)
    spool = Spool(work_dir / "spool")
    db_path = settings.resolved_gateway_db()
    GatewayStore(db_path).close()  # create the tables before any reader or worker opens the file
    UploadLedger(db_path).close()
    return Service(
        settings=settings,
        chain=chain,
        placer=placer,
        relay=Relay(chain, relayer),
        keygen=KeyGenerator(db_path, lease_size=settings.keygen_lease_size, label="upload"),
        spool=spool,
        workers=VariantWorkers(db_path, placer, spool, settings.variant_workers, settings.variant_max_attempts),
        incoming=incoming,
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(build_service, settings)
        app.state.service = service
        service.workers.start()
        try:
            yield
        finally:
            service.workers.stop()
            service.placer.close()

    app = FastAPI(title="Mediaproof upload service", lifespan=lifespan)
    # The web app's page sends the file's bytes here itself (XMLHttpRequest, for real progress), so its origin
    # must be allowed; the JSON calls that follow come from the web app's backend and need no CORS.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.resolved_upload_cors_origins(),
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
        max_age=600,
    )
    _add_error_handlers(app)

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    async def run(fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args)

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        service = service_of(request)
        return {"ok": True, "relayer": service.relay.relayer.address, "chain_id": service.chain.chain_id}

    @app.post("/uploads", status_code=201)
    async def create_upload(request: Request) -> JSONResponse:
        service = service_of(request)
        limit = service.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise MediaTooLarge(
                f"the file is {int(declared)} bytes, over the upload limit of {limit} bytes: send a smaller file"
            )
        received = await receive(request.stream(), service.incoming, limit)
        try:
            body = await run(accept_upload, service, received.path, received.digest, received.head)
        finally:
            remove_quietly(received.path)  # kept files were renamed into the spool; anything left is refuse
        service.workers.wake()
        return JSONResponse(body, status_code=201)

    @app.get("/uploads/{upload_id}")
    async def get_upload(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        return await run(lambda: describe(service, find_upload(service, upload_id)))

    @app.post("/uploads/{upload_id}/prepare")
    async def prepare(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        body = await json_body(request)
        upload = await run(find_upload, service, upload_id)
        if upload.state == "committed":
            raise UploadConflict(f"upload {upload_id} is already registered as media {upload.media_id}")
        owner = checked_address(body.get("owner"))
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise InputError("title is missing or empty: give the media a title")
        if len(title.encode()) > 1000:
            raise InputError("title is over 1000 bytes: shorten it")
        parent = parse_parent(body.get("parent"))
        await wait_for_variants(service, upload.sha256, service.settings.prepare_variant_wait)
        return await run(prepare_record, service, upload, owner, title.strip(), parent)

    @app.post("/uploads/{upload_id}/commit")
    async def commit(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        body = await json_body(request)
        send = body.get("send", "relayer")
        if send not in ("relayer", "client"):
            raise InputError(f"send must be 'relayer' (the service sends it) or 'client' (you do), not {send!r}")
        signature = parse_signature(body.get("signature"))
        return await run(commit_upload, service, upload_id, signature, send)

    @app.post("/uploads/{upload_id}/confirm")
    async def confirm(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        body = await json_body(request)
        tx = body.get("tx")
        if not isinstance(tx, str) or len(tx.removeprefix("0x")) != 64:
            raise InputError("tx must be the 0x-hex hash of the transaction that sent registerMedia")
        return await run(confirm_upload, service, upload_id, tx)

    @app.post("/users")
    async def onboard(request: Request) -> dict[str, Any]:
        service = service_of(request)
        body = await json_body(request)
        owner = checked_address(body.get("owner"))
        deposit = body.get("deposit_wei")
        if deposit is not None:
            try:
                deposit = int(deposit)
            except (TypeError, ValueError):
                raise InputError(f"deposit_wei {deposit!r} is not a whole number of wei") from None
        return await run(service.relay.onboarding, owner, deposit)

    @app.get("/users/{address}")
    async def user(address: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        owner = checked_address(address, "address")
        return (await run(service.relay.wallet, owner)).as_json()

    @app.post("/media/{media_id}/delete/prepare")
    async def delete_prepare(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        return await run(prepare_delete, service, parse_media_id(media_id))

    @app.post("/media/{media_id}/delete")
    async def delete(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        body = await json_body(request)
        try:
            nonce, deadline = int(body["nonce"]), int(body["deadline"])
        except (KeyError, TypeError, ValueError):
            raise InputError("nonce and deadline (the DeleteMedia fields from delete/prepare) are required") from None
        signature = parse_signature(body.get("signature"))
        return await run(delete_media, service, parse_media_id(media_id), nonce, deadline, signature)

    return app


# --- the steps, each run on a worker thread ---


def accept_upload(service: Service, path: Path, digest: ContentDigest, head: bytes) -> dict[str, Any]:
    """Validate by content, store the original on R clusters (unless already there), queue its variants."""
    facts = inspect_media(path, head, digest.size)
    store, ledger = service.store(), service.ledger()
    sha = digest.sha256_hex
    already = bool(store.placements(sha))
    receipts = service.placer.place(store, digest, path)
    store.put_rendition(
        sha,
        Rendition("original", sha, digest.cid, digest.size, facts.media_type, facts.width, facts.height, True),
    )
    upload_id = secrets.token_urlsafe(12)
    ledger.add_upload(upload_id, sha, digest.cid, digest.size, facts.media_type, facts.width, facts.height,
                      facts.duration)  # fmt: skip
    job = ledger.job(sha)
    made = any(name != "original" for name in store.renditions_of(sha))
    if job is None or job.state == "failed" or (job.state == "done" and not made):
        if not service.spool.path(sha).exists():
            service.spool.keep(path, sha)  # the worker makes the variants from this copy
        if job is not None and job.state == "done":
            ledger.forget_job(sha)  # done once, but its renditions went with a delete: make them again
        ledger.enqueue(sha, facts.media_type)
    answer = describe(service, ledger.get(upload_id))  # type: ignore[arg-type]
    answer["deduplicated"] = already
    answer["clusters"] = [r.cluster_id for r in receipts]
    return answer


def describe(service: Service, upload: Upload) -> dict[str, Any]:
    store = service.store()
    made = {
        name: {
            "sha256": r.sha256,
            "cid": r.cid,
            "size": r.size,
            "media_type": r.media_type,
            "width": r.width,
            "height": r.height,
        }
        for name, r in store.renditions_of(upload.sha256).items()
        if name != "original" and r.ready
    }
    job = service.ledger().job(upload.sha256)
    answer: dict[str, Any] = {
        "upload_id": upload.upload_id,
        "sha256": upload.sha256,
        "cid": upload.cid,
        "media_type": upload.media_type,
        "size": upload.size,
        "width": upload.width,
        "height": upload.height,
        "variants": made,
        "variants_state": job.state if job else "none",
        "state": upload.state,
    }
    if upload.duration is not None:
        answer["duration"] = upload.duration
    if upload.state == "committed":
        answer.update(committed_answer(upload))
    return answer


def find_upload(service: Service, upload_id: str) -> Upload:
    upload = service.ledger().get(upload_id)
    if upload is None:
        raise NotRegistered(f"no upload with id {upload_id!r}: POST the file to /uploads first")
    return upload


async def wait_for_variants(service: Service, sha256: str, seconds: float) -> None:
    """Until the variant job is done or failed, at most `seconds` (prepare signs whatever is ready by then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = await anyio.to_thread.run_sync(service.ledger().job, sha256)
        if job is None or job.state in ("done", "failed"):
            return
        await asyncio.sleep(VARIANT_POLL)


def prepare_record(service: Service, upload: Upload, owner: str, title: str, parent: bytes) -> dict[str, Any]:
    user_contract = service.relay.user_contract(owner)
    rows = service.store().renditions_of(upload.sha256)
    variants = tuple(
        eip712.MediaVariant(name, bytes.fromhex(rows[name].sha256), rows[name].cid, rows[name].size)
        for name in VARIANT_ORDER
        if name in rows and rows[name].ready
    )
    digest = ContentDigest(bytes.fromhex(upload.sha256), upload.cid, upload.size)
    record = new_record(digest, upload.media_type, title, variants, parent)
    service.ledger().prepare(upload.upload_id, owner, title, user_contract, record_json(record))
    typed = eip712.record_typed_data(record, service.chain.chain_id, user_contract)
    return {
        "upload_id": upload.upload_id,
        "owner": owner,
        "user_contract": user_contract,
        "media_id": media_id_of(record, service.chain.chain_id, user_contract),
        "typed_data": eip712.to_json(typed),
        "variants": [v.name for v in variants],
        "expires_at": record.deadline,
    }


def record_json(record: eip712.MediaRecord) -> dict[str, Any]:
    return {
        "sha256": record.sha256.hex(),
        "cid": record.cid,
        "size": record.size,
        "media_type": record.media_type,
        "title": record.title,
        "variants": [[v.name, v.sha256.hex(), v.cid, v.size] for v in record.variants],
        "parent": record.parent.hex(),
        "nonce": str(record.nonce),
        "deadline": record.deadline,
    }


def record_from_json(data: dict[str, Any]) -> eip712.MediaRecord:
    return eip712.MediaRecord(
        sha256=bytes.fromhex(data["sha256"]),
        cid=data["cid"],
        size=int(data["size"]),
        media_type=data["media_type"],
        title=data["title"],
        nonce=int(data["nonce"]),
        deadline=int(data["deadline"]),
        variants=tuple(eip712.MediaVariant(n, bytes.fromhex(s), c, int(z)) for n, s, c, z in data["variants"]),
        parent=bytes.fromhex(data["parent"]),
    )


def commit_upload(service: Service, upload_id: str, signature: bytes, send: str) -> dict[str, Any]:
    with service.commit_lock(upload_id):
        upload = find_upload(service, upload_id)
        if upload.state == "committed":
            return committed_answer(upload)
        if upload.state != "prepared" or upload.record is None or upload.owner is None or not upload.user_contract:
            raise UploadConflict(f"upload {upload_id} has not been prepared: POST /uploads/{upload_id}/prepare first")
        record = record_from_json(upload.record)
        chain_id = service.chain.chain_id
        typed = eip712.record_typed_data(record, chain_id, upload.user_contract)
        try:
            signer = eip712.recover(typed, signature)
        except Exception:
            raise SignatureRefused(
                "the signature does not recover to any address: sign the prepared typed data"
            ) from None
        if signer != upload.owner:
            raise SignatureRefused(
                f"the record was signed by {signer}, not by its owner {upload.owner}: "
                "sign the typed data from prepare with the owner's wallet"
            )
        if record.deadline <= time.time():
            raise UploadConflict(f"the prepared record expired at {record.deadline}: prepare again and sign anew")
        digest = ContentDigest(record.sha256, record.cid, record.size)
        store = service.store()

        def bytes_back() -> Path:
            spooled = service.spool.path(upload.sha256)
            if spooled.exists():
                return spooled
            return service.placer.fetch_to(store, upload.sha256, service.incoming / f"upload-{upload_id}.part")

        # Fresh receipts from R distinct active clusters: each re-confirms its copy is pinned right now.
        receipts = service.placer.place(store, digest, bytes_back, title=record.title)
        remove_quietly(service.incoming / f"upload-{upload_id}.part")
        media = media_id_of(record, chain_id, upload.user_contract)
        if send == "client":
            call = register_call(service.chain, upload.user_contract, record, signature, receipts)
            service.ledger().set_media_id(upload_id, media)
            return {
                "send": "client",
                "media_id": media,
                "transaction": {"from": upload.owner, **service.relay.calldata(call, upload.user_contract)},
                "clusters": [r.cluster_id for r in receipts],
                "then": f'POST /uploads/{upload_id}/confirm with {{"tx": <hash>}} for the link',
            }
        call = register_call(service.chain, upload.user_contract, record, signature, receipts)
        tx = service.relay.send(call)
        tx_hex = "0x" + bytes(tx["transactionHash"]).hex()
        return link_upload(service, upload, media, tx_hex, int(tx["blockNumber"]), [r.cluster_id for r in receipts])


def confirm_upload(service: Service, upload_id: str, tx: str) -> dict[str, Any]:
    with service.commit_lock(upload_id):
        upload = find_upload(service, upload_id)
        if upload.state == "committed":
            return committed_answer(upload)
        if upload.media_id is None or upload.user_contract is None:
            raise UploadConflict(f"upload {upload_id} was not committed with send=client: commit it first")
        try:
            receipt = service.relay.registered_in(upload.user_contract, tx, upload.media_id)
        except TransactionNotFound:
            raise NotRegistered(f"no mined transaction {tx}: wait for it to be mined and confirm again") from None
        tx_hex = "0x" + bytes(receipt["transactionHash"]).hex()
        return link_upload(service, upload, upload.media_id, tx_hex, int(receipt["blockNumber"]), [])


def link_upload(
    service: Service, upload: Upload, media: str, tx: str, block: int, clusters: list[int]
) -> dict[str, Any]:
    short_id = service.keygen.next_id()
    assert upload.owner is not None and upload.title is not None
    service.store().add_link(short_id, upload.sha256, upload.owner, upload.title, upload.media_type, upload.size, media)
    service.ledger().commit(upload.upload_id, media, short_id, tx, block)
    answer = committed_answer(find_upload(service, upload.upload_id))
    if clusters:
        answer["clusters"] = clusters
    return answer


def committed_answer(upload: Upload) -> dict[str, Any]:
    return {
        "short_id": upload.short_id,
        "link": f"/m/{upload.short_id}",
        "media_id": upload.media_id,
        "tx": upload.tx,
        "block": upload.block,
        "sha256": upload.sha256,
        "cid": upload.cid,
    }


def prepare_delete(service: Service, media: str) -> dict[str, Any]:
    upload = committed_upload(service, media)
    assert upload.user_contract is not None
    order = eip712.DeleteMedia(bytes.fromhex(media[2:]), secrets.randbits(256), int(time.time()) + SIGNATURE_LIFETIME)
    typed = eip712.delete_typed_data(order, service.chain.chain_id, upload.user_contract)
    return {
        "media_id": media,
        "owner": upload.owner,
        "nonce": str(order.nonce),
        "deadline": order.deadline,
        "typed_data": eip712.to_json(typed),
    }


def committed_upload(service: Service, media: str) -> Upload:
    upload = service.ledger().by_media_id(media)
    if upload is None or upload.state != "committed" or upload.user_contract is None:
        raise NotRegistered(f"no media {media} was registered through this upload service")
    return upload


def delete_media(service: Service, media: str, nonce: int, deadline: int, signature: bytes) -> dict[str, Any]:
    upload = committed_upload(service, media)
    assert upload.user_contract is not None
    order = eip712.DeleteMedia(bytes.fromhex(media[2:]), nonce, deadline)
    typed = eip712.delete_typed_data(order, service.chain.chain_id, upload.user_contract)
    try:
        signer = eip712.recover(typed, signature)
    except Exception:
        raise SignatureRefused("the delete signature does not recover to any address") from None
    if signer != upload.owner:
        raise SignatureRefused(f"the delete order was signed by {signer}, not by the owner {upload.owner}")
    receipt = service.relay.send(service.relay.delete_call(upload.user_contract, order, signature))
    store = service.store()
    store.mark_deleted(media)
    unpinned: dict[str, list[int]] = {}
    rows = store.renditions_of(upload.sha256)
    for sha in [upload.sha256, *(r.sha256 for name, r in rows.items() if name != "original")]:
        if store.live_links_to(sha) == 0:
            unpinned[sha] = service.placer.unpin(store, sha)
    if store.live_links_to(upload.sha256) == 0:
        # Nothing points at these bytes any more: a later upload of them starts afresh (store and variants).
        store.drop_renditions(upload.sha256)
        service.ledger().forget_job(upload.sha256)
        service.spool.drop(upload.sha256)
    return {
        "media_id": media,
        "deleted": True,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": int(receipt["blockNumber"]),
        "unpinned": unpinned,
    }


# --- request parsing ---


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except Exception:
        raise InputError("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


def parse_parent(value: object) -> bytes:
    if value in (None, "", "0x" + "00" * 32):
        return eip712.ZERO32
    return bytes.fromhex(parse_media_id(value)[2:])


def parse_media_id(value: object) -> str:
    if isinstance(value, str):
        text = value.lower().removeprefix("0x")
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
            return "0x" + text
    raise InputError(f"{value!r} is not a media id (0x + 64 hex digits, the record's EIP-712 digest)")


_STATUS: list[tuple[type[Exception], int]] = [
    (MediaTooLarge, 413),
    (SignatureRefused, 403),
    (UploadConflict, 409),
    (ContentMismatch, 502),
    (InputError, 422),
    (ReceiptError, 422),
    (NotRegistered, 404),
    (ChainError, 502),
    (StorageError, 503),
    (MediaproofError, 500),
]


def _add_error_handlers(app: FastAPI) -> None:
    async def known_error(request: Request, exc: Exception) -> JSONResponse:
        status = next(code for kind, code in _STATUS if isinstance(exc, kind))
        if status >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    async def client_gone(request: Request, exc: Exception) -> Response:
        logger.info("upload broken off by the client; its temp file is removed")
        return Response(status_code=400)

    for kind, _ in _STATUS:
        app.add_exception_handler(kind, known_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
