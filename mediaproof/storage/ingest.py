"""One pass over an upload: hash it (sha256 + CID) while the same chunks stream into `ipfs add` on a worker thread.

ipfshttpclient is synchronous, so the add runs in a thread reading a bounded queue that the event loop fills:
memory stays at a few chunks whatever the file's size.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mediaproof.content import ContentDigest, ContentHasher
from mediaproof.errors import MediaTooLarge, StorageError
from mediaproof.ipfs_client import AddedFile, IpfsClient

QUEUE_DEPTH = 16  # chunks in flight between the request and the add (~1 MiB with uvicorn's 64 KiB reads)
_EOF = b""


class _QueueReader(io.RawIOBase):
    """A file the add thread reads; each chunk comes from the event loop's queue."""

    def __init__(self, queue: asyncio.Queue[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._queue = queue
        self._loop = loop
        self._buffer = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not len(self._buffer):
            if self._done:
                return 0
            item = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop).result()
            if item == _EOF:
                self._done = True
                return 0
            self._buffer = memoryview(item)
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


@dataclass(frozen=True)
class Ingested:
    """What the bytes hash to by our count, and what IPFS made of the part it was given."""

    digest: ContentDigest  # of every byte received
    added: AddedFile  # of what IPFS was given: at most the claimed size


async def ingest(chunks: AsyncIterator[bytes], ipfs: IpfsClient, claimed_size: int, max_bytes: int) -> Ingested:
    """Stream `chunks` into an unpinned IPFS add while hashing them; stop feeding IPFS past `claimed_size`.

    Pinning is the caller's decision once the digests are compared with the claim.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_DEPTH)
    add = loop.run_in_executor(None, lambda: ipfs.add(_QueueReader(queue, loop), pin=False))
    hasher = ContentHasher()
    received = 0
    ended = False
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            hasher.update(chunk)
            received += len(chunk)
            if received > max_bytes:
                raise MediaTooLarge(f"the upload is over this cluster's limit of {max_bytes} bytes")
            if received - len(chunk) < claimed_size:
                # Past the claim there is nothing IPFS should keep; keep hashing only so the answer can say why.
                await _put(queue, chunk[: claimed_size - (received - len(chunk))], add)
        await _put(queue, _EOF, add)
        ended = True
    finally:
        if not ended:
            # Broken off or refused: end the add cleanly (a truncated file, unpinned, for the caller's garbage
            # collection). Cutting its request instead leaves js-ipfs holding its GC lock for good, and every
            # `repo gc` after it (and every add and pin queued behind that) waits for ever.
            if not add.done():
                await _put(queue, _EOF, add)
            await asyncio.gather(add, return_exceptions=True)
    try:
        added = await add
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"the IPFS add failed: {exc}") from exc
    digest = hasher.finish()
    return Ingested(digest=digest, added=added)


async def _put(queue: asyncio.Queue[bytes], item: bytes, add: asyncio.Future[Any]) -> None:
    """Queue `item` for the add thread unless that thread has already died (then its error surfaces)."""
    if add.done():
        await add  # raises the add's error; an add that finished early means the reader saw EOF
        return
    put = asyncio.ensure_future(queue.put(item))
    done, _ = await asyncio.wait({put, add}, return_when=asyncio.FIRST_COMPLETED)
    if put not in done:
        put.cancel()
        await add
        raise StorageError("the IPFS add stopped before the upload ended")


async def hash_only(chunks: AsyncIterator[bytes], max_bytes: int) -> ContentDigest:
    """sha256 and CID of an upload whose bytes this cluster already holds (no second add)."""
    hasher = ContentHasher()
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise MediaTooLarge(f"the upload is over this cluster's limit of {max_bytes} bytes")
        hasher.update(chunk)
    return hasher.finish()
