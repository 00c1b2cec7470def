"""HTTP clients of the download service. DownloadClient (sync: the sync engine, `mediaproof get`): a project's
manifest, and a project file or a media's rendition streamed into place only once its bytes hash to the sha256
expected (a half-written or wrong file never replaces anything). AsyncDownloadClient (the web app): a manifest's or
a file's bytes, up to a limit."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

import httpx

from mediaproof.clients import ServiceUnavailable
from mediaproof.errors import ContentMismatch, InputError, StorageError
from mediaproof.problems import error_from

CHUNK = 1 << 20


class DownloadClient:
    """`token`: the bearer token of an upload-service session, for private projects (public ones need none)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DownloadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def manifest(self, pid: str | bytes, cid: str) -> bytes:
        """The manifest's bytes as stored (check them against the head's sha256 before trusting them)."""
        reply = self._send("GET", manifest_path(pid, cid))
        _raise_for(reply)
        return reply.content

    def fetch_blob(self, pid: str | bytes, sha256_hex: str, dest: Path) -> int:
        """Stream the file into a temp file beside `dest`, check its sha256, then put it at `dest` (atomically);
        the bytes written. ContentMismatch (and the temp file removed, `dest` untouched) when they hash otherwise."""
        written, _ = self._fetch(blob_path(pid, sha256_hex), dest, lambda _headers: sha256_hex)
        return written

    def fetch_media(self, short_id: str, size: str, dest: Path | None, directory: Path) -> tuple[Path, int, str]:
        """A media's rendition saved at `dest`, or in `directory` under the name the service gives it
        (Content-Disposition, reduced to a bare file name); its bytes must hash to the sha256 the answer names
        (its ETag). (path, bytes written, sha256)."""
        chosen: list[Path] = []

        def expected(headers: httpx.Headers) -> str:
            chosen.append(dest if dest is not None else directory / _saved_name(headers, short_id))
            return headers.get("etag", "").strip('"')

        query = f"?size={size}&download=1"
        written, sha256_hex = self._fetch(f"/m/{short_id}{query}", lambda: chosen[0], expected)
        return chosen[0], written, sha256_hex

    def _fetch(
        self, path: str, dest: Path | Callable[[], Path], expected: Callable[[httpx.Headers], str]
    ) -> tuple[int, str]:
        """GET `path` streamed into a temp file, checked against the sha256 `expected` reads from the answer's
        headers, then renamed to `dest` (which may be decided from the headers too)."""
        digest = hashlib.sha256()
        written = 0
        temp: Path | None = None
        try:
            try:
                with self._http.stream("GET", path) as reply:
                    if reply.status_code >= 400:
                        reply.read()
                        _raise_for(reply)
                    sha256_hex = expected(reply.headers).lower()
                    target = dest() if callable(dest) else dest
                    target.parent.mkdir(parents=True, exist_ok=True)
                    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
                    temp = Path(name)
                    with os.fdopen(fd, "wb") as out:
                        for chunk in reply.iter_bytes(CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            written += len(chunk)
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from exc
            if digest.hexdigest() != sha256_hex:
                raise ContentMismatch(f"the download service sent bytes hashing to {digest.hexdigest()}, not "
                                      f"{sha256_hex}: nothing was written to {target}")  # fmt: skip
            os.replace(temp, target)
        except BaseException:
            if temp is not None:
                with contextlib.suppress(OSError):
                    temp.unlink()
            raise
        return written, sha256_hex

    def _send(self, method: str, path: str) -> httpx.Response:
        try:
            return self._http.request(method, path)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: Exception) -> StorageError:
        return StorageError(f"the download service at {self.url} does not answer ({exc}): start it with `make up`, "
                            "or point MEDIAPROOF_DOWNLOAD_URL at it")  # fmt: skip


def _saved_name(headers: httpx.Headers, short_id: str) -> str:
    """The file name from Content-Disposition's filename* (RFC 8187), as a bare name: never a path, never hidden."""
    match = re.search(r"filename\*=UTF-8''([^;\s]+)", headers.get("content-disposition", ""))
    name = unquote(match.group(1)) if match else ""
    name = name.replace("/", "_").replace("\\", "_").replace("\x00", "").lstrip(".").strip()
    return name[:200] or short_id


def _pid(pid: str | bytes) -> str:
    return "0x" + pid.hex() if isinstance(pid, bytes) else pid


def manifest_path(pid: str | bytes, cid: str) -> str:
    return f"/projects/{_pid(pid)}/manifests/{quote(cid, safe='')}"


def blob_path(pid: str | bytes, sha256_hex: str) -> str:
    return f"/projects/{_pid(pid)}/blobs/{sha256_hex}"


class AsyncDownloadClient:
    """The web app's reads of a project's manifests and files; `token`, a session's bearer token, for private
    projects (NotAuthenticated (401) without one, Forbidden (403) for a wallet the project does not let read)."""

    def __init__(self, url: str, token: str = "", timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    async def manifest(self, pid: str, cid: str, limit: int) -> bytes:
        """A manifest's bytes as stored (check them against the head's sha256)."""
        return await self._bytes(manifest_path(pid, cid), limit)

    async def blob(self, pid: str, sha256_hex: str, limit: int) -> bytes:
        return await self._bytes(blob_path(pid, sha256_hex), limit)

    async def _bytes(self, path: str, limit: int) -> bytes:
        """The body of a GET, or the service's error class. A body over `limit` bytes is not read on (the caller
        shows an icon or a sentence instead)."""
        what = "download service"
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout) as client,
                client.stream("GET", self.url + path, headers=self.headers) as reply,
            ):
                if reply.status_code >= 400:
                    await reply.aread()
                    raise error_from(reply.status_code, reply.content, reply.headers, f"the {what}")
                body = bytearray()
                async for chunk in reply.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise InputError(f"the {what} sent more than {limit} bytes: not shown")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the {what} did not answer ({type(exc).__name__}): is it running?") from None


def _raise_for(reply: httpx.Response) -> None:
    if reply.status_code >= 400:
        status = reply.status_code
        source = f"the download service failed ({status})" if status >= 500 else ""
        raise error_from(status, reply.content, reply.headers, source)
