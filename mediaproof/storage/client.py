"""HTTP client of one storage cluster: store bytes for a signed receipt, fetch them back, ask after its health.

Errors come back as Mediaproof errors carrying the cluster's own sentence (404 → NotRegistered, 422 →
ContentMismatch or InputError, 413 → MediaTooLarge, anything else → StorageError).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from mediaproof.eip712 import StorageReceipt
from mediaproof.errors import ContentMismatch, InputError, MediaTooLarge, NotRegistered, StorageError
from mediaproof.storage.claims import parse_sha256

UPLOAD_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredReceipt:
    """A cluster's signed word that it verified and pinned some bytes (the JSON of PUT /objects/<sha256>)."""

    cluster_id: int
    sha256: bytes
    cid: str
    size: int
    pinned_at: int
    signer: str
    signature: bytes

    @property
    def receipt(self) -> StorageReceipt:
        """The EIP-712 message the signature covers."""
        return StorageReceipt(self.cluster_id, self.sha256, self.cid, self.size, self.pinned_at)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> StoredReceipt:
        return cls(
            cluster_id=int(body["cluster_id"]),
            sha256=bytes.fromhex(parse_sha256(body["sha256"])),
            cid=str(body["cid"]),
            size=int(body["size"]),
            pinned_at=int(body["pinned_at"]),
            signer=str(body["signer"]),
            signature=bytes.fromhex(str(body["signature"]).removeprefix("0x")),
        )


def _sha_hex(sha256: bytes | str) -> str:
    if isinstance(sha256, bytes | bytearray):
        if len(sha256) != 32:
            raise InputError(f"a sha256 is 32 bytes, got {len(sha256)}")
        return bytes(sha256).hex()
    return parse_sha256(sha256)


class StorageClusterClient:
    """Calls on the cluster at `endpoint` (e.g. http://127.0.0.1:8601)."""

    def __init__(self, endpoint: str, timeout: float = 120.0, client: httpx.Client | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._http = client or httpx.Client(base_url=self.endpoint, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StorageClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        """{cluster_id, signer, ipfs, objects}; raises StorageError if the cluster or its IPFS node is down."""
        return dict(self._json("GET", "/health"))

    def has(self, sha256: bytes | str) -> bool:
        response = self._send("HEAD", f"/objects/{_sha_hex(sha256)}", allow=frozenset({404}))
        return response.status_code == 200

    def receipt(self, sha256: bytes | str) -> StoredReceipt | None:
        """A fresh receipt for bytes the cluster already holds, or None if it does not hold them."""
        response = self._send("GET", f"/objects/{_sha_hex(sha256)}/receipt", allow=frozenset({404}))
        return None if response.status_code == 404 else StoredReceipt.from_json(response.json())

    def store(
        self,
        source: Path | str | BinaryIO | Iterable[bytes],
        sha256: bytes | str,
        cid: str,
        size: int,
        title: str = "",
        lat: float | None = None,
        lon: float | None = None,
        created: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> StoredReceipt:
        """Send the bytes (streamed; skipped if the cluster already holds them) and return its receipt.

        `progress`, if given, is called with the byte count of each chunk sent (the whole size at once when the
        cluster already had the bytes).
        """
        sha_hex = _sha_hex(sha256)
        held = self.receipt(sha_hex)
        if held is not None and held.cid == cid and held.size == size:
            if progress is not None:
                progress(size)
            return held
        params: dict[str, Any] = {"cid": cid, "size": size, "title": title}
        params.update({k: v for k, v in (("lat", lat), ("lon", lon), ("created", created)) if v is not None})
        with contextlib.ExitStack() as stack:
            if isinstance(source, str | Path):
                try:
                    handle: Any = stack.enter_context(open(source, "rb"))
                except OSError as exc:
                    raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
                chunks: Iterable[bytes] = _read_chunks(handle)
            elif hasattr(source, "read"):
                chunks = _read_chunks(source)  # type: ignore[arg-type]
            else:
                chunks = source
            body = _counted(chunks, progress)
            return StoredReceipt.from_json(self._json("PUT", f"/objects/{sha_hex}", params=params, content=body))

    def fetch(self, sha256: bytes | str, offset: int = 0, length: int | None = None) -> bytes:
        return b"".join(self.iter_bytes(sha256, offset, length))

    def iter_bytes(self, sha256: bytes | str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The object's bytes as they arrive, from `offset`, at most `length` of them."""
        params: dict[str, Any] = {"offset": offset}
        if length is not None:
            params["length"] = length
        request = self._http.build_request("GET", f"/objects/{_sha_hex(sha256)}", params=params)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise StorageError(f"storage cluster at {self.endpoint} is unreachable: {exc}") from exc
        try:
            if response.status_code >= 400:
                response.read()
                self._raise_for(response)
            yield from response.iter_bytes()
        except httpx.HTTPError as exc:
            raise StorageError(f"storage cluster at {self.endpoint} broke off the download: {exc}") from exc
        finally:
            response.close()

    def delete(self, sha256: bytes | str) -> None:
        self._json("DELETE", f"/objects/{_sha_hex(sha256)}")

    def list_objects(self, limit: int = 100, after: str = "") -> dict[str, Any]:
        """One page of {cluster_id, objects: [...], next}; pass `next` as `after` for the next page."""
        return dict(self._json("GET", "/objects", params={"limit": limit, "after": after}))

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def _send(self, method: str, path: str, allow: frozenset[int] = frozenset(), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StorageError(f"storage cluster at {self.endpoint} is unreachable: {exc}") from exc
        if response.status_code >= 400 and response.status_code not in allow:
            self._raise_for(response)
        return response

    def _raise_for(self, response: httpx.Response) -> None:
        try:
            body = response.json()
            detail, kind = str(body.get("detail")), str(body.get("error", ""))
        except (ValueError, AttributeError):
            detail, kind = response.text or response.reason_phrase, ""
        message = f"storage cluster at {self.endpoint}: {detail}"
        status = response.status_code
        if status == 404:
            raise NotRegistered(message)
        if status == 413:
            raise MediaTooLarge(message)
        if status == 422:
            raise ContentMismatch(message) if kind == ContentMismatch.__name__ else InputError(message)
        raise StorageError(f"{message} (HTTP {status})")


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(UPLOAD_CHUNK):
        yield chunk


def _counted(chunks: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress(len(chunk))
