"""A typed client for a node's Kubo-compatible RPC API (add, cat, pin, id, refs, repo gc) over ipfshttpclient;
every failure becomes a StorageError. The development launcher is mediaproof/ipfs_node.py."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ipfshttpclient
import ipfshttpclient.exceptions

from mediaproof.content import parse_cid
from mediaproof.errors import InputError, StorageError

# ipfshttpclient 0.7 passes urllib3 an argument urllib3 2 warns about on every pool; the call still works.
warnings.filterwarnings("ignore", message="The 'strict' parameter", category=FutureWarning)

# Chunks the client hands to the HTTP body: ipfshttpclient's default (8 KiB) costs ~25% of add throughput.
ADD_CHUNK = 256 * 1024


@dataclass(frozen=True)
class AddedFile:
    """What IPFS answered to an add: the file's CIDv1 (base32) and its byte length."""

    cid: str
    size: int


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, so ipfshttpclient can stream a generator."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not len(self._buffer):
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


def normalize_cid(cid: str) -> str:
    """The base32 CIDv1 text of any CID IPFS prints (base58 `z…`, `Qm…` or `b…`)."""
    return parse_cid(cid).to_base32()


class IpfsClient:
    """Typed calls on one node's RPC API (add, cat, pin, id, repo gc). Every failure becomes a StorageError.

    ipfshttpclient's `connect()` refuses js-ipfs's version (0.18.1); constructing `Client` directly skips the check.
    """

    def __init__(self, api: str, timeout: float = 120.0) -> None:
        self.api = api
        self._client = ipfshttpclient.Client(api, timeout=timeout, chunk_size=ADD_CHUNK)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IpfsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def id(self) -> dict[str, Any]:
        with self._errors("id"):
            return dict(self._client.id())

    def add(self, data: BinaryIO | Iterable[bytes] | bytes, pin: bool = True) -> AddedFile:
        """Add one file as IPFS builds it by default (256 KiB chunks, balanced) with CIDv1 raw leaves.

        `data` may be bytes, a binary file object, or an iterator of chunks; the body streams (measured: the
        client's memory stays flat while adding 50 MB).
        """
        if isinstance(data, bytes | bytearray | memoryview):
            source: Any = io.BytesIO(bytes(data))
        elif hasattr(data, "read"):
            source = data
        else:
            source = _ChunkReader(data)
        with self._errors("add"):
            answer = self._client.add(source, cid_version=1, raw_leaves=True, pin=pin, opts={"cid-base": "base32"})
        return AddedFile(cid=normalize_cid(answer["Hash"]), size=int(answer["Size"]))

    def cat(self, cid: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The file's bytes as a stream of chunks, from `offset`, at most `length` bytes."""
        if offset < 0 or (length is not None and length < 0):
            raise InputError(f"cat needs offset >= 0 and length >= 0, got offset={offset} length={length}")
        with self._errors("cat"):
            # js-ipfs treats length=0 as "to the end"; an empty range needs no call at all.
            if length == 0:
                return iter(())
            stream = self._client.cat(cid, offset=offset, length=length, stream=True)
        return self._guarded(stream, "cat")

    def pin_add(self, cid: str) -> None:
        with self._errors("pin add"):
            self._client.pin.add(cid)

    def pin_rm(self, cid: str) -> None:
        with self._errors("pin rm"):
            self._client.pin.rm(cid)

    def pin_ls(self) -> set[str]:
        """CIDs (base32) pinned recursively: what `add` with pin and `pin add` create."""
        with self._errors("pin ls"):
            answer = self._client.pin.ls(type="recursive")
        return {normalize_cid(cid) for cid in answer["Keys"]}

    def is_pinned(self, cid: str) -> bool:
        """Whether `cid` itself is pinned recursively right now (`pin ls <cid> --type=recursive`: one lookup, not
        a listing of every pin). StorageError only when the node fails or cannot be reached."""
        try:
            answer = self._client.pin.ls(cid, type="recursive")
        except ipfshttpclient.exceptions.ErrorResponse as exc:
            # The node's own word that it holds no such pin (js-ipfs: "path '<cid>' is not pinned").
            if "not pinned" in str(exc):
                return False
            raise StorageError(f"IPFS node at {self.api} failed on pin ls {cid}: {exc}") from exc
        except ipfshttpclient.exceptions.Error as exc:
            raise StorageError(f"IPFS node at {self.api} failed on pin ls {cid}: {exc}") from exc
        return normalize_cid(cid) in {normalize_cid(key) for key in answer["Keys"]}

    def refs(self, cid: str) -> list[str]:
        """Every block under `cid` (not `cid` itself), base32."""
        with self._errors("refs"):
            answer = self._client._client.request(
                "/refs", (cid,), opts={"recursive": "true", "unique": "true"}, decoder="json"
            )
        return [normalize_cid(item["Ref"]) for item in answer if item.get("Ref")]

    def local_blocks(self) -> set[str]:
        """Every block the node stores, pinned or not (base32)."""
        with self._errors("refs local"):
            answer = self._client._client.request("/refs/local", decoder="json")
        return {normalize_cid(item["Ref"]) for item in answer if item.get("Ref")}

    def repo_gc(self) -> int:
        """Remove every block no pin holds (`repo gc`); how many went. js-ipfs takes its GC lock, so adds and pins
        in progress on the node itself are safe (blocks added unpinned and not yet pinned are not: see storage.gc)."""
        with self._errors("repo gc"):
            answer = self._client._client.request("/repo/gc", decoder="json")
        return sum(1 for item in answer if item.get("Key"))

    def block_rm(self, cids: list[str]) -> None:
        """Remove blocks; js-ipfs refuses pinned ones (directly or under a pin), so shared blocks stay."""
        # ipfshttpclient 0.7 has no block.rm: call the RPC route through its transport.
        for cid in cids:
            with contextlib.suppress(StorageError), self._errors("block rm"):
                self._client._client.request("/block/rm", (cid,), decoder="json")

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except ipfshttpclient.exceptions.Error as exc:
            raise StorageError(f"IPFS node at {self.api} failed on {what}: {exc}") from exc

    def _guarded(self, stream: Iterable[bytes], what: str) -> Iterator[bytes]:
        with self._errors(what):
            yield from stream
