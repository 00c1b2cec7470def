"""Views from the download service's records in the gateway database (mediaproof.view_records, SQLite or
PostgreSQL, read-only, like the short ids) into the store, read on from a rowid cursor kept in the same transaction
as its rows, so a crash or restart never counts a record twice or skips one.

Rowids only grow and are handed out in commit order, so a rowid passed over was never there to read: deleted past
the retention before this indexer came to it, or a batch whose write failed. Either way a view not counted; the
store keeps how many (GET /health, and a warning in the log).

`parse_view` is pure: one stored row to a record, or ValueError naming what is wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from indexer.gateway_reader import KeptReader
from indexer.store import Store
from mediaproof import gateway_db
from mediaproof.view_records import ViewRecords

log = logging.getLogger("indexer")
BATCH = 50_000  # records per transaction: a large backlog is taken in steps
_SHORT_ID = re.compile(r"[0-9A-Za-z]{1,32}")
_NAME = re.compile(r"[a-z]{1,16}")
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ViewRecord:
    viewed_at: float  # unix seconds
    day: str  # UTC date, YYYY-MM-DD
    short_id: str
    size: str  # the size asked for
    served: str  # the rendition sent
    status: int
    byte_offset: int
    bytes: int
    counted: bool  # a view, not a seek within one


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} {value!r} is not a count")
    return value


def parse_view(row: tuple[Any, ...]) -> ViewRecord:
    """One stored row (ts, short_id, size, served, sha256, status, byte_offset, bytes), without its rowid. A 206
    from a later offset is a video seeking within a view already counted; 200, 304 and a 206 from byte 0 each count
    as one view."""
    if len(row) != 8:
        raise ValueError(f"{len(row)} columns, not 8")
    ts, short_id, size, served, sha256, status, offset, length = row
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not 0 <= ts < 1e11:
        raise ValueError(f"ts {ts!r} is not unix seconds")
    if not isinstance(short_id, str) or not _SHORT_ID.fullmatch(short_id):
        raise ValueError(f"short_id {short_id!r} is not an id")
    if not isinstance(size, str) or not _NAME.fullmatch(size):
        raise ValueError(f"size {size!r} is not a size name")
    if not isinstance(served, str) or not _NAME.fullmatch(served):
        raise ValueError(f"served {served!r} is not a size name")
    if not isinstance(sha256, str) or not _HEX.fullmatch(sha256):
        raise ValueError(f"sha256 {sha256!r} is not 64 hex digits")
    if _int(status, "status") not in (200, 206, 304):
        raise ValueError(f"status {status!r} is not a view's (200, 206 or 304)")
    offset, length = _int(offset, "byte_offset"), _int(length, "bytes")
    return ViewRecord(
        viewed_at=float(ts),
        day=datetime.fromtimestamp(ts, UTC).date().isoformat(),
        short_id=short_id,
        size=size,
        served=served,
        status=status,
        byte_offset=offset,
        bytes=length,
        counted=status in (200, 304) or (status == 206 and offset == 0),
    )


def parse_rows(after: int, rows: list[tuple[Any, ...]]) -> tuple[list[tuple[int, ViewRecord]], int, int, int]:
    """(rowid, record) of `rows` (rowid first, in rowid order) read after `after`; the last rowid; how many rowids
    were passed over (missed views); how many rows were unreadable (skipped: one must not stop the counting)."""
    records: list[tuple[int, ViewRecord]] = []
    missed, bad, last = 0, 0, after
    for row in rows:
        rowid = int(row[0])
        missed += rowid - last - 1
        last = rowid
        try:
            records.append((rowid, parse_view(tuple(row[1:]))))
        except ValueError:
            bad += 1
    return records, last, missed, bad


class ViewIngester:
    """Takes in the view records written since the last pass."""

    def __init__(self, store: Store, gateway: gateway_db.Target):
        self.store = store
        self.gateway = KeptReader(gateway, ViewRecords, "view records")
        self.skipped = 0  # unreadable rows since start

    def _read(self, after: int) -> list[tuple[Any, ...]]:
        return self.gateway.read(lambda records: list(records.after(after, BATCH)), [])

    def close(self) -> None:
        self.gateway.close()

    def ingest(self) -> int:
        """Every record written since the last pass; returns how many were added."""
        added = 0
        while True:
            cursor, _ = self.store.view_cursor()
            rows = self._read(cursor)
            if not rows:
                return added
            records, last, missed, bad = parse_rows(cursor, rows)
            if missed:
                log.warning("%d view records after %d were gone before they were read (past the download "
                            "service's retention, or never written): not counted", missed, cursor)  # fmt: skip
            if bad:
                self.skipped += bad
                log.warning("%d unreadable view records after %d skipped", bad, cursor)
            self.store.add_views(last, missed, records)
            added += len(records)
            if len(rows) < BATCH:
                return added
