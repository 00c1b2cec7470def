"""HTTP client of the download service's project reads: a manifest's bytes, and a file streamed into place only
once its bytes hash to the sha256 asked for (a half-written or wrong file never replaces anything)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import httpx

from mediaproof.errors import ContentMismatch, StorageError
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
        reply = self._send("GET", f"/projects/{_pid(pid)}/manifests/{cid}")
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
                    with self._http.stream("GET", f"/projects/{_pid(pid)}/blobs/{sha256_hex}") as reply:
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


def _raise_for(reply: httpx.Response) -> None:
    if reply.status_code >= 400:
        status = reply.status_code
        source = f"the download service failed ({status})" if status >= 500 else ""
        raise error_from(status, reply.content, reply.headers, source)
