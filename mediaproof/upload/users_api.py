"""The upload service's wallet routes (mediaproof.upload.relay does the work):

POST /users                        {owner, deposit_wei?}        → MediaApp.register() for the wallet to send
GET  /users/{address}              user contract and deposit
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Request

from mediaproof.errors import Forbidden
from mediaproof.upload.access import json_body, signed_in_wallet
from mediaproof.upload.relay import checked_address, parse_uint

if TYPE_CHECKING:
    from mediaproof.upload.service import Service


def user_routes() -> APIRouter:
    router = APIRouter()

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    @router.post("/users")
    async def onboard(request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        body = await json_body(request)
        owner = checked_address(body.get("owner", wallet))
        if owner != wallet:
            raise Forbidden(f"{wallet} is signed in: a wallet may register itself, not {owner}")
        deposit = body.get("deposit_wei")
        deposit_wei = None if deposit is None else parse_uint(deposit, "deposit_wei", "wei")
        return await anyio.to_thread.run_sync(service.relay.onboarding, owner, deposit_wei)

    @router.get("/users/{address}")
    async def user(address: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        owner = checked_address(address, "address")
        return (await anyio.to_thread.run_sync(service.relay.wallet, owner)).as_json()

    return router
