"""The upload service's routes on a registered media (mediaproof.upload.deletion does the work):

POST /media/{media_id}/delete/prepare                           → EIP-712 DeleteMedia to sign
POST /media/{media_id}/delete      {nonce, deadline, signature} → tombstoned; bytes unpinned if nothing else needs
                                                                  them (mediaproof.upload.garbage)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Request

from mediaproof.errors import InputError
from mediaproof.upload.access import json_body, signed_in_wallet
from mediaproof.upload.deletion import delete_media, prepare_delete
from mediaproof.upload.relay import parse_signature, parse_uint
from mediaproof.upload.request_fields import parse_media_id

if TYPE_CHECKING:
    from mediaproof.upload.service import Service


def media_routes() -> APIRouter:
    router = APIRouter()

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    @router.post("/media/{media_id}/delete/prepare")
    async def delete_prepare(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        return await anyio.to_thread.run_sync(prepare_delete, service, parse_media_id(media_id), wallet)

    @router.post("/media/{media_id}/delete")
    async def delete(media_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        body = await json_body(request)
        if "nonce" not in body or "deadline" not in body:
            raise InputError("nonce and deadline (the DeleteMedia fields from delete/prepare) are required")
        nonce = parse_uint(body["nonce"], "nonce")
        deadline = parse_uint(body["deadline"], "deadline", "seconds", bits=64)
        signature = parse_signature(body.get("signature"))
        media = parse_media_id(media_id)
        return await anyio.to_thread.run_sync(delete_media, service, media, nonce, deadline, signature, wallet)

    return router
