"""The download service's view records in the gateway database (SQLite or PostgreSQL, mediaproof.gateway_db): an
append-only table whose `rowid` only grows, so the indexer, on any machine, reads on from its cursor.

Writers (every download process) append whole batches, each in one transaction under VIEWS_LOCK, so rowids are
handed out in commit order: a reader that has seen rowid n never later finds a row below n committed after it (the
lesson of LINKS_LOCK in gateway_store). Rows older than the retention are deleted by the writers' upkeep; a reader
finds the rowids it never saw missing and counts them. A batch whose transaction failed also leaves its rowids
unused on PostgreSQL (a sequence is not rolled back), and the writer counts those views as dropped: either way a
skipped rowid is a view the indexer will not count.
"""

from __future__ import annotations

from collections.abc import Sequence

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS view_records (
    rowid       INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even when retention empties the table
    ts          REAL NOT NULL,      -- unix seconds the view was served
    short_id    TEXT NOT NULL,      -- base62 id of the link read
    size        TEXT NOT NULL,      -- the size asked for
    served      TEXT NOT NULL,      -- the rendition sent (the original while that size is not ready)
    sha256      TEXT NOT NULL,      -- hex of the bytes sent
    status      INTEGER NOT NULL,   -- 200, 206 (a range: a video seeking) or 304 (a revalidation)
    byte_offset INTEGER NOT NULL,   -- where a 206 starts
    bytes       INTEGER NOT NULL    -- bytes sent
);
CREATE INDEX IF NOT EXISTS view_records_ts ON view_records (ts);
"""
# (short id, size asked, rendition served, sha256, status, offset, bytes): made once per cached answer.
View = tuple[str, str, str, str, int, int, int]
# (rowid, ts, *View) as read back.
ViewRow = tuple[int, float, str, str, str, str, int, int, int]
VIEWS_LOCK = "view_records"
COLUMNS = ("ts", "short_id", "size", "served", "sha256", "status", "byte_offset", "bytes")
PRUNE_CHUNK = 10_000  # rows deleted per statement: a large backlog never holds the write lock for long


class ViewRecords:
    """Open the view records at `target` (a SQLite file or a PostgreSQL DSN); `readonly=True` for the indexer."""

    def __init__(self, target: gateway_db.Target, readonly: bool = False) -> None:
        self._db = gateway_db.connect(target, None if readonly else SCHEMA, readonly=readonly)

    def close(self) -> None:
        self._db.close()

    def append(self, views: Sequence[tuple[float, View]]) -> None:
        """(time, view) pairs, as one transaction: all stored, or none (the exception says why)."""
        if not views:
            return
        with self._db.transaction(VIEWS_LOCK):
            self._db.insert_many("view_records", COLUMNS, [(ts, *v) for ts, v in views])

    def prune(self, before: float) -> int:
        """Delete records of views before `before` (unix seconds); how many went."""
        removed = 0
        while True:
            cursor = self._db.execute(
                "DELETE FROM view_records WHERE rowid IN (SELECT rowid FROM view_records WHERE ts < ? LIMIT ?)",
                (before, PRUNE_CHUNK),
            )
            removed += max(cursor.rowcount, 0)
            if cursor.rowcount < PRUNE_CHUNK:
                return removed

    def after(self, rowid: int, limit: int) -> list[ViewRow]:
        """Records after `rowid`, oldest first: a reader's cursor. Empty while no download process has written."""
        try:
            rows = self._db.execute(
                "SELECT rowid, ts, short_id, size, served, sha256, status, byte_offset, bytes FROM view_records"
                " WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (rowid, limit),
            )
            return [tuple(r) for r in rows]
        except gateway_db.MissingTable:
            return []
