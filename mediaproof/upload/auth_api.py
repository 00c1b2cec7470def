"""The upload service's sign-in routes (Sign-In with Ethereum; the checks are mediaproof.upload.sessions'):

POST   /auth/nonce    {address, origin?}    → {nonce, message, domain, uri, chain_id, issued_at, expires_at}
POST   /auth/session  {message, signature}  → {token, address, expires_at}
GET    /auth/session                        → {address, expires_at} of the bearer token's session
DELETE /auth/session                        → {signed_out: address}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Request

from mediaproof.errors import Forbidden
from mediaproof.session_reader import bearer_token
from mediaproof.settings import Settings
from mediaproof.upload.access import client_address, json_body, signed_in_wallet
from mediaproof.upload.relay import checked_address
from mediaproof.upload.sessions import origin_of

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def sign_in_origin(settings: Settings, asked: object, header: str | None) -> tuple[str, str]:
    """(domain, URI) a sign-in message names: the web app origin asked for in the body (its backend asks on the
    page's behalf) or sent by the browser, if allowed; else the upload service's own URL (the CLI)."""
    allowed = settings.resolved_upload_cors_origins()
    if asked is not None:
        if not isinstance(asked, str) or asked.rstrip("/") not in allowed:
            raise Forbidden(
                f"origin {asked!r} is not one of the web app origins that may sign in here "
                "(MEDIAPROOF_UPLOAD_CORS_ORIGINS)"
            )
        return origin_of(asked)
    if header is not None and header.rstrip("/") in allowed:
        return origin_of(header)
    return origin_of(settings.resolved_upload_url())


def auth_routes() -> APIRouter:
    router = APIRouter()

    @router.post("/auth/nonce")
    async def auth_nonce(request: Request) -> dict[str, Any]:
        service = _service(request)
        body = await json_body(request)
        address = checked_address(body.get("address"), "address")
        domain, uri = sign_in_origin(service.settings, body.get("origin"), request.headers.get("origin"))
        await _run(service.quotas.take_nonce, client_address(request))
        issued = await _run(service.sessions.issue, address, domain, uri, service.chain.chain_id)
        return issued.as_json()

    @router.post("/auth/session")
    async def auth_session(request: Request) -> dict[str, Any]:
        service = _service(request)
        body = await json_body(request)
        w3 = service.chain.w3

        def contract_says(call: dict[str, str]) -> bytes | None:  # EIP-1271, for a wallet that is a contract
            return bytes(w3.eth.call(call)) if w3.eth.get_code(call["to"]) else None  # type: ignore[arg-type]

        session = await _run(
            service.sessions.sign_in, body.get("message"), body.get("signature"), service.chain.chain_id, contract_says
        )
        return session.as_json()

    @router.get("/auth/session")
    async def auth_whoami(request: Request) -> dict[str, Any]:
        token = bearer_token(request.headers.get("authorization"))
        address, expires = await _run(_service(request).sessions.wallet, token)
        return {"address": address, "expires_at": int(expires)}

    @router.delete("/auth/session")
    async def auth_sign_out(request: Request) -> dict[str, Any]:
        sessions = _service(request).sessions
        address = await signed_in_wallet(request, sessions)  # 401 without a live session
        await _run(sessions.end, bearer_token(request.headers.get("authorization")))
        return {"signed_out": address}

    return router
