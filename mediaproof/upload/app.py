"""The upload service's HTTP API (FastAPI). Every expected failure answers 4xx/5xx JSON {detail, error}; when the
decode budget has no room in time, 503 with Retry-After (see upload/decode_budget.py).

Every write needs `Authorization: Bearer <token>` of a signed-in wallet (mediaproof.upload.sessions), is refused
from a foreign web origin (mediaproof.upload.access), and counts against rate limits (mediaproof.upload.quotas).

POST /auth/nonce                   {address, origin?}           → {nonce, message}: the EIP-4361 message to sign
POST /auth/session                 {message, signature}         → {token, address, expires_at}
GET  /auth/session · DELETE /auth/session                       the session's wallet · sign out
POST /uploads                      body = the file's bytes (streamed)  → upload id, sha256, cid, type, size
GET  /uploads/{id}                 the same, with variants as they become ready
POST /uploads/{id}/prepare         {owner, title, parent?, mode?} → EIP-712 typed data of the record to sign
POST /uploads/{id}/commit          {signature, send?}           → once its batch is anchored (or it is registered
                                                                  directly): short id, link, media id, tx, block,
                                                                  batch and its portable proof bundle
POST /uploads/{id}/confirm         {tx}                         → the link, after the client sent it itself
POST /users                        {owner, deposit_wei?}        → MediaApp.register() for the wallet to send
GET  /users/{address}              user contract and deposit
POST /media/{media_id}/delete/prepare                           → EIP-712 DeleteMedia to sign
POST /media/{media_id}/delete      {nonce, deadline, signature} → tombstoned; bytes unpinned if nothing else needs
                                                                  them (mediaproof.upload.garbage)
POST /projects/{pid}/missing · PUT /projects/{pid}/blobs/{sha256} · POST /projects/{pid}/manifests
                                   a project's files and manifests (mediaproof.upload.projects_api)
OPTIONS · POST /files/ · HEAD · PATCH · DELETE /files/{id}     resumable uploads, tus 1.0.0 (mediaproof.upload.tus)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from mediaproof import eip712, faults
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.errors import (
    ChainError,
    ContractRefused,
    Forbidden,
    InputError,
    MediaproofError,
    MediaTooLarge,
    NotRegistered,
    SignatureRefused,
    UploadConflict,
)
from mediaproof.gateway_store import GatewayStore
from mediaproof.keygen import KeyGenerator
from mediaproof.problems import add_problem_handlers
from mediaproof.project_store import ProjectStore
from mediaproof.safe_text import check_title
from mediaproof.settings import Settings
from mediaproof.upload.access import (
    OriginGuard,
    client_address,
    json_body,
    require_owner,
    require_uploader,
    signed_in_wallet,
)
from mediaproof.upload.actions_api import action_routes
from mediaproof.upload.admission import admit, describe
from mediaproof.upload.auth_api import auth_routes
from mediaproof.upload.batch_store import BatchStore
from mediaproof.upload.batcher import Batcher
from mediaproof.upload.decode_budget import DecodeBudget, budget_from
from mediaproof.upload.garbage import expire_uploads, release
from mediaproof.upload.intake import receive, remove_quietly
from mediaproof.upload.ledger import Upload, UploadLedger
from mediaproof.upload.placement import Placer
from mediaproof.upload.projects import Projects
from mediaproof.upload.projects_api import project_routes
from mediaproof.upload.quotas import Quotas
from mediaproof.upload.reconcile import reconcile, settle
from mediaproof.upload.registration import (
    MODES,
    SIGNATURE_LIFETIME,
    anchored,
    commit_upload,
    committed_answer,
    confirm_upload,
    prepare_record,
)
from mediaproof.upload.relay import Relay, checked_address, parse_signature, parse_uint
from mediaproof.upload.sessions import SessionStore
from mediaproof.upload.tus import TUS_ANSWER_HEADERS, TUS_REQUEST_HEADERS, tus_routes
from mediaproof.upload.tus_store import TusStore
from mediaproof.upload.upkeep import Upkeep
from mediaproof.upload.variant_queue import Spool, VariantWorkers
from mediaproof.verify import ChainReader

logger = logging.getLogger(__name__)
T = TypeVar("T")
VARIANT_POLL = 0.05
ANCHOR_WAIT_MARGIN = 30.0  # seconds beyond the batch interval a commit waits for its batch's anchor


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
    reader: ChainReader
    budget: DecodeBudget  # the one decode budget of this process: upload checks and variant jobs share it
    sessions: SessionStore
    quotas: Quotas
    projects: Projects
    partials: TusStore  # resumable uploads in progress (mediaproof.upload.tus)
    batcher: Batcher | None = None
    _local: threading.local = field(default_factory=threading.local)
    _commit_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)
    _blob_locks: tuple[threading.Lock, ...] = field(default_factory=lambda: tuple(threading.Lock() for _ in range(64)))

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

    def batches(self) -> BatchStore:
        if not hasattr(self._local, "batches"):
            self._local.batches = BatchStore(self.db_path)
        batches: BatchStore = self._local.batches
        return batches

    def commit_lock(self, upload_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._commit_locks.setdefault(upload_id, threading.Lock())

    def blob_lock(self, original: str) -> threading.Lock:
        """Held from an upload's placement to its row, and by a release from its check to its unpin (one of a
        fixed set of locks, picked by the sha256: bounded, and rarely shared)."""
        return self._blob_locks[int(original[:8], 16) % len(self._blob_locks)]


def build_service(settings: Settings) -> Service:
    faults.arm(settings.upload_test_hold_at)
    chain = MediaproofChain.from_settings(settings)
    gateway = gateway_account(settings, chain.chain_id)
    placer = Placer(chain, gateway, settings.http_timeout)
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
    BatchStore(db_path).close()
    relay = Relay(chain, gateway)
    budget = budget_from(settings)
    service = Service(
        settings=settings,
        chain=chain,
        placer=placer,
        relay=relay,
        keygen=KeyGenerator(db_path, lease_size=settings.keygen_lease_size, label="upload"),
        spool=spool,
        workers=VariantWorkers(
            db_path, placer, spool, settings.variant_workers, settings.variant_max_attempts, budget=budget
        ),
        incoming=incoming,
        reader=ChainReader(chain.w3, chain.media_app.address, chain.topology.address),
        budget=budget,
        sessions=SessionStore(db_path, settings.upload_nonce_lifetime, settings.upload_session_lifetime),
        quotas=Quotas(db_path, settings),
        projects=Projects(ProjectStore(db_path)),
        partials=TusStore(db_path, work_dir / "tus"),
    )
    service.batcher = Batcher(
        db_path,
        chain,
        relay,
        placer,
        settings.batch_max_files,
        settings.batch_interval,
        on_anchored=lambda entries, batch, tx: anchored(service, entries, batch, tx),
    )
    return service


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(build_service, settings)
        app.state.service = service
        service.workers.start()
        service.batcher.start()  # type: ignore[union-attr]
        # First sweep at once: registrations a killed process left on chain without a link get it now.
        upkeep = Upkeep(
            settings.upload_sweep_interval,
            [("reconcile", lambda: reconcile(service)), ("expire", lambda: expire_uploads(service))],
        )
        upkeep.start()
        app.state.upkeep = upkeep
        try:
            yield
        finally:
            upkeep.stop()
            service.batcher.stop()  # type: ignore[union-attr]
            service.workers.stop()
            service.placer.close()

    app = FastAPI(title="Mediaproof upload service", lifespan=lifespan)
    # The web app's page sends the file's bytes here itself (XMLHttpRequest, for real progress) with the wallet's
    # bearer token, so its origin must be allowed, with the authorization header; writes from any other origin are
    # refused before their body is read (OriginGuard, inside CORS so that preflights are answered first).
    app.add_middleware(OriginGuard, allowed=settings.resolved_upload_cors_origins())
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.resolved_upload_cors_origins(),
        allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"],
        allow_headers=["content-type", "authorization", *TUS_REQUEST_HEADERS],
        expose_headers=["retry-after", *TUS_ANSWER_HEADERS],
        max_age=600,
    )
    _add_error_handlers(app)
    app.include_router(auth_routes())
    app.include_router(project_routes())
    app.include_router(action_routes())
    app.include_router(tus_routes())

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    async def run(fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args)

    async def signed_in(request: Request) -> str:
        return await signed_in_wallet(request, service_of(request).sessions)

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        service = service_of(request)
        return {
            "ok": True,
            "gateway": service.relay.gateway.address,
            "chain_id": service.chain.chain_id,
            "open_uploads": service.quotas.open,
            "decoding": service.budget.snapshot(),
            "sweeps": request.app.state.upkeep.sweeps,
        }

    @app.post("/uploads", status_code=201)
    async def create_upload(request: Request) -> JSONResponse:
        service = service_of(request)
        wallet = await signed_in(request)
        client = client_address(request)
        limit = service.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise MediaTooLarge(
                f"the file is {int(declared)} bytes, over the upload limit of {limit} bytes: send a smaller file"
            )

        async def charge(size: int) -> None:  # a body without Content-Length is counted as it streams
            await run(service.quotas.charge_bytes, wallet, client, size)

        async with service.quotas.receiving(wallet, client):
            if declared is not None and declared.isdigit():
                await charge(int(declared))
            received = await receive(
                request.stream(), service.incoming, limit, service.settings.upload_idle_timeout,
                None if declared is not None and declared.isdigit() else charge,
            )  # fmt: skip
            try:
                body = await admit(service, received, wallet)
            finally:
                remove_quietly(received.path)  # kept files were renamed into the spool; anything left is refuse
        return JSONResponse(body, status_code=201)

    @app.get("/uploads/{upload_id}")
    async def get_upload(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        return await run(lambda: describe(service, find_upload(service, upload_id)))

    @app.post("/uploads/{upload_id}/prepare")
    async def prepare(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        upload = await run(find_upload, service, upload_id)
        require_uploader(upload, wallet)
        if upload.state in ("committed", "anchoring"):
            raise UploadConflict(f"upload {upload_id} is already signed and registered as media {upload.media_id}")
        owner = checked_address(body.get("owner", wallet))
        if owner != wallet:
            raise Forbidden(f"prepare names {owner} as the record's owner, but {wallet} is signed in: a record's "
                            "owner is the wallet that signs in (sign in with that wallet)")  # fmt: skip
        title = check_title(body.get("title"))
        parent = parse_parent(body.get("parent"))
        mode = body.get("mode", "batched")
        if mode not in MODES:
            raise InputError(f"mode must be 'batched' (the default: one anchor per batch) or 'direct', not {mode!r}")
        await wait_for_variants(service, upload.sha256, service.settings.prepare_variant_wait)
        return await run(prepare_record, service, upload, owner, title, parent, mode)

    @app.post("/uploads/{upload_id}/commit")
    async def commit(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        require_uploader(await run(find_upload, service, upload_id), wallet)
        send = body.get("send", "relayer")
        if send not in ("relayer", "client"):
            raise InputError(f"send must be 'relayer' (the service sends it) or 'client' (you do), not {send!r}")
        signature = parse_signature(body.get("signature"))
        answer = await run(commit_step, service, upload_id, signature, send)
        if answer.get("state") == "anchoring":
            answer = await wait_for_anchor(service, upload_id, answer)
        return answer

    @app.post("/uploads/{upload_id}/confirm")
    async def confirm(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        require_uploader(await run(find_upload, service, upload_id), wallet)
        tx = body.get("tx")
        if not isinstance(tx, str) or len(tx.removeprefix("0x")) != 64:
            raise InputError("tx must be the 0x-hex hash of the transaction that sent registerMedia")
        return await run(confirm_step, service, upload_id, tx)

    @app.post("/users")
    async def onboard(request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        owner = checked_address(body.get("owner", wallet))
        if owner != wallet:
            raise Forbidden(f"{wallet} is signed in: a wallet may register itself, not {owner}")
        deposit = body.get("deposit_wei")
        deposit_wei = None if deposit is None else parse_uint(deposit, "deposit_wei", "wei")
        return await run(service.relay.onboarding, owner, deposit_wei)

    @app.get("/users/{address}")
    async def user(address: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        owner = checked_address(address, "address")
        return (await run(service.relay.wallet, owner)).as_json()

    @app.post("/media/{media_id}/delete/prepare")
    async def delete_prepare(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        return await run(prepare_delete, service, parse_media_id(media_id), wallet)

    @app.post("/media/{media_id}/delete")
    async def delete(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        if "nonce" not in body or "deadline" not in body:
            raise InputError("nonce and deadline (the DeleteMedia fields from delete/prepare) are required")
        nonce = parse_uint(body["nonce"], "nonce")
        deadline = parse_uint(body["deadline"], "deadline", "seconds", bits=64)
        signature = parse_signature(body.get("signature"))
        return await run(delete_media, service, parse_media_id(media_id), nonce, deadline, signature, wallet)

    return app


# --- the steps, each run on a worker thread ---


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


def commit_step(service: Service, upload_id: str, signature: bytes, send: str) -> dict[str, Any]:
    """Idempotent: a commit retried after a crash answers the link its registration got (found on chain if the
    crash came before the link), and nothing is sent twice."""
    with service.commit_lock(upload_id):
        upload = settle(service, find_upload(service, upload_id))
        if upload.state == "committed":
            return committed_answer(service, upload)
        if upload.state == "anchoring":
            return {"state": "anchoring", "upload_id": upload_id, "media_id": upload.media_id}
        try:
            return commit_upload(service, upload, signature, send)
        except ChainError:
            # e.g. UserMediaNonceUsed: a send of this record still on its way when we looked has landed since.
            upload = settle(service, find_upload(service, upload_id))
            if upload.state == "committed":
                return committed_answer(service, upload)
            raise


def confirm_step(service: Service, upload_id: str, tx: str) -> dict[str, Any]:
    with service.commit_lock(upload_id):
        return confirm_upload(service, find_upload(service, upload_id), tx)


async def wait_for_anchor(service: Service, upload_id: str, pending: dict[str, Any]) -> dict[str, Any]:
    """Until the upload's batch is anchored and its link made, at most a batch interval and a margin; then the
    answer says it is still anchoring (GET /uploads/{id} shows the link once it is)."""
    deadline = time.monotonic() + service.settings.batch_interval + ANCHOR_WAIT_MARGIN
    while time.monotonic() < deadline:
        # settle: a batch anchored by a process that died before linking it is linked here (database reads only)
        upload = await anyio.to_thread.run_sync(lambda: settle(service, find_upload(service, upload_id)))
        if upload.state == "committed":
            return await anyio.to_thread.run_sync(committed_answer, service, upload)
        await asyncio.sleep(VARIANT_POLL)
    return pending


def prepare_delete(service: Service, media: str, wallet: str) -> dict[str, Any]:
    upload = committed_upload(service, media)
    require_owner(upload.owner, wallet, f"media {media}")
    assert upload.owner is not None
    service.relay.user_contract(upload.owner)  # tombstones live in the owner's UserMedia: it must have one
    order = eip712.DeleteMedia(
        bytes.fromhex(media[2:]), service.batches().next_nonce(upload.owner), int(time.time()) + SIGNATURE_LIFETIME
    )
    typed = eip712.delete_typed_data(order, service.chain.chain_id, service.chain.media_app.address)
    return {
        "media_id": media,
        "owner": upload.owner,
        "nonce": str(order.nonce),
        "deadline": order.deadline,
        "typed_data": typed,
    }


def committed_upload(service: Service, media: str) -> Upload:
    upload = service.ledger().by_media_id(media)
    if upload is None or upload.state != "committed":
        raise NotRegistered(f"no media {media} was registered through this upload service")
    return upload


def delete_media(
    service: Service, media: str, nonce: int, deadline: int, signature: bytes, wallet: str
) -> dict[str, Any]:
    upload = committed_upload(service, media)
    require_owner(upload.owner, wallet, f"media {media}")
    assert upload.owner is not None
    user_contract = service.relay.user_contract(upload.owner)
    if service.chain.user_media(user_contract).functions.isDeleted(bytes.fromhex(media[2:])).call():
        raise UploadConflict(f"media {media} is already deleted (its tombstone is on chain); nothing to do")
    order = eip712.DeleteMedia(bytes.fromhex(media[2:]), nonce, deadline)
    typed = eip712.delete_typed_data(order, service.chain.chain_id, service.chain.media_app.address)
    try:
        signer = eip712.recover(typed, signature)
    except Exception:
        raise SignatureRefused("the delete signature does not recover to any address") from None
    if signer != upload.owner:
        raise SignatureRefused(f"the delete order was signed by {signer}, not by the owner {upload.owner}")
    try:
        receipt = service.relay.send(service.relay.delete_call(user_contract, order, signature))
    except ContractRefused as refused:
        raise _delete_refusal(media, nonce, refused) from None
    service.store().mark_deleted(media)
    # Bytes another record or another wallet's upload not yet committed relies on stay (de-duplication).
    unpinned = release(service, upload.sha256)
    return {
        "media_id": media,
        "deleted": True,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": int(receipt["blockNumber"]),
        "unpinned": unpinned,
    }


def _delete_refusal(media: str, nonce: int, refused: ContractRefused) -> MediaproofError:
    """The caller's error behind a refused delete order (a replay is a 409, not the chain failing: 502)."""
    if refused.error == "UserMediaNonceUsed":
        return UploadConflict(f"the delete order's nonce {nonce} was spent before (a replayed order): ask "
                              f"/media/{media}/delete/prepare for a fresh order and sign that")  # fmt: skip
    if refused.error == "UserMediaAlreadyDeleted":
        return UploadConflict(f"media {media} is already deleted (its tombstone is on chain); nothing to do")
    if refused.error == "UserMediaSignatureExpired":
        return InputError(f"the delete order's deadline has passed ({refused.reason}): prepare and sign a new one")
    if refused.error == "UserMediaBadOwnerSignature":
        return SignatureRefused(f"the delete order's signature is not the owner's ({refused.reason})")
    return refused


# --- request parsing ---


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


def _add_error_handlers(app: FastAPI) -> None:
    add_problem_handlers(app)

    async def client_gone(request: Request, exc: Exception) -> Response:
        logger.info("upload broken off by the client; its temp file is removed")
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, client_gone)
