"""The upload service's own tables in the gateway database: uploads on their way to chain, and the job queues.

Same database as GatewayStore (SQLite or PostgreSQL, mediaproof.gateway_db). `variant_jobs` and `repair_jobs` are the
job queues on SQLite (on PostgreSQL Procrastinate's tables are, mediaproof.jobs.pg_queue): the upload service
enqueues variants, the observer repair copies, the jobs worker claims both. Jobs are rows, so the queues survive a
restart: a job left `running` by a worker that died is `pending` again when the worker starts, and failures come back
after a growing back-off.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    upload_id     TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    cid           TEXT NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    width         INTEGER,
    height        INTEGER,
    duration      REAL,              -- seconds, videos only
    created_at    INTEGER NOT NULL,
    state         TEXT NOT NULL,     -- stored | prepared | anchoring (in a batch) | committed
    owner         TEXT,              -- set by prepare: the record the owner signs
    title         TEXT,
    user_contract TEXT,              -- the owner's UserMedia (direct registrations only)
    record        TEXT,              -- JSON {mode, message: the MediaRecord typed-data message, direct?: {...}}
    media_id      TEXT,
    short_id      TEXT,
    tx            TEXT,
    block         INTEGER,
    uploader      TEXT               -- the signed-in wallet that sent the bytes: only it may prepare and commit
);
CREATE INDEX IF NOT EXISTS uploads_media_id ON uploads (media_id);
CREATE TABLE IF NOT EXISTS variant_jobs (
    original   TEXT PRIMARY KEY,     -- sha256 hex of the original the variants are made from
    media_type TEXT NOT NULL,
    state      TEXT NOT NULL,        -- pending | running | done | failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL,        -- unix time before which a pending job is not taken
    last_error TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS variant_jobs_due ON variant_jobs (state, next_at);
CREATE TABLE IF NOT EXISTS repair_jobs (
    sha256     TEXT NOT NULL,        -- the blob to copy
    target     INTEGER NOT NULL,     -- the cluster to take the copy
    sources    TEXT NOT NULL,        -- JSON list of cluster ids to copy from, in the order to try them
    state      TEXT NOT NULL,        -- pending | running | done | failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL,
    last_error TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (sha256, target)     -- one job per copy: a second enqueue while it waits or runs adds nothing
);
CREATE INDEX IF NOT EXISTS repair_jobs_due ON repair_jobs (state, next_at);
"""
RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 300.0


@dataclass(frozen=True)
class Upload:
    upload_id: str
    sha256: str
    cid: str
    size: int
    media_type: str
    width: int | None
    height: int | None
    duration: float | None
    created_at: int
    state: str
    owner: str | None
    title: str | None
    user_contract: str | None
    record: dict[str, Any] | None
    media_id: str | None
    short_id: str | None
    tx: str | None
    block: int | None
    uploader: str | None = None


@dataclass(frozen=True)
class VariantJob:
    original: str
    media_type: str
    state: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class RepairJob:
    sha256: str
    target: int
    sources: list[int]
    state: str
    attempts: int
    last_error: str | None


def retry_delay(attempts: int) -> float:
    """Seconds before try number `attempts + 1`: doubling from RETRY_BASE_SECONDS, capped."""
    return float(min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


class UploadLedger:
    """One connection to the gateway database's upload tables; use one per thread."""

    def __init__(self, target: gateway_db.Target) -> None:
        self._db = gateway_db.connect(target, SCHEMA)
        if "uploader" not in self._db.columns("uploads"):  # a database from before sign-in
            self._db.execute("ALTER TABLE uploads ADD COLUMN uploader TEXT")

    def close(self) -> None:
        self._db.close()

    # --- uploads ---

    def add_upload(
        self,
        upload_id: str,
        sha256: str,
        cid: str,
        size: int,
        media_type: str,
        width: int | None,
        height: int | None,
        duration: float | None,
        uploader: str | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO uploads (upload_id, sha256, cid, size, media_type, width, height, duration, created_at, state,"
            " uploader) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'stored', ?)",
            (upload_id, sha256, cid, size, media_type, width, height, duration, int(time.time()), uploader),
        )

    def get(self, upload_id: str) -> Upload | None:
        row = self._db.execute(f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
        return _upload(row) if row else None

    def by_media_id(self, media_id: str) -> Upload | None:
        row = self._db.execute(
            f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE media_id = ? ORDER BY created_at LIMIT 1", (media_id,)
        ).fetchone()
        return _upload(row) if row else None

    def prepare(self, upload_id: str, owner: str, title: str, user_contract: str, record: dict[str, Any]) -> None:
        """Keep the record the owner is asked to sign; a new prepare replaces an unsigned one."""
        self._db.execute(
            "UPDATE uploads SET state = 'prepared', owner = ?, title = ?, user_contract = ?, record = ?"
            " WHERE upload_id = ? AND state IN ('stored', 'prepared')",
            (owner, title, user_contract, json.dumps(record), upload_id),
        )

    def anchoring(self, upload_id: str, media_id: str) -> None:
        """Signed, receipts in hand, waiting in a batch: the batcher commits it once anchored."""
        self._db.execute(
            "UPDATE uploads SET state = 'anchoring', media_id = ? WHERE upload_id = ? AND state != 'committed'",
            (media_id, upload_id),
        )

    def set_direct(
        self, upload_id: str, media_id: str, signature: str, receipts: list[dict[str, Any]], from_block: int
    ) -> None:
        """Keep what a direct registration is sent with, for its proof bundle, before it is sent: from then on a
        restart looks for it on chain (its MediaRegistered event, from `from_block` on)."""
        direct = {"signature": signature, "receipts": receipts, "from_block": from_block}
        # Read, change and write the record in Python (one spelling for both backends), as one transaction.
        with self._db.transaction(f"upload:{upload_id}"):
            row = self._db.execute(
                f"SELECT record FROM uploads WHERE upload_id = ?{self._db.dialect.for_update}", (upload_id,)
            ).fetchone()
            if row is None:
                return
            record = json.loads(row[0]) if row[0] else None
            if record is not None:
                record["direct"] = direct
            self._db.execute(
                "UPDATE uploads SET media_id = ?, record = ? WHERE upload_id = ?",
                (media_id, json.dumps(record) if record is not None else None, upload_id),
            )

    def unlinked(self) -> list[Upload]:
        """Uploads that may have reached the chain without getting their link: waiting in a batch, or signed and
        sent (or handed to the wallet) as a direct registration. What a restart reconciles."""
        rows = self._db.execute(
            f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE state = 'anchoring'"
            " OR (state = 'prepared' AND media_id IS NOT NULL) ORDER BY created_at"
        )
        return [_upload(r) for r in rows]

    def commit(self, upload_id: str, media_id: str, short_id: str, tx: str, block: int) -> None:
        self._db.execute(
            "UPDATE uploads SET state = 'committed', media_id = ?, short_id = ?, tx = ?, block = ? WHERE upload_id = ?",
            (media_id, short_id, tx, block, upload_id),
        )

    def open_uploads_of(self, sha256s: list[str]) -> int:
        """Uploads of any of these bytes not committed yet (stored, prepared, anchoring): each still needs them."""
        if not sha256s:
            return 0
        marks = ",".join("?" * len(sha256s))
        row = self._db.execute(
            f"SELECT count(*) FROM uploads WHERE state != 'committed' AND sha256 IN ({marks})", sha256s
        ).fetchone()
        return int(row[0])

    def sent_by(self, sha256: str, wallet: str) -> bool:
        """Whether `wallet` uploaded these bytes as media (so it holds them and may read them in a project)."""
        row = self._db.execute("SELECT 1 FROM uploads WHERE sha256 = ? AND uploader = ? LIMIT 1", (sha256, wallet))
        return row.fetchone() is not None

    def expired(self, before: float) -> list[Upload]:
        """Uploads created before `before` that never reached the chain: stored, or prepared and never signed. An
        upload with a media id (signed; perhaps sent) is the reconcile sweep's, never expired."""
        rows = self._db.execute(
            f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE state IN ('stored', 'prepared') AND media_id IS NULL"
            " AND created_at < ? ORDER BY created_at",
            (before,),
        )
        return [_upload(r) for r in rows]

    def remove_expired(self, upload_id: str) -> bool:
        """Remove an upload that is still unsigned (a commit may have taken it meanwhile); whether it went."""
        return (
            self._db.execute(
                "DELETE FROM uploads WHERE upload_id = ? AND state IN ('stored', 'prepared') AND media_id IS NULL",
                (upload_id,),
            ).rowcount
            == 1
        )

    def set_media_id(self, upload_id: str, media_id: str) -> None:
        self._db.execute("UPDATE uploads SET media_id = ? WHERE upload_id = ?", (media_id, upload_id))

    # --- the variant queue ---

    def enqueue(self, original: str, media_type: str) -> None:
        """Queue variants for `original`, unless already queued or made; a failed job gets a fresh start."""
        now = time.time()
        self._db.execute(
            "INSERT INTO variant_jobs (original, media_type, state, attempts, next_at, updated_at)"
            " VALUES (?, ?, 'pending', 0, ?, ?) ON CONFLICT (original) DO UPDATE SET"
            " state = 'pending', attempts = 0, next_at = excluded.next_at, last_error = NULL"
            " WHERE variant_jobs.state = 'failed'",
            (original, media_type, now, now),
        )

    def forget_job(self, original: str) -> None:
        self._db.execute("DELETE FROM variant_jobs WHERE original = ?", (original,))

    def job(self, original: str) -> VariantJob | None:
        row = self._db.execute(
            "SELECT original, media_type, state, attempts, last_error FROM variant_jobs WHERE original = ?",
            (original,),
        ).fetchone()
        return VariantJob(*row) if row else None

    def requeue_running(self) -> int:
        """At start-up: jobs a dead process had taken (variants and repairs) go back to the queue."""
        return sum(
            self._db.execute(
                f"UPDATE {table} SET state = 'pending', updated_at = ? WHERE state = 'running'", (time.time(),)
            ).rowcount
            for table in ("variant_jobs", "repair_jobs")
        )

    def claim(self, now: float | None = None) -> VariantJob | None:
        """Take the oldest due pending job (atomically: two workers never take the same one)."""
        now = time.time() if now is None else now
        row = self._db.execute(
            "UPDATE variant_jobs SET state = 'running', attempts = attempts + 1, updated_at = ?"
            " WHERE original = (SELECT original FROM variant_jobs WHERE state = 'pending' AND next_at <= ?"
            f" ORDER BY next_at LIMIT 1{self._db.dialect.skip_locked}) AND state = 'pending'"
            " RETURNING original, media_type, state, attempts, last_error",
            (now, now),
        ).fetchone()
        return VariantJob(*row) if row else None

    def finish(self, original: str) -> None:
        self._db.execute(
            "UPDATE variant_jobs SET state = 'done', last_error = NULL, updated_at = ? WHERE original = ?",
            (time.time(), original),
        )

    def fail(self, original: str, error: str, max_attempts: int, permanent: bool = False) -> str:
        """Record a failed try; the job comes back after retry_delay, or stays failed. Returns the new state."""
        return self._fail("variant_jobs", "original = ?", (original,), error, max_attempts, permanent)

    def _fail(
        self, table: str, where: str, key: tuple[Any, ...], error: str, max_attempts: int, permanent: bool
    ) -> str:
        """A failed try of the job of `table` at `where`/`key` (either queue): back after retry_delay, or failed."""
        row = self._db.execute(f"SELECT attempts FROM {table} WHERE {where}", key).fetchone()
        attempts = int(row[0]) if row else max_attempts
        state = "failed" if permanent or attempts >= max_attempts else "pending"
        now = time.time()
        self._db.execute(
            f"UPDATE {table} SET state = ?, last_error = ?, next_at = ?, updated_at = ? WHERE {where}",
            (state, error[:500], now + retry_delay(attempts), now, *key),
        )
        return state

    def next_due(self) -> float | None:
        """When the earliest pending job (variant or repair) falls due (unix time), or None when nothing is pending."""
        due = [
            float(row[0])
            for table in ("variant_jobs", "repair_jobs")
            if (row := self._db.execute(f"SELECT min(next_at) FROM {table} WHERE state = 'pending'").fetchone())
            and row[0] is not None
        ]
        return min(due, default=None)

    # --- the repair queue (the observer enqueues, the jobs worker copies) ---

    def enqueue_repair(self, sha256: str, target: int, sources: list[int]) -> bool:
        """Queue a copy of `sha256` to cluster `target`; whether it was queued now (False: one already waits or
        runs). A finished or failed job for the same copy gets a fresh start with the new sources."""
        now = time.time()
        return (
            self._db.execute(
                "INSERT INTO repair_jobs (sha256, target, sources, state, attempts, next_at, updated_at)"
                " VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (sha256, target) DO UPDATE SET"
                " sources = excluded.sources, state = 'pending', attempts = 0, next_at = excluded.next_at,"
                " last_error = NULL, updated_at = excluded.updated_at"
                " WHERE repair_jobs.state IN ('done', 'failed')",
                (sha256, target, json.dumps(sources), now, now),
            ).rowcount
            == 1
        )

    def repair_job(self, sha256: str, target: int) -> RepairJob | None:
        row = self._db.execute(
            f"SELECT {_REPAIR_COLUMNS} FROM repair_jobs WHERE sha256 = ? AND target = ?", (sha256, target)
        ).fetchone()
        return _repair(row) if row else None

    def claim_repair(self, now: float | None = None) -> RepairJob | None:
        """Take the oldest due pending repair (atomically: two workers never take the same one)."""
        now = time.time() if now is None else now
        row = self._db.execute(
            "UPDATE repair_jobs SET state = 'running', attempts = attempts + 1, updated_at = ?"
            " WHERE (sha256, target) = (SELECT sha256, target FROM repair_jobs WHERE state = 'pending'"
            f" AND next_at <= ? ORDER BY next_at LIMIT 1{self._db.dialect.skip_locked}) AND state = 'pending'"
            f" RETURNING {_REPAIR_COLUMNS}",
            (now, now),
        ).fetchone()
        return _repair(row) if row else None

    def finish_repair(self, sha256: str, target: int) -> None:
        self._db.execute(
            "UPDATE repair_jobs SET state = 'done', last_error = NULL, updated_at = ? WHERE sha256 = ? AND target = ?",
            (time.time(), sha256, target),
        )

    def fail_repair(self, sha256: str, target: int, error: str, max_attempts: int, permanent: bool = False) -> str:
        """Record a failed try of a repair; it comes back after retry_delay, or stays failed. The new state."""
        return self._fail("repair_jobs", "sha256 = ? AND target = ?", (sha256, target), error, max_attempts, permanent)


_UPLOAD_COLUMNS = (
    "upload_id, sha256, cid, size, media_type, width, height, duration, created_at, state, owner, title,"
    " user_contract, record, media_id, short_id, tx, block, uploader"
)


_REPAIR_COLUMNS = "sha256, target, sources, state, attempts, last_error"


def _repair(row: tuple[Any, ...]) -> RepairJob:
    sha256, target, sources, state, attempts, last_error = row
    return RepairJob(sha256, int(target), [int(c) for c in json.loads(sources)], state, int(attempts), last_error)


def _upload(row: tuple[Any, ...]) -> Upload:
    values = list(row)
    values[13] = json.loads(values[13]) if values[13] else None
    return Upload(*values)
