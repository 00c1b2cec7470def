"""The upload service's routes of an upload's life (mediaproof.upload.upload_flow and registration do the work):

POST /uploads                      body = the file's bytes (streamed)  → upload id, sha256, cid, type, size
GET  /uploads/{id}                 the same, with variants as they become ready
POST /uploads/{id}/prepare         {owner, title, parent?, mode?} → EIP-712 typed data of the record to sign
POST /uploads/{id}/commit          {signature, send?}           → once its batch is anchored (or it is registered
                                                                  directly): short id, link, media id, tx, block,
                                                                  batch and its portable proof bundle
POST /uploads/{id}/confirm         {tx}                         → the link, after the client sent it itself
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mediaproof.errors import Forbidden, InputError, MediaTooLarge, UploadConflict
from mediaproof.safe_text import check_title
from mediaproof.upload.access import client_address, json_body, require_uploader, signed_in_wallet
from mediaproof.upload.admission import admit, describe
from mediaproof.upload.intake import receive, remove_quietly
from mediaproof.upload.registration import MODES, prepare_record
from mediaproof.upload.relay import checked_address, parse_signature
from mediaproof.upload.request_fields import parse_parent
from mediaproof.upload.upload_flow import commit_step, confirm_step, find_upload, wait_for_anchor, wait_for_variants

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def upload_routes() -> APIRouter:
    router = APIRouter()

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    async def signed_in(request: Request) -> str:
        return await signed_in_wallet(request, service_of(request).sessions)

    @router.post("/uploads", status_code=201)
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
            await _run(service.quotas.charge_bytes, wallet, client, size)

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

    @router.get("/uploads/{upload_id}")
    async def get_upload(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        return await _run(lambda: describe(service, find_upload(service, upload_id)))

    @router.post("/uploads/{upload_id}/prepare")
    async def prepare(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        upload = await _run(find_upload, service, upload_id)
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
        return await _run(prepare_record, service, upload, owner, title, parent, mode)

    @router.post("/uploads/{upload_id}/commit")
    async def commit(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        require_uploader(await _run(find_upload, service, upload_id), wallet)
        send = body.get("send", "relayer")
        if send not in ("relayer", "client"):
            raise InputError(f"send must be 'relayer' (the service sends it) or 'client' (you do), not {send!r}")
        signature = parse_signature(body.get("signature"))
        answer = await _run(commit_step, service, upload_id, signature, send)
        if answer.get("state") == "anchoring":
            answer = await wait_for_anchor(service, upload_id, answer)
        return answer

    @router.post("/uploads/{upload_id}/confirm")
    async def confirm(upload_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in(request)
        body = await json_body(request)
        require_uploader(await _run(find_upload, service, upload_id), wallet)
        tx = body.get("tx")
        if not isinstance(tx, str) or len(tx.removeprefix("0x")) != 64:
            raise InputError("tx must be the 0x-hex hash of the transaction that sent registerMedia")
        return await _run(confirm_step, service, upload_id, tx)

    return router
