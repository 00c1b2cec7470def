"""Short ids from the gateway database (SQLite, written by the upload service only): its `media_links` rows
(short_id, media_id) mirrored into the store, read-only and in rowid order from a cursor, then set on media rows.

Not chain data: a rollback leaves the mirror alone, and re-applied media rows get their short id back on the next
pass. A gateway database that does not exist (yet) is simply waited for.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from indexer.store import Store
from mediaproof.gateway_store import GatewayStore

log = logging.getLogger("indexer")
BATCH = 50_000


class ShortLinkSync:
    """`sync()` copies new links and fills short ids; returns (media position, short id) of the media it filled."""

    def __init__(self, store: Store, gateway_db: Path):
        self.store = store
        self.gateway_db = gateway_db
        self._filled_through = -1  # media of blocks up to here have been matched against every known link

    def forget_after(self, block: int) -> None:
        """Media rows after `block` were rolled back and may come again without their short id."""
        self._filled_through = min(self._filled_through, block)

    def _read_links(self, after: int) -> list[tuple[int, str, str | None]]:
        if not self.gateway_db.exists():
            return []
        try:
            gateway = GatewayStore(self.gateway_db, readonly=True)
            try:
                return gateway.links_after(after, BATCH)
            finally:
                gateway.close()
        except sqlite3.Error as exc:
            log.warning("cannot read short links from %s: %s", self.gateway_db, exc)
            return []

    def sync(self) -> list[tuple[int, str]]:
        filled: list[tuple[int, str]] = []
        while True:
            cursor = self.store.short_link_cursor()
            links = self._read_links(cursor)
            if not links:
                break
            filled += self.store.add_short_links(links)
            if len(links) < BATCH:
                break
        head = self.store.head()
        through = head.number if head else -1
        if through > self._filled_through:
            filled += self.store.fill_short_ids(after_block=self._filled_through)
            self._filled_through = through
        return filled
