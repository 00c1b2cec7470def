"""Short ids from the gateway database (SQLite or PostgreSQL, written by the upload service): its `media_links` rows
(short_id, media_id) mirrored into the store, read-only and in rowid order from a cursor, then set on media rows.

Not chain data: a rollback leaves the mirror alone, and re-applied media rows get their short id back on the next
pass. A gateway database that does not exist (yet) is simply waited for; the connection is kept between passes
(indexer.gateway_reader). A link written before its record was
registered (no media id yet) is looked up again on each pass until the gateway fills its media id in, which it does
in place (same rowid, behind the cursor).
"""

from __future__ import annotations

import logging

from indexer.gateway_reader import KeptReader
from indexer.store import Store
from mediaproof import gateway_db
from mediaproof.gateway_store import GatewayStore, LinkedMedia

log = logging.getLogger("indexer")
BATCH = 50_000
PENDING_PER_PASS = 1_000  # pending links looked up again per pass (uploads waiting for their registration)


class ShortLinkSync:
    """`sync()` copies new links and fills short ids; returns (media position, short id) of the media it filled."""

    def __init__(self, store: Store, gateway: gateway_db.Target):
        self.store = store
        self.gateway = KeptReader(gateway, GatewayStore, "short links")
        self._filled_through = -1  # media of blocks up to here have been matched against every known link
        self._pending_after = ""  # pending links are looked up again a slice per pass, round and round

    def forget_after(self, block: int) -> None:
        """Media rows after `block` were rolled back and may come again without their short id."""
        self._filled_through = min(self._filled_through, block)

    def _read_links(self, after: int) -> list[tuple[int, str, str | None]]:
        return self.gateway.read(lambda gateway: gateway.links_after(after, BATCH), [])

    def _read_pending(self, short_ids: list[str]) -> list[tuple[int, str, str | None]]:
        """The links among `short_ids` that have a media id now, as (0, short id, media id)."""
        if not short_ids:
            return []
        nothing: list[LinkedMedia | None] = []
        found = self.gateway.read(lambda gateway: [gateway.resolve(s) for s in short_ids], nothing)
        return [(0, link.short_id, link.media_id) for link in found if link is not None and link.media_id]

    def close(self) -> None:
        self.gateway.close()

    def sync(self) -> list[tuple[int, str]]:
        filled: list[tuple[int, str]] = []
        pending = self.store.pending_short_ids(self._pending_after, PENDING_PER_PASS)
        self._pending_after = pending[-1] if len(pending) == PENDING_PER_PASS else ""
        resolved = self._read_pending(pending)
        if resolved:
            filled += self.store.add_short_links(resolved, move_cursor=False)
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
