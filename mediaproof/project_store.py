"""The gateway database's project tables: which bytes and manifests belong to which project, who uploaded which
bytes, and the single-use nonces of possession proofs.

Membership is what the download service serves from (a hash stored for any reason is never served as a project's
file unless a manifest put it there) and what garbage collection keeps. The upload service writes; the download
service opens it read-only (tables missing: nothing was ever put in a project yet).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS project_objects (
    sha256      TEXT PRIMARY KEY,         -- hex of a blob stored for a project (any bytes, no media check)
    cid         TEXT NOT NULL,
    size        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS project_uploads (
    sha256      TEXT NOT NULL,
    wallet      TEXT NOT NULL,            -- checksummed: the wallet sent these bytes, so it may read them
    uploaded_at REAL NOT NULL,
    PRIMARY KEY (sha256, wallet)
);
CREATE TABLE IF NOT EXISTS project_blobs (
    pid         TEXT NOT NULL,            -- 0x + 64 hex, ProjectRegistry's id
    sha256      TEXT NOT NULL,
    PRIMARY KEY (pid, sha256)
);
CREATE INDEX IF NOT EXISTS project_blobs_sha256 ON project_blobs (sha256);
CREATE TABLE IF NOT EXISTS project_manifests (
    pid         TEXT NOT NULL,
    cid         TEXT NOT NULL,            -- what ProjectRegistry.commit names as the head
    sha256      TEXT NOT NULL,            -- of the manifest's canonical bytes
    size        INTEGER NOT NULL,
    manifest    BLOB NOT NULL,            -- the exact bytes pinned (served without a cluster round trip)
    wallet      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (pid, cid)
);
CREATE INDEX IF NOT EXISTS project_manifests_sha256 ON project_manifests (sha256);
CREATE TABLE IF NOT EXISTS possession_nonces (
    nonce       TEXT PRIMARY KEY,         -- 64 hex digits
    wallet      TEXT NOT NULL,            -- the only wallet whose answer counts
    sha256      TEXT NOT NULL,            -- the bytes it proves
    expires_at  REAL NOT NULL,
    used_at     REAL
);
"""


@dataclass(frozen=True)
class StoredManifest:
    sha256: str
    size: int
    data: bytes


@dataclass(frozen=True)
class ProjectObject:
    sha256: str
    cid: str
    size: int


class _NonceSpent(Exception):
    """A possession nonce was spent by a concurrent commit: roll this one back."""


class ProjectStore:
    """Thread-safe (one connection per thread). `readonly=True` for the download service."""

    def __init__(self, path: gateway_db.Target, readonly: bool = False) -> None:
        self.readonly = readonly
        if readonly:
            self._ro = gateway_db.connect(path, readonly=True)
        else:
            self._db = gateway_db.ThreadConnections(path, SCHEMA)

    def _conn(self) -> gateway_db.GatewayDatabase:
        return self._ro if self.readonly else self._db()

    def close(self) -> None:
        if self.readonly:
            self._ro.close()

    # --- writes (upload service) ---

    def record_upload(self, sha256: str, cid: str, size: int, wallet: str, now: float | None = None) -> None:
        db = self._conn()
        db.execute("INSERT OR IGNORE INTO project_objects (sha256, cid, size) VALUES (?, ?, ?)", (sha256, cid, size))
        db.execute(
            "INSERT INTO project_uploads (sha256, wallet, uploaded_at) VALUES (?, ?, ?)"
            " ON CONFLICT (sha256, wallet) DO UPDATE SET uploaded_at = excluded.uploaded_at",
            (sha256, wallet, time.time() if now is None else now),
        )

    def issue_nonce(self, nonce: str, wallet: str, sha256: str, expires_at: float) -> None:
        db = self._conn()
        db.execute("DELETE FROM possession_nonces WHERE expires_at < ?", (time.time() - 3600,))
        db.execute(
            "INSERT INTO possession_nonces (nonce, wallet, sha256, expires_at) VALUES (?, ?, ?, ?)",
            (nonce, wallet, sha256, expires_at),
        )

    def commit_manifest(
        self,
        pid: str,
        cid: str,
        manifest: StoredManifest,
        blobs: list[str],
        nonces: list[str],
        wallet: str,
        now: float | None = None,
    ) -> bool:
        """Spend `nonces` and record the manifest and its blobs as the project's, in one transaction; False (and
        nothing written) when a nonce was spent meanwhile by a concurrent call."""
        now = time.time() if now is None else now
        db = self._conn()
        try:
            with db.transaction("projects"):
                for nonce in nonces:
                    spent = db.execute(
                        "UPDATE possession_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL", (now, nonce)
                    ).rowcount
                    if spent != 1:
                        raise _NonceSpent  # rolls the transaction back: nothing written
                db.executemany(
                    "INSERT OR IGNORE INTO project_blobs (pid, sha256) VALUES (?, ?)", [(pid, sha) for sha in blobs]
                )
                db.execute(
                    "INSERT OR IGNORE INTO project_manifests (pid, cid, sha256, size, manifest, wallet, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (pid, cid, manifest.sha256, manifest.size, manifest.data, wallet, now),
                )
        except _NonceSpent:
            return False
        return True

    # --- reads ---

    def stored_object(self, sha256: str) -> ProjectObject | None:
        """The CID and size of bytes stored as a project blob (media originals are in the renditions table)."""
        row = self._read("SELECT cid, size FROM project_objects WHERE sha256 = ?", (sha256,))
        return ProjectObject(sha256, str(row[0]), int(row[1])) if row else None

    def uploaded_by(self, sha256: str, wallet: str) -> bool:
        return self._read("SELECT 1 FROM project_uploads WHERE sha256 = ? AND wallet = ?", (sha256, wallet)) is not None

    def uploaded_since(self, sha256: str, since: float) -> bool:
        """Whether anyone uploaded these bytes after `since` (a manifest naming them may still come)."""
        found = self._read("SELECT 1 FROM project_uploads WHERE sha256 = ? AND uploaded_at >= ?", (sha256, since))
        return found is not None

    def projects_with(self, sha256: str, limit: int = 50) -> list[str]:
        rows = self._rows("SELECT pid FROM project_blobs WHERE sha256 = ? LIMIT ?", (sha256, limit))
        return [str(r[0]) for r in rows]

    def in_project(self, pid: str, sha256: str) -> bool:
        return self._read("SELECT 1 FROM project_blobs WHERE pid = ? AND sha256 = ?", (pid, sha256)) is not None

    def in_any_project(self, sha256: str) -> bool:
        """A blob of some project or a project's manifest: in use, never unpinned."""
        if self._read("SELECT 1 FROM project_blobs WHERE sha256 = ? LIMIT 1", (sha256,)) is not None:
            return True
        return self._read("SELECT 1 FROM project_manifests WHERE sha256 = ? LIMIT 1", (sha256,)) is not None

    def manifest(self, pid: str, cid: str) -> StoredManifest | None:
        row = self._read("SELECT sha256, size, manifest FROM project_manifests WHERE pid = ? AND cid = ?", (pid, cid))
        return StoredManifest(str(row[0]), int(row[1]), bytes(row[2])) if row else None

    def open_nonces(self, wallet: str, sha256: str, now: float) -> list[str]:
        """The unspent, unexpired possession nonces issued to `wallet` for `sha256`, newest first (a few)."""
        rows = self._rows(
            "SELECT nonce FROM possession_nonces WHERE wallet = ? AND sha256 = ? AND used_at IS NULL"
            " AND expires_at > ? ORDER BY expires_at DESC LIMIT 4",
            (wallet, sha256, now),
        )
        return [str(r[0]) for r in rows]

    def _read(self, sql: str, args: tuple[object, ...]) -> tuple[Any, ...] | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return list(self._conn().execute(sql, args).fetchall())
        except gateway_db.MissingTable:
            if self.readonly:  # the upload service has not made the tables yet: nothing is in a project
                return []
            raise
