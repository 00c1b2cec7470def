"""The cluster's IPFS garbage collection: after a delete (unpin) or an upload that was broken off or refused, the
node's `repo gc` runs so that unpinned blocks are gone from its blockstore, not merely unpinned.

An upload adds its blocks unpinned and pins them only once they are checked, so a collection must never run while
one is between its add and its pin: uploads hold `writing()`, a collection waits until none does. A collection
kept waiting longer than MAX_DEFER takes its turn: new uploads wait for it (it takes a second or so), so a steady
stream of uploads cannot put it off for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from mediaproof.errors import StorageError
from mediaproof.ipfs_client import AsyncIpfsClient

logger = logging.getLogger(__name__)
MAX_DEFER = 30.0  # seconds a wanted collection yields to uploads in flight before they wait for it
RETRY_SECONDS = 5.0  # after a collection failed (the node away)


class GarbageCollector:
    """`request()` after anything that leaves unpinned blocks; `run()` is the task that collects them."""

    def __init__(self, ipfs: AsyncIpfsClient) -> None:
        self.ipfs = ipfs  # its own client: a collection may take a while
        self._wake = asyncio.Event()
        self._turn = asyncio.Condition()
        self._writers = 0
        self._collecting = False  # new uploads wait while set (a collection running, or its turn taken)
        self.requested = 0  # requests so far; a collection that starts serves every request made before it
        self.collected = 0  # the requests served by the last collection that finished
        self.runs = 0
        self.removed = 0  # blocks removed, all runs together
        self.last_error: str | None = None

    def request(self) -> None:
        self.requested += 1
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """For /health: `pending` stays true until a collection started after the last request has finished."""
        return {"runs": self.runs, "pending": self.collected < self.requested, "removed": self.removed,
                "error": self.last_error}  # fmt: skip

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Held by an upload from before its add until its pin (or its failure): no collection runs meanwhile."""
        async with self._turn:
            await self._turn.wait_for(lambda: not self._collecting)
            self._writers += 1
        try:
            yield
        finally:
            async with self._turn:
                self._writers -= 1
                self._turn.notify_all()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._collect()

    async def _collect(self) -> None:
        wanted_since = time.monotonic()
        async with self._turn:
            while self._writers:
                remaining = MAX_DEFER - (time.monotonic() - wanted_since)
                if remaining <= 0:
                    self._collecting = True  # our turn: uploads not yet started wait for the collection
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._turn.wait(), timeout=max(remaining, 1.0))
            self._collecting = True
            serves = self.requested
        try:
            removed = await self.ipfs.repo_gc()
        except StorageError as exc:
            self.last_error = str(exc)
            logger.warning("garbage collection failed, retrying in %.0f s: %s", RETRY_SECONDS, exc)
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._wake.set)
        else:
            self.collected = serves
            self.runs += 1
            self.removed += removed
            self.last_error = None
        finally:
            async with self._turn:
                self._collecting = False
                self._turn.notify_all()
