"""The one error format on the wire: RFC 9457 `application/problem+json`, made from one exception → status table by
every service and read back into the same exception class (mediaproof.errors) by every client.

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "size 'huge' is not one of small, medium, large, original, poster", "error": "InputError"}

`type` is `about:blank` (RFC 9457 §4.2.1): the problem means what its status means, `title` is the status phrase,
and our own kind, the class name in mediaproof.errors, is the extension member `error`. A RateLimited answer also
carries `retry_after` (seconds, as its Retry-After header says).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from mediaproof import errors
from mediaproof.errors import (
    Busy,
    ChainError,
    ChecksumMismatch,
    ClientTooSlow,
    ContentMismatch,
    Deleted,
    Forbidden,
    InputError,
    MediaproofError,
    MediaTooLarge,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    NotPinned,
    NotReady,
    NotRegistered,
    Overloaded,
    PreconditionFailed,
    ProofError,
    RangeNotSatisfiable,
    RateLimited,
    ReceiptError,
    SignatureRefused,
    StorageError,
    UnsupportedMediaType,
    UploadConflict,
    UploadExpired,
)

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.responses import Response

MEDIA_TYPE = "application/problem+json"
ERROR_HEADER = "X-Error-Detail"  # a HEAD answer has no body: its sentence travels here (ASCII, one line)
logger = logging.getLogger(__name__)

# Every service answers an error with the status of the nearest class in its MRO here. For one status, the class
# listed first is what a client raises for an answer that names no kind it knows (a proxy's 502, say).
STATUS: dict[type[MediaproofError], int] = {
    InputError: 422,
    NotAuthenticated: 401,
    Forbidden: 403,
    SignatureRefused: 403,
    NotRegistered: 404,
    NotFound: 404,
    MethodNotAllowed: 405,
    ClientTooSlow: 408,
    UploadConflict: 409,
    NotPinned: 409,
    Deleted: 410,
    UploadExpired: 410,
    PreconditionFailed: 412,
    MediaTooLarge: 413,
    UnsupportedMediaType: 415,
    RangeNotSatisfiable: 416,
    ContentMismatch: 422,  # the bytes sent do not hash to what their sender claimed
    ReceiptError: 422,
    ProofError: 422,
    RateLimited: 429,
    ChecksumMismatch: 460,  # tus's checksum extension: not an IANA status, the one tus clients know
    MediaproofError: 500,
    StorageError: 503,
    ChainError: 503,
    NotReady: 503,
    Overloaded: 503,
    Busy: 503,
}
_BY_STATUS: dict[int, type[MediaproofError]] = {}
for _kind, _status in STATUS.items():
    _BY_STATUS.setdefault(_status, _kind)
# The kinds a client can raise again: every class of mediaproof.errors, by name.
KINDS: dict[str, type[MediaproofError]] = {
    name: kind
    for name, kind in vars(errors).items()
    if isinstance(kind, type) and issubclass(kind, MediaproofError) and kind.__module__ == errors.__name__
}


def kind_of(exc: BaseException) -> type[MediaproofError]:
    """The class of mediaproof.errors an exception is on the wire (a service's own subclass goes as its parent)."""
    for cls in type(exc).__mro__:
        if cls in STATUS or KINDS.get(cls.__name__) is cls:
            return cls
    return MediaproofError


def status_of(exc: BaseException) -> int:
    """The HTTP status a service answers `exc` with: that of the nearest class of the table in its MRO."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(exc: BaseException, status: int | None = None) -> dict[str, Any]:
    """The problem+json document for `exc`: the five members, and `retry_after` for a RateLimited."""
    status = status or status_of(exc)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _phrase(status),
        "status": status,
        "detail": str(exc),
        "error": kind_of(exc).__name__,
    }
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    return body


def problem_headers(exc: BaseException, method: str = "GET") -> dict[str, str]:
    """The headers an error answer carries besides its content type: when to come back, which methods to use,
    that the connection ends (the rest of a too-slow body is never read), the sentence of a HEAD answer."""
    headers = {"Cache-Control": "no-store"}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, MethodNotAllowed) and exc.allow:
        headers["Allow"] = exc.allow
    if isinstance(exc, ClientTooSlow):
        headers["Connection"] = "close"
    if method == "HEAD":
        headers[ERROR_HEADER] = " ".join(str(exc).encode("ascii", "backslashreplace").decode().split())
    return headers


def encode(exc: BaseException, method: str = "GET") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body of the answer to `exc`, for a raw ASGI app (the download service)."""
    status = status_of(exc)
    body = json.dumps(problem(exc, status)).encode()  # ASCII: json escapes the rest
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in problem_headers(exc, method).items()]
    return status, headers, b"" if method == "HEAD" else body


def error_from(status: int, body: bytes, headers: Mapping[str, str], source: str) -> MediaproofError:
    """The exception an error answer stands for, as its service raised it: the class its `error` names (the one
    for its status when it names none we know), the message `<source>: <detail>` (the bare detail for no source),
    the answer's status in its `status`."""
    detail, kind_name, retry_after = "", "", None
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        detail, kind_name = str(document.get("detail") or ""), str(document.get("error") or "")
        retry_after = document.get("retry_after")
    if not detail:
        text = body.decode("utf-8", "replace").strip()[:200] if document is None else ""
        detail = headers.get(ERROR_HEADER.lower()) or headers.get(ERROR_HEADER) or text or _phrase(status)
    kind = KINDS.get(kind_name) or _BY_STATUS.get(status) or (InputError if status < 500 else StorageError)
    message = f"{source}: {detail}" if source else detail
    exc: MediaproofError
    if issubclass(kind, RateLimited):
        wait = str(headers.get("retry-after") or headers.get("Retry-After") or retry_after)
        exc = kind(message, int(wait) if wait.isdigit() else 1)
    elif issubclass(kind, errors.ContractRefused):
        exc = kind(detail.removeprefix("the contract refused: "))
        exc.args = (message,)
    else:
        exc = kind(message)
    exc.status = status
    return exc


def _phrase(status: int) -> str:
    if status == STATUS[ChecksumMismatch]:
        return "Checksum Mismatch"  # tus's own status; http.HTTPStatus knows no phrase for it
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(exc: BaseException, method: str = "GET") -> Response:
    """The problem+json answer to `exc`, for a route that answers its errors itself (tus adds its headers)."""
    from starlette.responses import Response

    status = status_of(exc)
    if status >= 500:
        logger.warning("%s: %s", method, exc)
    body = b"" if method == "HEAD" else json.dumps(problem(exc, status)).encode()
    return Response(body, status_code=status, headers=problem_headers(exc, method), media_type=MEDIA_TYPE)


def add_problem_handlers(app: FastAPI, www_authenticate: str | None = None) -> None:
    """Answer every MediaproofError, every request FastAPI's validation refuses and every HTTPException (an
    unknown route, a wrong method) of a FastAPI app as problem+json. `www_authenticate`: the scheme a 401 names."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response

    def respond(request: Request, exc: BaseException, status: int, extra: Mapping[str, str] = {}) -> Response:
        headers = {**problem_headers(exc, request.method), **extra}
        if status == 401 and www_authenticate:
            headers["WWW-Authenticate"] = www_authenticate  # RFC 9110: a 401 names the scheme it would accept
        body = b"" if request.method == "HEAD" else json.dumps(problem(exc, status)).encode()
        return Response(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)

    async def known_error(request: Request, exc: Exception) -> Response:
        status = status_of(exc)
        if status >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return respond(request, exc, status)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"] if p not in ("query", "path", "body", "header"))
            parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
        sentence = f"bad request parameters: {'; '.join(parts)}; see /docs for what this endpoint takes."
        return respond(request, InputError(sentence), STATUS[InputError])

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        allow = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), "")
        detail = str(exc.detail)
        if status == 404 and detail == _phrase(404):  # the router's: no route has this path
            error: MediaproofError = NotFound(f"nothing is served at {request.url.path}; see /docs for the routes")
        elif status == 405:
            error = MethodNotAllowed(f"{request.method} is not taken at {request.url.path}; use {allow}", allow)
        else:
            kind = _BY_STATUS.get(status) or (InputError if status < 500 else MediaproofError)
            error = kind(detail, 1) if issubclass(kind, RateLimited) else kind(detail)
        return respond(request, error, status, dict(exc.headers or {}))

    app.add_exception_handler(MediaproofError, known_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
