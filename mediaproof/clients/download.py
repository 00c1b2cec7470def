"""HTTP client of the download service: a project's manifest and files, and a media's rendition (`mediaproof get`),
each streamed into place only once its bytes hash to the sha256 expected (a half-written or wrong file never
replaces anything)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

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
        written, _ = self._fetch(f"/projects/{_pid(pid)}/blobs/{sha256_hex}", dest, lambda _headers: sha256_hex)
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


def _raise_for(reply: httpx.Response) -> None:
    if reply.status_code >= 400:
        status = reply.status_code
        source = f"the download service failed ({status})" if status >= 500 else ""
        raise error_from(status, reply.content, reply.headers, source)
