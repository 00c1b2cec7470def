"""HTTP clients of the download service's project reads. DownloadClient (sync, the sync engine): a manifest's bytes,
and a file streamed into place only once its bytes hash to the sha256 asked for (a half-written or wrong file never
replaces anything). AsyncDownloadClient (the web app): a manifest's or a file's bytes, up to a limit."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

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
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        temp = Path(name)
        digest = hashlib.sha256()
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    with self._http.stream("GET", blob_path(pid, sha256_hex)) as reply:
                        if reply.status_code >= 400:
                            reply.read()
                            _raise_for(reply)
                        for chunk in reply.iter_bytes(CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            written += len(chunk)
                except httpx.HTTPError as exc:
                    raise self._unreachable(exc) from exc
            if digest.hexdigest() != sha256_hex.lower():
                raise ContentMismatch(f"the download service sent bytes hashing to {digest.hexdigest()}, not "
                                      f"{sha256_hex}: nothing was written to {dest}")  # fmt: skip
            os.replace(temp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return written

    def _send(self, method: str, path: str) -> httpx.Response:
        try:
            return self._http.request(method, path)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: Exception) -> StorageError:
        return StorageError(f"the download service at {self.url} does not answer ({exc}): start it with `make up`, "
                            "or point MEDIAPROOF_DOWNLOAD_URL at it")  # fmt: skip


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
