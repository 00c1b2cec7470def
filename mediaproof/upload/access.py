"""Who may write to the upload service: writes from foreign web origins are refused, every write names a signed-in
wallet (mediaproof.upload.sessions), and an upload or a media belongs to the wallet that sent or registered it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from mediaproof import problems
from mediaproof.errors import Forbidden, InputError, MediaTooLarge
from mediaproof.session_reader import bearer_token
from mediaproof.upload.intake import arriving
from mediaproof.upload.ledger import Upload
from mediaproof.upload.sessions import SessionStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_LIMIT = 64 << 10  # bytes of a JSON request body
JSON_IDLE = 30.0  # seconds a JSON request body may stall


class OriginGuard:
    """Refuse every write whose Origin header is present and not an allowed web app origin (403), before any of
    its body is read: a page elsewhere cannot make a browser write here, whatever the content type (text/plain and
    form posts need no CORS preflight). Requests without Origin (the CLI, servers) pass on to the sign-in check."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.rstrip("/") for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None)
            if origin is not None and origin.rstrip("/") not in self.allowed:
                refused = Forbidden(
                    f"writes from the web origin {origin!r} are refused: only the Mediaproof web app's "
                    "origins (MEDIAPROOF_UPLOAD_CORS_ORIGINS) may write to the upload service from a browser"
                )
                status, headers, body = problems.encode(refused, scope["method"])
                headers.append((b"connection", b"close"))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def require_uploader(upload: Upload, wallet: str) -> None:
    """Only the wallet that sent the file may prepare, commit or confirm its upload."""
    sender = upload.uploader or upload.owner  # uploads from before sign-in: whoever prepared them
    if sender is None:
        raise Forbidden(
            f"upload {upload.upload_id} was sent before uploads needed a signed-in wallet and was never prepared: "
            "send the file again while signed in"
        )
    if sender != wallet:
        raise Forbidden(
            f"upload {upload.upload_id} was sent by another wallet, not by {wallet} (signed in): only the wallet "
            "that sent a file may prepare, commit or confirm it"
        )


def require_owner(owner: str | None, wallet: str, what: str) -> None:
    if owner != wallet:
        raise Forbidden(f"{what} belongs to {owner}, not to {wallet} (signed in): sign in with that wallet")


async def signed_in_wallet(request: Request, sessions: SessionStore) -> str:
    """The wallet of the request's bearer session (NotAuthenticated, 401, without a live one)."""
    token = bearer_token(request.headers.get("authorization"))
    return (await anyio.to_thread.run_sync(sessions.wallet, token))[0]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")  # Python's json reads NaN and ±Infinity; the standard does not


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is beyond what a 64-bit float holds")  # 1e400 would become infinity
    return value


async def json_body(request: Request, limit: int = JSON_LIMIT, idle_timeout: float = JSON_IDLE) -> dict[str, Any]:
    """The request's JSON object, read with a size cap (MediaTooLarge) and an idle timeout (ClientTooSlow): a JSON
    call is a few hundred bytes, and the sign-in routes read theirs before anyone is signed in."""
    raw = bytearray()
    stalled = f"the JSON body stopped arriving for {idle_timeout:g} s: send it again"
    async for chunk in arriving(request.stream(), idle_timeout, lambda: stalled):
        raw += chunk
        if len(raw) > limit:
            raise MediaTooLarge(f"the JSON body is over {limit} bytes: a call to the upload service is far smaller")
    try:
        body = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise InputError(f"the request body must be a JSON object ({exc})") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body
