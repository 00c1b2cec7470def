"""The upload service's project routes (mediaproof.upload.projects does the work). Every one needs a signed-in
wallet that ProjectRegistry lets write to the project.

POST /projects/{pid}/missing        {"sha256": [...]}                   → {"missing": [...], "prove": {sha: nonce}}
PUT  /projects/{pid}/blobs/{sha256} the bytes (streamed, any type)      → {"sha256", "cid", "size"}
POST /projects/{pid}/manifests      {"manifest": text, "possession": {sha: answer}} → {"cid", "sha256", "size"}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mediaproof.errors import ContentMismatch, MediaTooLarge
from mediaproof.project_access import parse_pid, parse_sha
from mediaproof.upload.access import client_address, json_body, signed_in_wallet
from mediaproof.upload.intake import receive, remove_quietly
from mediaproof.upload.projects import (
    accept_manifest,
    missing,
    parse_hashes,
    require_writer,
    store_project_blob,
)

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

T = TypeVar("T")
HASHES_JSON_LIMIT = 1 << 20  # 10,000 hashes of 64 hex digits, quoted, are ~670 KB
MANIFEST_JSON_LIMIT = 32 << 20  # a 10,000-file manifest is ~2 MB; room for long paths and proofs


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def project_routes() -> APIRouter:
    router = APIRouter()

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    @router.post("/projects/{pid}/missing")
    async def post_missing(pid: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        project = parse_pid(pid)
        hashes = parse_hashes(await json_body(request, HASHES_JSON_LIMIT))
        return await _run(missing, service, project, wallet, hashes)

    @router.put("/projects/{pid}/blobs/{sha256}", status_code=201)
    async def put_blob(pid: str, sha256: str, request: Request) -> JSONResponse:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        project, claimed = parse_pid(pid), parse_sha(sha256)
        await _run(require_writer, service, project, wallet)
        limit = service.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is not None and length > limit:
            raise MediaTooLarge(f"the file is {length} bytes, over the upload limit of {limit} bytes "
                                "(MEDIAPROOF_MAX_UPLOAD_BYTES): nothing was read")  # fmt: skip
        client = client_address(request)

        async def charge(size: int) -> None:  # a body without Content-Length is counted as it streams
            await _run(service.quotas.charge_bytes, wallet, client, size)

        async with service.quotas.receiving(wallet, client, project_file=True):
            if length is not None:
                await charge(length)
            received = await receive(
                request.stream(), service.incoming, limit, service.settings.upload_idle_timeout,
                None if length is not None else charge,
            )  # fmt: skip
            try:
                if received.digest.sha256_hex != claimed:
                    raise ContentMismatch(f"the bytes sent hash to sha256 {received.digest.sha256_hex}, not "
                                          f"{claimed} as the path says: nothing was kept")  # fmt: skip
                body = await _run(store_project_blob, service, received.path, received.digest, wallet)
            finally:
                remove_quietly(received.path)
        return JSONResponse(body, status_code=201)

    @router.post("/projects/{pid}/manifests", status_code=201)
    async def post_manifest(pid: str, request: Request) -> JSONResponse:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        project = parse_pid(pid)
        body = await json_body(request, MANIFEST_JSON_LIMIT)
        answer = await _run(accept_manifest, service, project, wallet, body.get("manifest"), body.get("possession"))
        return JSONResponse(answer, status_code=201)

    return router
