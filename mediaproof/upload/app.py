"""The upload service's app (FastAPI): its parts built at start-up (mediaproof.upload.service), the web origins it
serves, its routers, /health and its error answers. Every expected failure answers RFC 9457 problem+json
(mediaproof.problems); when the decode budget has no room in time, 503 with Retry-After (upload/decode_budget.py).

Every write needs `Authorization: Bearer <token>` of a signed-in wallet (mediaproof.upload.sessions), is refused
from a foreign web origin (mediaproof.upload.access), and counts against rate limits (mediaproof.upload.quotas).

POST /auth/nonce · POST /auth/session · GET · DELETE /auth/session   sign-in (mediaproof.upload.auth_api)
POST /uploads · GET /uploads/{id} · POST /uploads/{id}/prepare · /commit · /confirm
                                   an upload's life, from bytes to proof (mediaproof.upload.uploads_api)
POST /users · GET /users/{address} a wallet's onboarding (mediaproof.upload.users_api)
POST /media/{media_id}/delete/prepare · POST /media/{media_id}/delete
                                   deleting a media (mediaproof.upload.media_api)
POST /projects/{pid}/missing · PUT /projects/{pid}/blobs/{sha256} · POST /projects/{pid}/manifests
                                   a project's files and manifests (mediaproof.upload.projects_api)
OPTIONS · POST /files/ · HEAD · PATCH · DELETE /files/{id}     resumable uploads, tus 1.0.0 (mediaproof.upload.tus)
GET /health                        the gateway, chain, open uploads, decoding and sweeps
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from mediaproof.problems import add_problem_handlers
from mediaproof.settings import Settings
from mediaproof.upload.access import OriginGuard
from mediaproof.upload.actions_api import action_routes
from mediaproof.upload.auth_api import auth_routes
from mediaproof.upload.garbage import expire_uploads
from mediaproof.upload.media_api import media_routes
from mediaproof.upload.projects_api import project_routes
from mediaproof.upload.reconcile import reconcile
from mediaproof.upload.service import Service, build_service
from mediaproof.upload.tus import TUS_ANSWER_HEADERS, TUS_REQUEST_HEADERS, tus_routes
from mediaproof.upload.upkeep import Upkeep
from mediaproof.upload.uploads_api import upload_routes
from mediaproof.upload.users_api import user_routes

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(build_service, settings)
        app.state.service = service
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
            service.variants.close()
            service.placer.close()
            service.relay.close()

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
    app.include_router(upload_routes())
    app.include_router(user_routes())
    app.include_router(media_routes())
    app.include_router(project_routes())
    app.include_router(action_routes())
    app.include_router(tus_routes())

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        service: Service = request.app.state.service
        return {
            "ok": True,
            "gateway": service.relay.gateway.address,
            "chain_id": service.chain.chain_id,
            "open_uploads": service.quotas.open,
            "decoding": service.budget.snapshot(),
            "sweeps": request.app.state.upkeep.sweeps,
        }

    return app


def _add_error_handlers(app: FastAPI) -> None:
    add_problem_handlers(app)

    async def client_gone(request: Request, exc: Exception) -> Response:
        logger.info("upload broken off by the client; its temp file is removed")
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, client_gone)
