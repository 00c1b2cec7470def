"""HTTP client of one storage cluster, signing every request as a gateway: store, receipts, read, list, delete.

Every request but `health()` carries a `Mediaproof-Gateway` Authorization header signed with the gateway's key
(mediaproof.gateway_auth); without a key the requests go unsigned, and the cluster refuses them.

Errors come back as the class the cluster answered with (mediaproof.problems: NotAuthenticated, SignatureRefused,
NotRegistered, NotPinned, MediaTooLarge, ContentMismatch, InputError…) carrying its own sentence; any 5xx is a
StorageError, whatever failed behind the cluster, so callers fail over to the next one.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from eth_account.signers.local import LocalAccount

from mediaproof import eip712
from mediaproof.errors import (
    InputError,
    ReceiptError,
    StorageError,
)
from mediaproof.gateway_auth import UNSIGNED_PAYLOAD, body_hash, sign_request
from mediaproof.problems import error_from
from mediaproof.receipts import SignedReceipt
from mediaproof.storage.claims import parse_sha256

UPLOAD_CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedObject:
    """Bytes a cluster holds, verified against their sha256, CID and size when they were stored."""

    cluster_id: int
    sha256: bytes
    cid: str
    size: int
    pinned: bool  # store() answers only once pinned; stat() says whether IPFS has them pinned right now

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PinnedObject:
        return cls(
            cluster_id=int(body["cluster_id"]),
            sha256=bytes.fromhex(parse_sha256(body["sha256"])),
            cid=str(body["cid"]),
            size=int(body["size"]),
            pinned=bool(body["pinned"]),
        )


def _sha_hex(sha256: bytes | str) -> str:
    if isinstance(sha256, bytes | bytearray):
        if len(sha256) != 32:
            raise InputError(f"a sha256 is 32 bytes, got {len(sha256)}")
        return bytes(sha256).hex()
    return parse_sha256(sha256)


class StorageClusterClient:
    """Calls on cluster `cluster_id` at `endpoint` (e.g. http://127.0.0.1:8601), signed by `gateway`."""

    def __init__(
        self,
        endpoint: str,
        cluster_id: int,
        gateway: LocalAccount | None,
        timeout: float | httpx.Timeout = 120.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.cluster_id = cluster_id
        self.gateway = gateway
        self._http = httpx.Client(base_url=self.endpoint, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StorageClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        """{cluster_id, signer, ipfs, objects, uploads_in_flight, gc: {runs, pending, removed, error}}; unsigned.
        StorageError if it or its IPFS is down."""
        try:
            response = self._http.get("/health")
        except httpx.HTTPError as exc:
            raise StorageError(f"storage cluster at {self.endpoint} is unreachable: {exc}") from exc
        if response.status_code >= 400:
            self._raise_for(response)
        return dict(response.json())

    def stat(self, sha256: bytes | str) -> PinnedObject | None:
        """What the cluster holds under `sha256` and whether it is pinned right now; None if it holds nothing."""
        sha_hex = _sha_hex(sha256)
        response = self._send("HEAD", f"/objects/{sha_hex}", allow=frozenset({404}))
        if response.status_code == 404:
            return None
        headers = response.headers
        return PinnedObject(
            cluster_id=self.cluster_id,
            sha256=bytes.fromhex(sha_hex),
            cid=headers["x-content-cid"],
            size=int(headers["x-content-size"]),
            pinned=headers.get("x-pinned") == "true",
        )

    def has(self, sha256: bytes | str) -> bool:
        """Whether the cluster holds the bytes, pinned, right now."""
        held = self.stat(sha256)
        return held is not None and held.pinned

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
    ) -> PinnedObject:
        """Send the bytes (streamed; skipped if the cluster already holds them pinned) and return what it pinned.

        `progress`, if given, is called with the byte count of each chunk sent (the whole size at once when the
        cluster already had the bytes).
        """
        sha_hex = _sha_hex(sha256)
        held = self.stat(sha_hex)
        if held is not None and held.pinned and held.cid == cid and held.size == size:
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
            answer = self._send("PUT", f"/objects/{sha_hex}", params=params, content=body).json()
        return PinnedObject.from_json(answer)

    def receipt(self, sha256: bytes | str, record: eip712.MediaRecord) -> SignedReceipt:
        """The cluster's receipt for the owner's `record` of bytes it holds, signed now that they are pinned.

        NotRegistered if it does not hold them, NotPinned if its IPFS node lost the pin, InputError if the record
        names other bytes, StorageError if its IPFS node is down.
        """
        sha_hex = _sha_hex(sha256)
        body = json.dumps({"record": record.message()}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        answer = self._send("POST", f"/objects/{sha_hex}/receipts", content=body, headers=headers).json()
        receipt = SignedReceipt.from_json(answer)
        if (receipt.cluster_id, receipt.sha256.hex(), receipt.owner) != (self.cluster_id, sha_hex, record.owner):
            raise ReceiptError(
                f"storage cluster at {self.endpoint} answered with a receipt of cluster {receipt.cluster_id} for "
                f"{receipt.sha256.hex()} and owner {receipt.owner}, not cluster {self.cluster_id}'s for {sha_hex} "
                f"and owner {record.owner}"
            )
        return receipt

    def fetch(self, sha256: bytes | str, offset: int = 0, length: int | None = None) -> bytes:
        return b"".join(self.iter_bytes(sha256, offset, length))

    def iter_bytes(self, sha256: bytes | str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The object's bytes as they arrive, from `offset`, at most `length` of them."""
        params: dict[str, Any] = {"offset": offset}
        if length is not None:
            params["length"] = length
        request = self._request("GET", f"/objects/{_sha_hex(sha256)}", params=params)
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
        """Unpin and forget the object (NotRegistered if the cluster holds nothing under `sha256`)."""
        self._send("DELETE", f"/objects/{_sha_hex(sha256)}")

    def list_objects(self, limit: int = 100, after: str = "") -> dict[str, Any]:
        """One page of {cluster_id, objects: [...], next}; pass `next` as `after` for the next page."""
        return dict(self._send("GET", "/objects", params={"limit": limit, "after": after}).json())

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Request:
        """The request as it will be sent, with its Authorization header (none without a gateway key)."""
        request = self._http.build_request(method, path, params=params, content=content, headers=headers)
        if self.gateway is not None:
            payload = _payload_hash(content)
            target = request.url.raw_path.decode("ascii")  # path and query, exactly as they go on the wire
            credentials = sign_request(self.gateway, self.cluster_id, method, target, payload, int(time.time()))
            request.headers["Authorization"] = credentials.header()
        return request

    def _send(self, method: str, path: str, allow: frozenset[int] = frozenset(), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.send(self._request(method, path, **kwargs))
        except httpx.HTTPError as exc:
            raise StorageError(f"storage cluster at {self.endpoint} is unreachable: {exc}") from exc
        if response.status_code >= 400 and response.status_code not in allow:
            self._raise_for(response)
        return response

    def _raise_for(self, response: httpx.Response) -> None:
        error = error_from(
            response.status_code, response.content, response.headers, f"storage cluster at {self.endpoint}"
        )
        if response.status_code >= 500 and not isinstance(error, StorageError):
            # Whatever failed behind the cluster (its chain node), to its callers the cluster failed: they fail over.
            raise StorageError(f"{error} (HTTP {response.status_code})") from error
        raise error


def _payload_hash(content: bytes | Iterable[bytes] | None) -> str:
    """The body line of the signed text: a whole body's sha256; a streamed object body goes unsigned, as the
    cluster holds it to its claimed sha256 instead."""
    if content is None:
        return body_hash(b"")
    return body_hash(content) if isinstance(content, bytes) else UNSIGNED_PAYLOAD


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(UPLOAD_CHUNK):
        yield chunk


def _counted(chunks: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress(len(chunk))
