"""The upload service's social-action routes (mediaproof.upload.actions does the work). No session: an action is
signed by its author, and that signature is what the gateway checks.

POST /actions[?wait=true]   {kind, message, signature}  → 202 {action_id, kind, author, state}; with wait, once its
                                                          batch is anchored: batch, tx and its proof too
GET  /actions/{action_id}                               → the same, with batch, tx and proof once anchored
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mediaproof.errors import MediaTooLarge
from mediaproof.upload.access import client_address, json_body
from mediaproof.upload.actions import accept_action, describe_action

if TYPE_CHECKING:
    from mediaproof.upload.app import Service

ACTION_JSON_LIMIT = 16 << 10  # a comment is at most 2000 bytes; JSON escapes can make that 12 KB
POLL = 0.05
ANCHOR_WAIT_MARGIN = 30.0  # seconds beyond the batch interval a `wait` waits for the anchor


def action_routes() -> APIRouter:
    router = APIRouter()

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    @router.post("/actions", status_code=202)
    async def post_action(request: Request, wait: bool = False) -> JSONResponse:
        service = service_of(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > ACTION_JSON_LIMIT:
            raise MediaTooLarge(f"the body is {declared} bytes, over the {ACTION_JSON_LIMIT} an action may have")
        body = await json_body(request, ACTION_JSON_LIMIT)
        answer = await anyio.to_thread.run_sync(accept_action, service, body, client_address(request))
        if wait:
            answer = await wait_for_anchor(service, answer)
        return JSONResponse(answer, status_code=200 if answer["state"] == "anchored" else 202)

    @router.get("/actions/{action_id}")
    async def get_action(action_id: str, request: Request) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(describe_action, service_of(request), action_id)

    return router


async def wait_for_anchor(service: Service, pending: dict[str, Any]) -> dict[str, Any]:
    """Until the action's batch is anchored, at most a batch interval and a margin; then its state as it is."""
    deadline = time.monotonic() + service.settings.batch_interval + ANCHOR_WAIT_MARGIN
    answer = pending
    while time.monotonic() < deadline:
        answer = await anyio.to_thread.run_sync(describe_action, service, pending["action_id"])
        if answer["state"] == "anchored":
            return answer
        await asyncio.sleep(POLL)
    return answer
