"""The gateway's own database: shareable short ids, each media's renditions, and where each blob is stored.

SQLite in WAL mode, or PostgreSQL (mediaproof.gateway_db). The upload service and observer write; the download
service and indexer open it read-only (no locks held across requests). Ids and content are immutable once written,
so readers may cache what they read for as long as they like; only a rendition's `ready` flag and placements change.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS media_links (
    short_id   TEXT PRIMARY KEY,          -- base62 id of the shareable link (/m/<short_id>)
    media_id   TEXT UNIQUE,               -- 0x… EIP-712 digest of the record; NULL until registered on chain
    sha256     TEXT NOT NULL,             -- hex of the original's bytes
    owner      TEXT NOT NULL,             -- checksummed address
    title      TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS media_links_sha256 ON media_links (sha256);
CREATE TABLE IF NOT EXISTS renditions (
    original   TEXT NOT NULL,             -- sha256 hex of the original
    name       TEXT NOT NULL,             -- original | large | medium | small | poster
    sha256     TEXT NOT NULL,
    cid        TEXT NOT NULL,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    width      INTEGER,
    height     INTEGER,
    ready      INTEGER NOT NULL DEFAULT 0, -- 1 once R clusters hold it
    PRIMARY KEY (original, name)
);
CREATE TABLE IF NOT EXISTS placements (
    sha256     TEXT NOT NULL,             -- any blob: an original or a rendition
    cluster_id INTEGER NOT NULL,
    stored_at  INTEGER NOT NULL,
    PRIMARY KEY (sha256, cluster_id)
);
"""
SIZES = ("original", "large", "medium", "small", "poster")


@dataclass(frozen=True)
class Rendition:
    name: str
    sha256: str
    cid: str
    size: int
    media_type: str
    width: int | None
    height: int | None
    ready: bool


@dataclass(frozen=True)
class LinkedMedia:
    short_id: str
    media_id: str | None
    sha256: str
    owner: str
    title: str
    media_type: str
    size: int
    created_at: int
    deleted: bool
    renditions: dict[str, Rendition] = field(default_factory=dict)

    def best(self, size: str) -> Rendition | None:
        """The rendition to serve for `size`: that one if ready, else the original (the seed's fallback)."""
        wanted = self.renditions.get(size)
        if wanted is not None and wanted.ready:
            return wanted
        return self.renditions.get("original")


# Links are written one transaction at a time under this lock, so their rowids are given in commit order: a reader
# paging by rowid (links_after) never passes a row that a slower writer commits later. (PostgreSQL hands out
# identity values at insert, not at commit, so two free writers could commit rowid 8 after a reader saw 9.)
LINKS_LOCK = "media_links"


class GatewayStore:
    """Open the gateway database at `target` (a SQLite file or a PostgreSQL DSN); `readonly=True` for readers."""

    def __init__(self, target: gateway_db.Target, readonly: bool = False) -> None:
        self._db = gateway_db.connect(target, None if readonly else SCHEMA, readonly=readonly)

    def close(self) -> None:
        self._db.close()

    def hold(self, lock: str) -> contextlib.AbstractContextManager[None]:
        """`lock` held for a block, against every upload process (gateway_db's `hold`)."""
        return self._db.hold(lock)

    # --- writes (upload service only) ---

    def add_link(
        self, short_id: str, sha256: str, owner: str, title: str, media_type: str, size: int, media_id: str | None
    ) -> None:
        with self._db.transaction(LINKS_LOCK):
            self._db.execute(
                "INSERT INTO media_links (short_id, media_id, sha256, owner, title, media_type, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (short_id, media_id, sha256, owner, title, media_type, size, int(time.time())),
            )

    def link_media(
        self, short_id: str, sha256: str, owner: str, title: str, media_type: str, size: int, media_id: str
    ) -> str:
        """The short id of `media_id`: the one it already has, else `short_id`, written now. Idempotent, so a link
        made again after a crash (or by two threads at once) never makes a second short id for one media."""
        with self._db.transaction(LINKS_LOCK):
            self._db.execute(
                "INSERT INTO media_links (short_id, media_id, sha256, owner, title, media_type, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (media_id) DO NOTHING",
                (short_id, media_id, sha256, owner, title, media_type, size, int(time.time())),
            )
        linked = self.short_id_of(media_id)
        assert linked is not None
        return linked

    def short_id_of(self, media_id: str) -> str | None:
        row = self._db.execute("SELECT short_id FROM media_links WHERE media_id = ?", (media_id,)).fetchone()
        return str(row[0]) if row else None

    def set_media_id(self, short_id: str, media_id: str) -> None:
        self._db.execute("UPDATE media_links SET media_id = ? WHERE short_id = ?", (media_id, short_id))

    def mark_deleted(self, media_id: str) -> None:
        self._db.execute("UPDATE media_links SET deleted = 1 WHERE media_id = ?", (media_id,))

    def put_rendition(self, original: str, rendition: Rendition) -> None:
        self._db.execute(
            "INSERT INTO renditions (original, name, sha256, cid, size, media_type, width, height, ready)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (original, name) DO UPDATE SET"
            " sha256 = excluded.sha256, cid = excluded.cid, size = excluded.size, media_type = excluded.media_type,"
            " width = excluded.width, height = excluded.height, ready = excluded.ready",
            (original, rendition.name, rendition.sha256, rendition.cid, rendition.size, rendition.media_type,
             rendition.width, rendition.height, int(rendition.ready)),
        )  # fmt: skip

    def drop_renditions(self, original: str) -> None:
        """Forget every rendition of `original` (its last record was deleted: a re-upload starts afresh)."""
        self._db.execute("DELETE FROM renditions WHERE original = ?", (original,))

    def add_placement(self, sha256: str, cluster_id: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO placements (sha256, cluster_id, stored_at) VALUES (?, ?, ?)",
            (sha256, cluster_id, int(time.time())),
        )

    def remove_placement(self, sha256: str, cluster_id: int) -> None:
        self._db.execute("DELETE FROM placements WHERE sha256 = ? AND cluster_id = ?", (sha256, cluster_id))

    # --- reads ---

    def resolve(self, short_id: str) -> LinkedMedia | None:
        row = self._db.execute(
            "SELECT short_id, media_id, sha256, owner, title, media_type, size, created_at, deleted"
            " FROM media_links WHERE short_id = ?",
            (short_id,),
        ).fetchone()
        if row is None:
            return None
        renditions = self.renditions_of(row[2])
        short_id, media_id, sha256, owner, title, media_type, size, created_at, deleted = row
        return LinkedMedia(
            short_id, media_id, sha256, owner, title, media_type, size, created_at, bool(deleted), renditions
        )

    def is_deleted(self, media_id: str) -> bool:
        """Whether the owner deleted the record `media_id` through this gateway."""
        row = self._db.execute("SELECT 1 FROM media_links WHERE media_id = ? AND deleted = 1", (media_id,)).fetchone()
        return row is not None

    def renditions_of(self, original: str) -> dict[str, Rendition]:
        """Every rendition of `original` by name (ready or not), the original itself included once stored."""
        rows = self._db.execute(
            "SELECT name, sha256, cid, size, media_type, width, height, ready FROM renditions WHERE original = ?",
            (original,),
        )
        return {r[0]: Rendition(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in rows}

    def links_after(self, rowid: int, limit: int) -> list[tuple[int, str, str | None]]:
        """(rowid, short id, media id) of links written after `rowid`, oldest first: a reader's cursor."""
        rows = self._db.execute(
            "SELECT rowid, short_id, media_id FROM media_links WHERE rowid > ? ORDER BY rowid LIMIT ?", (rowid, limit)
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]

    def short_ids_for(self, sha256: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT short_id FROM media_links WHERE sha256 = ?", (sha256,))]

    def live_links_to(self, sha256: str) -> int:
        """How many undeleted records point at these bytes (as original or as a rendition)."""
        row = self._db.execute(
            "SELECT count(*) FROM media_links m WHERE m.deleted = 0 AND (m.sha256 = ?"
            " OR EXISTS (SELECT 1 FROM renditions r WHERE r.original = m.sha256 AND r.sha256 = ?))",
            (sha256, sha256),
        ).fetchone()
        return int(row[0])

    def originals_using(self, sha256: str) -> list[str]:
        """The originals these bytes are, or are a rendition of: an upload of any of them needs them."""
        rows = self._db.execute("SELECT DISTINCT original FROM renditions WHERE sha256 = ?", (sha256,))
        return sorted({sha256, *(str(r[0]) for r in rows)})

    def manifest(self, manifest_cid: str) -> tuple[str, bytes] | None:
        """(sha256, bytes) of an anchored batch's manifest, by the CID its BatchAnchored event names (the upload
        service's batches table keeps the exact bytes it pinned); None when no anchored batch has it."""
        try:
            row = self._db.execute(
                "SELECT manifest_sha256, manifest FROM batches WHERE manifest_cid = ? AND state = 'anchored'",
                (manifest_cid,),
            ).fetchone()
        except gateway_db.MissingTable:  # no batch anchored yet: the table does not exist
            return None
        return (str(row[0]), str(row[1]).encode()) if row else None

    def named(self, sha256: str) -> tuple[str, int] | None:
        """(CID, size) of bytes known as an original or a rendition of media, if any."""
        row = self._db.execute("SELECT cid, size FROM renditions WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def placements(self, sha256: str) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT cluster_id FROM placements WHERE sha256 = ?", (sha256,))]

    def blobs(self, after: str = "", limit: int = 1000) -> list[tuple[str, list[int]]]:
        """Every stored blob with its clusters, in sha256 order (the observer's repair walk)."""
        rows = self._db.execute(
            "SELECT sha256, cluster_id FROM placements WHERE sha256 IN (SELECT DISTINCT sha256 FROM placements"
            " WHERE sha256 > ? ORDER BY sha256 LIMIT ?) ORDER BY sha256, cluster_id",
            (after, limit),
        )
        clusters: dict[str, list[int]] = {}
        for sha, cluster_id in rows:
            clusters.setdefault(str(sha), []).append(int(cluster_id))
        return list(clusters.items())
