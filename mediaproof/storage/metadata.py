"""The cluster's metadata database (the seed's "meta db"): one SQLite table of what this cluster holds.

Owned by one service process; every call is short, so it runs on the event loop's thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from mediaproof import sqlite_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    sha256    TEXT PRIMARY KEY,   -- 64 lower-case hex digits of the whole file
    cid       TEXT NOT NULL,      -- CIDv1 base32, as IPFS added it
    size      INTEGER NOT NULL,
    title     TEXT NOT NULL DEFAULT '',
    lat       REAL,
    lon       REAL,
    created   INTEGER NOT NULL,   -- unix seconds the media was made (the uploader's word), else when stored
    pinned_at INTEGER NOT NULL    -- unix seconds this cluster pinned it: the receipt's pinnedAt
)
"""


@dataclass(frozen=True)
class StoredObject:
    """One row: bytes this cluster verified, pinned and vouches for."""

    sha256: str
    cid: str
    size: int
    title: str
    lat: float | None
    lon: float | None
    created: int
    pinned_at: int

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class MetadataStore:
    """The `objects` table in `path` (created on first open)."""

    def __init__(self, path: Path) -> None:
        # sqlite3's default 5 s busy wait: this store has one writer, its own service.
        self._db = sqlite_db.connect(path, busy_timeout=5.0)
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, sha256: str) -> StoredObject | None:
        row = self._db.execute("SELECT * FROM objects WHERE sha256 = ?", (sha256,)).fetchone()
        return StoredObject(*row) if row else None

    def holds_cid(self, cid: str) -> bool:
        return self._db.execute("SELECT 1 FROM objects WHERE cid = ? LIMIT 1", (cid,)).fetchone() is not None

    def insert(self, obj: StoredObject) -> StoredObject:
        """Add `obj`; if those bytes are already there, keep and return the first row."""
        self._db.execute(
            "INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
            (obj.sha256, obj.cid, obj.size, obj.title, obj.lat, obj.lon, obj.created, obj.pinned_at),
        )
        stored = self.get(obj.sha256)
        assert stored is not None
        return stored

    def delete(self, sha256: str) -> bool:
        return self._db.execute("DELETE FROM objects WHERE sha256 = ?", (sha256,)).rowcount > 0

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM objects").fetchone()[0])

    def page(self, limit: int, after: str = "") -> list[StoredObject]:
        """Up to `limit` rows in sha256 order, starting after the sha256 `after` (a cursor for paging)."""
        rows = self._db.execute(
            "SELECT * FROM objects WHERE sha256 > ? ORDER BY sha256 LIMIT ?", (after, limit)
        ).fetchall()
        return [StoredObject(*row) for row in rows]
