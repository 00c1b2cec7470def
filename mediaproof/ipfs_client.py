"""A small async client on httpx for exactly the Kubo RPC calls Mediaproof makes (deploy/README.md lists them);
every failure, the node away or answering an error, becomes a StorageError. mediaproof/ipfs_node.py starts nodes.

`AsyncIpfsClient` is the client. `IpfsClient` is the same calls for synchronous callers outside an event loop (tests,
benches, the launcher): each call runs the async one on a loop and a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

import httpx

from mediaproof.content import parse_cid
from mediaproof.errors import InputError, StorageError

T = TypeVar("T")

# Pieces a file object or bytes are read in for the request body (the node chunks the file itself, 256 KiB).
READ_CHUNK = 256 * 1024
_MULTIADDR = re.compile(r"^/(?:ip4|dns|dns4|dns6)/([^/]+)/tcp/(\d+)(?:/(https?))?/?$")
_MULTIADDR_IP6 = re.compile(r"^/ip6/([^/]+)/tcp/(\d+)(?:/(https?))?/?$")


@dataclass(frozen=True)
class AddedFile:
    """What IPFS answered to an add: the file's CIDv1 (base32) and its byte length."""

    cid: str
    size: int


def normalize_cid(cid: str) -> str:
    """The base32 CIDv1 text of any CID IPFS prints (base58 `z…`, `Qm…` or `b…`)."""
    return parse_cid(cid).to_base32()


def rpc_base_url(api: str) -> str:
    """The `http://host:port/api/v0` of an RPC address given as a multiaddr (`/ip4/127.0.0.1/tcp/5001`, an optional
    `/http` or `/https` tail, as Kubo's `api` file writes it) or as a URL (`http://host:5001`)."""
    if api.startswith(("http://", "https://")):
        url = api.rstrip("/")
        return url if url.endswith("/api/v0") else f"{url}/api/v0"
    match = _MULTIADDR.match(api)
    host = match.group(1) if match else None
    if match is None:
        match = _MULTIADDR_IP6.match(api)
        host = f"[{match.group(1)}]" if match else None
    if match is None:
        raise InputError(
            f"{api!r} is no Kubo RPC address: give a multiaddr such as /ip4/127.0.0.1/tcp/5001 or a URL such as "
            "http://127.0.0.1:5001"
        )
    return f"{match.group(3) or 'http'}://{host}:{match.group(2)}/api/v0"


def _multipart_file(body: AsyncIterable[bytes], boundary: str) -> AsyncIterator[bytes]:
    """One multipart/form-data part named `file` around `body`, streamed: the framing `add` takes (js-ipfs refuses
    a part without a Content-Type)."""

    async def frame() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        async for chunk in body:
            if chunk:
                yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return frame()


async def _from_sync(data: BinaryIO | Iterable[bytes] | bytes) -> AsyncIterator[bytes]:
    """Bytes, a binary file or an iterator of chunks as async chunks (read on the calling loop: sync callers only)."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), READ_CHUNK):
            yield bytes(view[start : start + READ_CHUNK])
    elif hasattr(data, "read"):
        while chunk := data.read(READ_CHUNK):
            yield chunk
    else:
        for chunk in data:
            yield chunk


def _lines(text: str) -> list[dict[str, Any]]:
    """The objects of a newline-delimited JSON answer (refs, refs/local, repo/gc, block/rm stream one per line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _node_message(response: httpx.Response) -> str:
    """The node's own error text (Kubo and js-ipfs answer `{"Message": …, "Code": …, "Type": "error"}`)."""
    with contextlib.suppress(ValueError, AttributeError):
        message = response.json().get("Message")
        if message:
            return str(message)
    return response.text[:300] or response.reason_phrase


class AsyncIpfsClient:
    """Typed calls on one node's Kubo RPC API. Every failure becomes a StorageError; `close()` when done."""

    def __init__(self, api: str, timeout: float = 120.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.api = api
        self._http = httpx.AsyncClient(base_url=rpc_base_url(api), timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncIpfsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def id(self) -> dict[str, Any]:
        answer = await self._call("id")
        return self._parsed(lambda: dict(answer.json()), "id")

    async def add(self, data: AsyncIterable[bytes] | bytes, pin: bool = True) -> AddedFile:
        """Add one file as IPFS builds it by default (256 KiB chunks, balanced) with CIDv1 raw leaves.

        `data` may be bytes or an async iterator of chunks: the body streams into the node as it arrives (chunked
        transfer encoding), so memory stays at a few chunks whatever the file's size. The request ends only when
        `data` does: a caller that must give up part-way ends its iterator early, which leaves a truncated,
        unpinned file (cutting the request instead leaves js-ipfs holding its GC lock for good).
        """
        body = _from_sync(data) if isinstance(data, bytes | bytearray | memoryview) else data
        boundary = secrets.token_hex(16)
        params = {"cid-version": "1", "raw-leaves": "true", "pin": "true" if pin else "false", "cid-base": "base32"}
        answer = await self._call(
            "add",
            params,
            content=_multipart_file(body, boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        # One line per file (and, with progress, per step); the last names the file itself.
        last = self._parsed(lambda: _lines(answer.text)[-1], "add")
        return AddedFile(cid=normalize_cid(last["Hash"]), size=int(last["Size"]))

    async def cat(self, cid: str, offset: int = 0, length: int | None = None) -> AsyncGenerator[bytes, None]:
        """The file's bytes from `offset`, at most `length`, as a stream of chunks. The node has answered when this
        returns (a node away or refusing raises here, before any byte); `aclose()` the stream if it is not read to
        its end."""
        if offset < 0 or (length is not None and length < 0):
            raise InputError(f"cat needs offset >= 0 and length >= 0, got offset={offset} length={length}")
        if length == 0:  # js-ipfs reads length=0 as "to the end"; an empty range needs no call at all
            return _empty()
        params = {"arg": cid, "offset": str(offset)} | ({"length": str(length)} if length is not None else {})
        request = self._http.build_request("POST", "cat", params=params)
        async with self._errors("cat"):
            response = await self._http.send(request, stream=True)
        if response.is_error:
            await response.aread()
            await response.aclose()
            raise self._refused("cat", response)
        return self._stream(response)

    async def pin_add(self, cid: str) -> None:
        await self._call("pin/add", {"arg": cid})

    async def pin_rm(self, cid: str) -> None:
        await self._call("pin/rm", {"arg": cid})

    async def pin_ls(self) -> set[str]:
        """CIDs (base32) pinned recursively: what `add` with pin and `pin add` create."""
        answer = await self._call("pin/ls", {"type": "recursive"})
        return self._parsed(lambda: {normalize_cid(cid) for cid in answer.json()["Keys"]}, "pin ls")

    async def is_pinned(self, cid: str) -> bool:
        """Whether `cid` itself is pinned recursively right now (`pin/ls?arg=<cid>&type=recursive`: one lookup, not
        a listing of every pin). StorageError only when the node fails or cannot be reached."""
        async with self._errors(f"pin ls {cid}"):
            response = await self._http.post("pin/ls", params={"arg": cid, "type": "recursive"})
        if response.is_error:
            # The node's own word that it holds no such pin (Kubo and js-ipfs: "path '<cid>' is not pinned").
            if "not pinned" in _node_message(response):
                return False
            raise self._refused(f"pin ls {cid}", response)
        keys = self._parsed(lambda: response.json()["Keys"], "pin ls")
        return normalize_cid(cid) in {normalize_cid(key) for key in keys}

    async def refs(self, cid: str) -> list[str]:
        """Every block under `cid` (not `cid` itself), base32."""
        answer = await self._call("refs", {"arg": cid, "recursive": "true", "unique": "true"})
        return self._parsed(lambda: [normalize_cid(i["Ref"]) for i in _lines(answer.text) if i.get("Ref")], "refs")

    async def local_blocks(self) -> set[str]:
        """Every block the node stores, pinned or not (base32)."""
        answer = await self._call("refs/local")
        return self._parsed(lambda: {normalize_cid(i["Ref"]) for i in _lines(answer.text) if i.get("Ref")}, "refs")

    async def repo_gc(self) -> int:
        """Remove every block no pin holds (`repo gc`); how many went. js-ipfs takes its GC lock, so adds and pins
        in progress on the node itself are safe (blocks added unpinned and not yet pinned are not: see storage.gc)."""
        answer = await self._call("repo/gc")
        return self._parsed(lambda: sum(1 for item in _lines(answer.text) if item.get("Key")), "repo gc")

    async def block_rm(self, cids: list[str]) -> None:
        """Remove blocks; the node refuses pinned ones (directly or under a pin), so shared blocks stay. One call a
        block, each refusal ignored: the rest still go."""
        for cid in cids:
            with contextlib.suppress(StorageError):
                await self._call("block/rm", {"arg": cid})

    async def _call(self, path: str, params: dict[str, str] | None = None, **request: Any) -> httpx.Response:
        """POST one RPC call (the RPC API takes POST only) and read its whole answer; an error status raises."""
        async with self._errors(path.replace("/", " ")):
            response = await self._http.post(path, params=params, **request)
        if response.is_error:
            raise self._refused(path.replace("/", " "), response)
        return response

    @contextlib.asynccontextmanager
    async def _errors(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:  # the node away, a timeout, a connection cut mid-answer
            raise StorageError(f"IPFS node at {self.api} failed on {what}: {exc!r}") from exc

    def _refused(self, what: str, response: httpx.Response) -> StorageError:
        return StorageError(
            f"IPFS node at {self.api} failed on {what}: {response.status_code} {_node_message(response)}"
        )

    def _parsed(self, parse: Callable[[], T], what: str) -> T:
        """`parse()`'s result; an answer not shaped as the RPC API documents is the node's failure."""
        try:
            return parse()
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise StorageError(f"IPFS node at {self.api} answered {what} with something unexpected: {exc!r}") from exc

    async def _stream(self, response: httpx.Response) -> AsyncGenerator[bytes, None]:
        try:
            async with self._errors("cat"):
                async for chunk in response.aiter_raw():
                    yield chunk
        finally:
            await response.aclose()


async def _empty() -> AsyncGenerator[bytes, None]:
    return
    yield  # pragma: no cover - makes this an async generator


class IpfsClient:
    """AsyncIpfsClient's calls for synchronous code outside an event loop (tests, benches, the node launcher).

    Each call opens a client of its own on a loop of its own, so nothing outlives it and `close()` has nothing to
    free; a service with an event loop uses AsyncIpfsClient.
    """

    def __init__(self, api: str, timeout: float = 120.0) -> None:
        self.api = api
        self.timeout = timeout
        rpc_base_url(api)  # a bad address fails here, not at the first call

    def close(self) -> None:
        """Nothing to free (kept so the client reads like any other)."""

    def __enter__(self) -> IpfsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, call: Callable[[AsyncIpfsClient], Awaitable[T]]) -> T:
        async def once() -> T:
            async with AsyncIpfsClient(self.api, self.timeout) as client:
                return await call(client)

        return asyncio.run(once())

    def id(self) -> dict[str, Any]:
        return self._run(lambda c: c.id())

    def add(self, data: BinaryIO | Iterable[bytes] | bytes, pin: bool = True) -> AddedFile:
        """See AsyncIpfsClient.add; `data` may be bytes, a binary file object, or an iterator of chunks."""
        return self._run(lambda c: c.add(_from_sync(data), pin=pin))

    def cat(self, cid: str, offset: int = 0, length: int | None = None) -> bytes:
        """The bytes of the range, read whole (tests and tools; a service streams with AsyncIpfsClient.cat)."""

        async def read(client: AsyncIpfsClient) -> bytes:
            return b"".join([chunk async for chunk in await client.cat(cid, offset, length)])

        return self._run(read)

    def pin_add(self, cid: str) -> None:
        self._run(lambda c: c.pin_add(cid))

    def pin_rm(self, cid: str) -> None:
        self._run(lambda c: c.pin_rm(cid))

    def pin_ls(self) -> set[str]:
        return self._run(lambda c: c.pin_ls())

    def is_pinned(self, cid: str) -> bool:
        return self._run(lambda c: c.is_pinned(cid))

    def refs(self, cid: str) -> list[str]:
        return self._run(lambda c: c.refs(cid))

    def local_blocks(self) -> set[str]:
        return self._run(lambda c: c.local_blocks())

    def repo_gc(self) -> int:
        return self._run(lambda c: c.repo_gc())

    def block_rm(self, cids: list[str]) -> None:
        self._run(lambda c: c.block_rm(cids))
