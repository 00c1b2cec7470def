"""Resumable uploads: the tus 1.0.0 protocol at /files/ (tusd's path), with the creation, creation-with-upload,
termination, checksum (sha256, sha1) and expiration extensions.

    OPTIONS /files/        the protocol's versions, extensions, checksum algorithms and Tus-Max-Size
    POST    /files/        Upload-Length (+ Upload-Metadata; a first chunk as body) → 201, Location: /files/<id>
    HEAD    /files/<id>    Upload-Offset, Upload-Length (Cache-Control: no-store)
    PATCH   /files/<id>    the bytes from Upload-Offset on (application/offset+octet-stream) → 204, Upload-Offset
    DELETE  /files/<id>    the upload and its bytes are gone → 204

Every request but OPTIONS needs the wallet's sign-in session (`Authorization: Bearer`) and sends
`Tus-Resumable: 1.0.0`; an upload is seen only by the wallet that created it (anyone else gets 404, as for an id
that does not exist). Each answer carries `Tus-Resumable`; errors are problem+json like the rest of the service.

When the last byte arrives the whole file goes to the completion handler of its kind (`COMPLETIONS`): a media
upload (the default) is admitted exactly as `POST /uploads` admits it (mediaproof.upload.admission), and the final
PATCH answer names it in `Mediaproof-Upload-Id` (as HEAD does afterwards): `GET /uploads/<id>` is the upload.

The file's sha256 and CID are computed once the last byte is in, in one more pass over the partial file from disk
(~1 s per GB): hashlib's state cannot be saved between PATCHes that may reach different processes or outlive a
restart, and memory stays flat either way (4 MiB batches).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from mediaproof import mediatype
from mediaproof.content import ContentDigest, digest_file
from mediaproof.errors import (
    ChecksumMismatch,
    ContentMismatch,
    InputError,
    MediaproofError,
    MediaTooLarge,
    NotRegistered,
    PreconditionFailed,
    UnsupportedMediaType,
    UploadConflict,
    UploadExpired,
)
from mediaproof.problems import problem_response
from mediaproof.upload.access import client_address, signed_in_wallet
from mediaproof.upload.admission import admit
from mediaproof.upload.intake import Received, arriving
from mediaproof.upload.projects import require_writer, store_project_blob
from mediaproof.upload.tus_store import PartialUpload

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

T = TypeVar("T")
TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
OFFSET_STREAM = "application/offset+octet-stream"
UPLOAD_ID_HEADER = "Mediaproof-Upload-Id"  # on the final PATCH answer (and HEAD after it): GET /uploads/<that id>
METADATA_LIMIT = 4096  # characters of Upload-Metadata
WRITE_BATCH = 4 << 20  # bytes gathered before one write to the partial file (and one offset update)
# What a browser page may send and read across origins (the web app's CORS, mediaproof.upload.app).
TUS_REQUEST_HEADERS = ["tus-resumable", "upload-length", "upload-offset", "upload-metadata", "upload-checksum",
                       "upload-defer-length", "upload-concat"]  # fmt: skip
TUS_ANSWER_HEADERS = ["location", "tus-resumable", "tus-version", "tus-extension", "tus-max-size",
                      "tus-checksum-algorithm", "upload-offset", "upload-length", "upload-metadata", "upload-expires",
                      UPLOAD_ID_HEADER.lower()]  # fmt: skip
_KEY = re.compile(r"[!-+\--~]+")  # printable ASCII without space and comma: a metadata key
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Arrival:
    """A resumable upload whose last byte arrived: the whole file, hashed, and what its creator said about it."""

    path: Path
    digest: ContentDigest
    head: bytes
    wallet: str
    metadata: dict[str, str]


# What becomes of a finished upload, by kind: each handler takes the whole file (its path is removed afterwards
# unless the handler moved it) and answers the id of what it became. "media" is a photo or video upload, as from
# POST /uploads; a project's blob store adds "project" (Upload-Metadata `project` and `sha256`) here.
Completion = Callable[["Service", Arrival], Awaitable[str]]


async def complete_media(service: Service, arrival: Arrival) -> str:
    answer = await admit(service, Received(arrival.path, arrival.digest, arrival.head), arrival.wallet)
    return str(answer["upload_id"])


async def complete_project(service: Service, arrival: Arrival) -> str:
    """A project's file (any bytes): stored as `PUT /projects/<pid>/blobs/<sha256>` stores it, if the wallet may
    still write to the project (a grant revoked while the bytes travelled ends here). Its id is its sha256."""
    pid = arrival.metadata["project"].lower()
    await _run(require_writer, service, pid, arrival.wallet)
    stored = await _run(store_project_blob, service, arrival.path, arrival.digest, arrival.wallet)
    return str(stored["sha256"])


COMPLETIONS: dict[str, Completion] = {"media": complete_media, "project": complete_project}


class TusRoute(APIRoute):
    """A /files/ route: refuses another protocol version (412), and answers `Tus-Resumable` on everything,
    errors included (which it therefore answers itself, as problem+json)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                version = request.headers.get("tus-resumable")
                if request.method != "OPTIONS" and version != TUS_VERSION:
                    raise PreconditionFailed(
                        f"this service speaks tus {TUS_VERSION}, and the request's Tus-Resumable is "
                        f"{version!r}: send Tus-Resumable: {TUS_VERSION}"
                    )
                response = await handler(request)
            except MediaproofError as exc:
                response = problem_response(exc, request.method)
                if isinstance(exc, PreconditionFailed):
                    response.headers["Tus-Version"] = TUS_VERSION
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return route


def tus_routes() -> APIRouter:
    router = APIRouter(prefix="/files", route_class=TusRoute)

    def service_of(request: Request) -> Service:
        service: Service = request.app.state.service
        return service

    @router.options("/")
    async def options(request: Request) -> Response:
        return Response(
            status_code=204,
            headers={
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
                "Tus-Max-Size": str(service_of(request).settings.max_upload_bytes),
            },
        )

    @router.post("/")
    async def create(request: Request) -> Response:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        length = parse_length(request.headers.get("upload-length"), request.headers.get("upload-defer-length"))
        limit = service.settings.max_upload_bytes
        if length > limit:  # before a byte of the body is read
            raise MediaTooLarge(
                f"Upload-Length is {length} bytes, over the upload limit of {limit} bytes "
                "(MEDIAPROOF_MAX_UPLOAD_BYTES): send a smaller file"
            )
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        kind = completion_kind(metadata)
        if kind == "project":  # a stranger to the project sends no byte (and is charged none)
            await _run(require_writer, service, metadata["project"].lower(), wallet)
        client = client_address(request)
        take = service.quotas.take_project_file if kind == "project" else service.quotas.take_upload
        await _run(take, wallet, client)  # one upload, however many PATCHes it takes
        await _run(service.quotas.charge_bytes, wallet, client, length)
        partial = await _run(service.partials.create, wallet, length, kind, metadata, service.settings.upload_ttl)
        headers = {"Location": f"{str(request.base_url).rstrip('/')}/files/{partial.tus_id}"}
        if _content_type(request) == OFFSET_STREAM:  # creation-with-upload: the first chunk rides along
            partial, upload_id = await receive_chunk(service, request, partial, wallet, client, count=False)
            headers.update(progress_headers(partial, upload_id))
        else:
            headers["Upload-Expires"] = http_date(partial.expires_at)
        return Response(status_code=201, headers=headers)

    @router.head("/{tus_id}")
    async def head(tus_id: str, request: Request) -> Response:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        partial = await _run(find_partial, service, tus_id, wallet)
        headers = {
            **progress_headers(partial, partial.upload_id),
            "Upload-Length": str(partial.length),
            "Cache-Control": "no-store",
        }
        if partial.metadata:
            headers["Upload-Metadata"] = encode_metadata(partial.metadata)
        return Response(status_code=200, headers=headers)

    @router.patch("/{tus_id}")
    async def patch(tus_id: str, request: Request) -> Response:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        if _content_type(request) != OFFSET_STREAM:
            raise UnsupportedMediaType(
                f"a PATCH carries Content-Type: {OFFSET_STREAM}, not {request.headers.get('content-type')!r}"
            )
        offset = parse_offset(request.headers.get("upload-offset"))
        partial = await _run(find_partial, service, tus_id, wallet)
        if offset != partial.offset:
            raise UploadConflict(
                f"Upload-Offset is {offset}, but upload {tus_id} has {partial.offset} bytes: ask HEAD for the "
                "offset and send the bytes from there"
            )
        if partial.upload_id is not None:
            if _has_body(request):
                raise UploadConflict(f"upload {tus_id} is complete ({partial.length} bytes): nothing more is taken")
            return Response(status_code=204, headers=progress_headers(partial, partial.upload_id))
        partial, upload_id = await receive_chunk(service, request, partial, wallet, client_address(request))
        return Response(status_code=204, headers=progress_headers(partial, upload_id))

    @router.delete("/{tus_id}")
    async def terminate(tus_id: str, request: Request) -> Response:
        service = service_of(request)
        wallet = await signed_in_wallet(request, service.sessions)
        partial = await _run(find_partial, service, tus_id, wallet, False)
        if not await _run(service.partials.terminate, partial.tus_id):
            raise UploadConflict(f"upload {tus_id} is being written by a PATCH now: end that PATCH, then delete it")
        return Response(status_code=204)

    return router


# --- one chunk ---


async def receive_chunk(
    service: Service, request: Request, partial: PartialUpload, wallet: str, client: str, count: bool = False
) -> tuple[PartialUpload, str | None]:
    """Append the request's body to the upload at its offset; the upload after it and, if that was its last byte,
    the id of what it became. Holds the upload's claim and a place in flight (the same leases as POST /uploads)
    while the bytes stream and the finished file is admitted."""
    store = service.partials
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and partial.offset + int(declared) > partial.length:
        raise MediaTooLarge(
            f"the chunk of {int(declared)} bytes at offset {partial.offset} goes beyond Upload-Length "
            f"{partial.length}: send only the {partial.length - partial.offset} bytes that are missing"
        )
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    claim = secrets.token_hex(8)
    if not await _run(store.claim, partial.tus_id, partial.offset, claim):
        raise UploadConflict(
            f"upload {partial.tus_id} is being written by another PATCH, or its offset moved: ask HEAD for the "
            "offset and send the bytes from there"
        )
    try:
        async with service.quotas.receiving(wallet, client, count=count):
            offset = await write_chunk(service, request, partial, claim, checksum)
            upload_id = await complete(service, partial, wallet) if offset == partial.length else None
    finally:
        with anyio.CancelScope(shield=True):
            await _run(store.release, partial.tus_id, claim)
    now = await _run(store.get, partial.tus_id)
    return (now or partial), upload_id


async def write_chunk(
    service: Service,
    request: Request,
    partial: PartialUpload,
    claim: str,
    checksum: tuple[str, bytes] | None,
) -> int:
    """Stream the body into the partial file from the upload's offset, in batches written on a worker thread;
    the offset reached. Without a checksum every batch written is kept (a broken connection loses nothing that
    arrived); with one, the chunk counts only once it all matches (ChecksumMismatch: it is cut off again)."""
    store, ttl = service.partials, service.settings.upload_ttl
    start = offset = partial.offset
    hasher = CHECKSUMS[checksum[0]]() if checksum else None
    fd = os.open(store.path(partial.tus_id), os.O_WRONLY)
    pending: list[bytes] = []
    pending_size = 0

    def put(batch: list[bytes], at: int) -> None:
        data = b"".join(batch)
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, at)
            view, at = view[written:], at + written
        if hasher is not None:
            hasher.update(data)
        else:
            store.advance(partial.tus_id, claim, at, ttl)

    def stalled() -> str:
        return (f"no bytes of the chunk arrived for {service.settings.upload_idle_timeout:g} s after "
                f"{offset + pending_size - start} bytes: the PATCH is cut off (MEDIAPROOF_UPLOAD_IDLE_TIMEOUT); "
                "ask HEAD for the offset and resume")  # fmt: skip

    try:
        async for chunk in arriving(request.stream(), service.settings.upload_idle_timeout, stalled):
            if offset + pending_size + len(chunk) > partial.length:
                raise MediaTooLarge(
                    f"the chunk goes beyond Upload-Length {partial.length}: send only the bytes that are missing"
                )
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_BATCH:
                batch, pending, size = pending, [], pending_size
                pending_size = 0
                await _run(put, batch, offset)
                offset += size
        if pending:
            await _run(put, pending, offset)
            offset += pending_size
            pending, pending_size = [], 0
        if hasher is not None and checksum is not None:
            if hasher.digest() != checksum[1]:
                raise ChecksumMismatch(
                    f"the chunk's {checksum[0]} is not its Upload-Checksum: the chunk is discarded and the upload "
                    f"stays at offset {start}; send it again"
                )
            await _run(store.advance, partial.tus_id, claim, offset, ttl)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            if hasher is None and pending and not isinstance(exc, MediaTooLarge):
                # the connection broke or stalled: what did arrive is kept, and the client resumes after it
                await _run(put, pending, offset)
                offset += pending_size
            kept = start if hasher is not None else offset
            await _run(os.ftruncate, fd, kept)
        raise
    finally:
        os.close(fd)
    return offset


async def complete(service: Service, partial: PartialUpload, wallet: str) -> str:
    """Hand the whole file to its kind's completion handler; the id of what it became. A file the handler refuses
    for its content is gone with its upload (as a refused POST /uploads leaves nothing); on any other failure (a
    cluster away, the decode budget full) the bytes stay, and a PATCH at the final offset with no body tries again."""
    store = service.partials
    path = store.path(partial.tus_id)
    digest = await _run(digest_file, path)
    head = await _run(_head_of, path)
    try:
        claimed = partial.metadata.get("sha256")
        if claimed is not None and claimed.lower().removeprefix("0x") != digest.sha256_hex:
            raise ContentMismatch(
                f"the file's sha256 is {digest.sha256_hex}, not {claimed} as its Upload-Metadata said: it is "
                "discarded; send the right file"
            )
        upload_id = await COMPLETIONS[partial.kind](service, Arrival(path, digest, head, wallet, partial.metadata))
    except (InputError, ContentMismatch):
        await _run(store.remove, partial.tus_id)
        raise
    await _run(store.finish, partial.tus_id, upload_id)
    return upload_id


def _head_of(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(mediatype.SNIFF_BYTES)


# --- finding an upload, answering its progress ---


def find_partial(service: Service, tus_id: str, wallet: str, check_expiry: bool = True) -> PartialUpload:
    """The wallet's upload `tus_id`: NotRegistered for an unknown id and for another wallet's alike (an upload is
    never revealed to anyone else), UploadExpired once past its Upload-Expires and unfinished."""
    partial = service.partials.get(tus_id) if len(tus_id) <= 64 else None
    if partial is None or partial.wallet != wallet:
        raise NotRegistered(f"no resumable upload {tus_id[:64]!r} of {wallet} (signed in): POST /files/ to start one")
    if check_expiry and partial.upload_id is None and partial.expires_at <= time.time():
        raise UploadExpired(
            f"resumable upload {tus_id} expired unfinished at {http_date(partial.expires_at)} and its bytes are "
            "gone: start it again with POST /files/"
        )
    return partial


def progress_headers(partial: PartialUpload, upload_id: str | None) -> dict[str, str]:
    headers = {"Upload-Offset": str(partial.offset), "Upload-Expires": http_date(partial.expires_at)}
    if upload_id is not None:
        headers[UPLOAD_ID_HEADER] = upload_id
    return headers


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)  # RFC 9110's IMF-fixdate, as tus's Upload-Expires is


# --- request headers ---


def parse_length(value: str | None, deferred: str | None) -> int:
    if value is None:
        if deferred is not None:
            raise InputError("Upload-Defer-Length is not supported here: send Upload-Length, the file's size")
        raise InputError("Upload-Length is required: the file's size in bytes")
    if not value.isdigit() or len(value) > 19:
        raise InputError(f"Upload-Length must be the file's size in bytes (digits), not {value[:40]!r}")
    if int(value) == 0:
        raise InputError("Upload-Length is 0: the file is empty, and there is nothing to register")
    return int(value)


def parse_offset(value: str | None) -> int:
    if value is None or not value.isdigit() or len(value) > 19:
        raise InputError(f"Upload-Offset must be the byte offset (digits) the chunk starts at, not {value!r:.40}")
    return int(value)


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: `<algorithm> <base64 digest>` → (algorithm, digest)."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise InputError(
            f"Upload-Checksum names the algorithm {algorithm[:20]!r}; this service checks {', '.join(CHECKSUMS)}"
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"Upload-Checksum's digest is not base64: {encoded[:60]!r}") from None
    if len(digest) != CHECKSUMS[algorithm]().digest_size:
        raise InputError(f"Upload-Checksum's {algorithm} digest is {len(digest)} bytes long, not a {algorithm} digest")
    return algorithm, digest


def parse_metadata(value: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key alone has the empty value), strictly:
    InputError for a malformed pair, a repeated key, a value that is not base64 of UTF-8 text."""
    if value is None or not value.strip():
        return {}
    if len(value) > METADATA_LIMIT:
        raise InputError(f"Upload-Metadata is {len(value)} characters long, over the {METADATA_LIMIT} it may be")
    metadata: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not _KEY.fullmatch(parts[0]):
            raise InputError(
                f"Upload-Metadata's pair {pair.strip()[:60]!r} is not `key base64-value` (a key is printable ASCII "
                "without spaces or commas)"
            )
        key = parts[0]
        if key in metadata:
            raise InputError(f"Upload-Metadata names the key {key!r} twice")
        try:
            metadata[key] = base64.b64decode(parts[1] if len(parts) == 2 else "", validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InputError(f"Upload-Metadata's value of {key!r} is not base64 of UTF-8 text") from None
    return metadata


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(text.encode()).decode()}" for key, text in metadata.items())


def completion_kind(metadata: dict[str, str]) -> str:
    """The kind of upload the metadata describes (a key of COMPLETIONS); InputError if it is malformed or this
    service takes no uploads of that kind."""
    sha = metadata.get("sha256")
    if sha is not None and not _HEX64.fullmatch(sha.lower().removeprefix("0x")):
        raise InputError(f"Upload-Metadata's sha256 must be the file's sha256 in hex (64 digits), not {sha[:80]!r}")
    kind = "media"
    if "project" in metadata:
        project = metadata["project"].lower()
        if not (project.startswith("0x") and _HEX64.fullmatch(project[2:])):
            raise InputError(f"Upload-Metadata's project must be a project id (0x + 64 hex digits), not "
                             f"{metadata['project'][:80]!r}")  # fmt: skip
        if sha is None:
            raise InputError("a project's file names its sha256 in Upload-Metadata (`sha256`, hex) too")
        kind = "project"
    if kind not in COMPLETIONS:
        raise InputError(f"this upload service takes no resumable uploads of kind {kind!r} (yet)")
    return kind


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _has_body(request: Request) -> bool:
    declared = request.headers.get("content-length")
    return (declared is not None and declared != "0") or "transfer-encoding" in request.headers


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)
