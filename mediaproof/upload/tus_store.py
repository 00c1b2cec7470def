"""Resumable (tus) uploads in progress: one row each in the gateway database, its bytes in a partial file on disk.

The row is the truth about an upload's offset: a PATCH claims the upload (`claim`, a lease, so two PATCHes of one
upload never write at once, in this process or another sharing the database), moves the offset as its bytes reach
the file (`advance`, compare-and-swap on the offset) and lets go (`release`). Partial files outlive a restarted
service; the sweep removes those past their `expires_at` (`expired`).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS tus_uploads (
    tus_id      TEXT PRIMARY KEY,          -- the id in /files/<tus_id>
    wallet      TEXT NOT NULL,             -- the signed-in wallet that created it: the only one that may touch it
    length      INTEGER NOT NULL,          -- Upload-Length
    "offset"    INTEGER NOT NULL DEFAULT 0,-- bytes received and kept (quoted: a keyword in PostgreSQL)
    kind        TEXT NOT NULL,             -- which completion handler takes the whole file (media, project…)
    metadata    TEXT NOT NULL,             -- Upload-Metadata, decoded, as a JSON object
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,             -- Upload-Expires; renewed by every PATCH that moves the offset
    claimed_by  TEXT,                      -- the PATCH writing now (NULL: none) ...
    claim_until REAL,                      -- ... until then (a crashed process's claim lapses)
    upload_id   TEXT                       -- once complete: the upload it became (GET /uploads/<upload_id>)
);
CREATE INDEX IF NOT EXISTS tus_uploads_expiry ON tus_uploads (expires_at);
"""
CLAIM_SECONDS = 120.0  # a PATCH's claim; renewed with every batch it writes


@dataclass(frozen=True)
class PartialUpload:
    tus_id: str
    wallet: str
    length: int
    offset: int
    kind: str
    metadata: dict[str, str]
    created_at: float
    expires_at: float
    upload_id: str | None

    @property
    def complete(self) -> bool:
        return self.offset == self.length


class TusStore:
    """Rows in the gateway database (one connection per thread) and partial files under `directory`."""

    def __init__(self, db_path: gateway_db.Target, directory: Path) -> None:
        self._db = gateway_db.ThreadConnections(db_path, SCHEMA)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, tus_id: str) -> Path:
        return self.directory / f"{tus_id}.part"

    def create(self, wallet: str, length: int, kind: str, metadata: dict[str, str], ttl: float) -> PartialUpload:
        tus_id = secrets.token_hex(16)
        now = time.time()
        self.path(tus_id).touch()
        self._db().execute(
            "INSERT INTO tus_uploads (tus_id, wallet, length, kind, metadata, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tus_id, wallet, length, kind, json.dumps(metadata), now, now + ttl),
        )
        found = self.get(tus_id)
        assert found is not None
        return found

    def get(self, tus_id: str) -> PartialUpload | None:
        row = (
            self._db()
            .execute(
                'SELECT tus_id, wallet, length, "offset", kind, metadata, created_at, expires_at, upload_id '
                "FROM tus_uploads WHERE tus_id = ?",
                (tus_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return PartialUpload(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7], row[8])

    def claim(self, tus_id: str, offset: int, claim: str) -> bool:
        """Take the upload for one PATCH starting at `offset`: False if its offset is another or a PATCH holds it."""
        now = time.time()
        done = self._db().execute(
            'UPDATE tus_uploads SET claimed_by = ?, claim_until = ? WHERE tus_id = ? AND "offset" = ? '
            "AND (claimed_by IS NULL OR claim_until < ?)",
            (claim, now + CLAIM_SECONDS, tus_id, offset, now),
        )
        return done.rowcount == 1

    def advance(self, tus_id: str, claim: str, offset: int, ttl: float) -> None:
        """Record that the bytes up to `offset` are in the file (and renew the claim and the expiry)."""
        now = time.time()
        self._db().execute(
            'UPDATE tus_uploads SET "offset" = ?, claim_until = ?, expires_at = ? WHERE tus_id = ? AND claimed_by = ?',
            (offset, now + CLAIM_SECONDS, now + ttl, tus_id, claim),
        )

    def release(self, tus_id: str, claim: str) -> None:
        self._db().execute(
            "UPDATE tus_uploads SET claimed_by = NULL, claim_until = NULL WHERE tus_id = ? AND claimed_by = ?",
            (tus_id, claim),
        )

    def finish(self, tus_id: str, upload_id: str) -> None:
        """The whole file became upload `upload_id`; the partial file is gone (admitted, or refused)."""
        self._db().execute("UPDATE tus_uploads SET upload_id = ? WHERE tus_id = ?", (upload_id, tus_id))
        self.path(tus_id).unlink(missing_ok=True)

    def terminate(self, tus_id: str) -> bool:
        """Remove the upload unless a PATCH is writing it now (False: then it stays)."""
        now = time.time()
        done = self._db().execute(
            "DELETE FROM tus_uploads WHERE tus_id = ? AND (claimed_by IS NULL OR claim_until < ?)", (tus_id, now)
        )
        if done.rowcount == 1:
            self.path(tus_id).unlink(missing_ok=True)
        return done.rowcount == 1

    def remove(self, tus_id: str) -> None:
        self._db().execute("DELETE FROM tus_uploads WHERE tus_id = ?", (tus_id,))
        self.path(tus_id).unlink(missing_ok=True)

    def expired(self, now: float) -> list[str]:
        """Uploads past their expiry and not being written to now (a finished one's row goes too: its upload lives
        on in the ledger, and its partial file went when it finished)."""
        rows = self._db().execute(
            "SELECT tus_id FROM tus_uploads WHERE expires_at <= ? AND (claimed_by IS NULL OR claim_until < ?)",
            (now, now),
        )
        return [row[0] for row in rows]

    def remove_expired(self, now: float | None = None) -> int:
        """The sweep: remove every expired upload (row and partial file); how many."""
        now = time.time() if now is None else now
        gone = self.expired(now)
        for tus_id in gone:
            self.remove(tus_id)
        return len(gone)
