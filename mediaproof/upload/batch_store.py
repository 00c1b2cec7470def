"""The gateway's proof tables: owners' nonces, the first claim on each file's bytes, batch entries, social actions
waiting for a batch (action entries) and batches.

Same database as the rest of the gateway's (SQLite or PostgreSQL, mediaproof.gateway_db). The gateway is the
sequencer: the first claim it accepts for some bytes decides who is first, so claims are taken in one transaction
(`claim`) and a second owner is refused while the first one's proof is on its way.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mediaproof import gateway_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS owner_nonces (
    owner TEXT PRIMARY KEY,
    next  INTEGER NOT NULL             -- consecutive, so direct registrations share UserMedia's bitmap words
);
CREATE TABLE IF NOT EXISTS proof_claims (
    sha256     TEXT PRIMARY KEY,       -- the bytes; only the first accepted claim is kept
    owner      TEXT NOT NULL,
    media_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,          -- batched | direct
    state      TEXT NOT NULL,          -- pending (its proof is on its way) | proven | revealed (in proofOf)
    block      INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_entries (
    media_id   TEXT PRIMARY KEY,
    upload_id  TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    owner      TEXT NOT NULL,
    entry      TEXT NOT NULL,          -- JSON: the manifest entry (record, owner signature, media id, receipts)
    state      TEXT NOT NULL,          -- pending | closing | anchored
    root       TEXT,
    leaf_index INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_entries_state ON batch_entries (state, created_at);
CREATE TABLE IF NOT EXISTS batches (
    root            TEXT PRIMARY KEY,
    state           TEXT NOT NULL,     -- built (manifest pinned, anchor not yet seen) | anchored
    manifest        TEXT NOT NULL,     -- JSON, mediaproof-batch-v1: the exact bytes pinned under manifest_cid
    manifest_sha256 TEXT NOT NULL,
    manifest_cid    TEXT NOT NULL,
    batch           INTEGER,           -- the block it was anchored in
    tx              TEXT,
    created_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_cid ON batches (manifest_cid);
CREATE TABLE IF NOT EXISTS action_entries (
    action_id  TEXT PRIMARY KEY,       -- the action's EIP-712 digest: a replay is the same id
    author     TEXT NOT NULL,
    kind       TEXT NOT NULL,          -- Follow | Like | Comment
    action     TEXT NOT NULL,          -- JSON: SignedAction.to_json() (kind, message, signature, action_id)
    state      TEXT NOT NULL,          -- pending | closing | anchored
    root       TEXT,
    leaf_index INTEGER,                -- its value's index in the batch tree: after the batch's files
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS action_entries_state ON action_entries (state, created_at);
"""


@dataclass(frozen=True)
class Claim:
    sha256: str
    owner: str
    media_id: str
    kind: str
    state: str
    block: int | None


@dataclass(frozen=True)
class Entry:
    media_id: str
    upload_id: str
    sha256: str
    owner: str
    entry: dict[str, Any]
    state: str
    root: str | None
    leaf_index: int | None


@dataclass(frozen=True)
class ActionEntry:
    action_id: str
    author: str
    kind: str
    action: dict[str, Any]  # SignedAction.to_json()
    state: str
    root: str | None
    leaf_index: int | None


@dataclass(frozen=True)
class Batch:
    root: str
    state: str
    manifest: dict[str, Any]
    manifest_sha256: str
    manifest_cid: str
    batch: int | None
    tx: str | None


class BatchStore:
    """One connection to the proof tables; use one per thread."""

    def __init__(self, target: gateway_db.Target) -> None:
        self._db = gateway_db.connect(target, SCHEMA)

    def close(self) -> None:
        self._db.close()

    def next_nonce(self, owner: str) -> int:
        """A fresh nonce for `owner`'s record. The first one starts at a random bitmap word, so a gateway database
        rebuilt from scratch does not reuse nonces the chain has seen."""
        start = secrets.randbits(48) << 8
        row = self._db.execute(
            "INSERT INTO owner_nonces (owner, next) VALUES (?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET next = owner_nonces.next + 1 RETURNING next",
            (owner, start),
        ).fetchone()
        return int(row[0])

    # --- claims: the gateway's order of who proved which bytes first ---

    def claim(self, sha256: str, owner: str, media_id: str, kind: str, stale_after: float) -> Claim:
        """Record this as the first claim on `sha256` unless one exists; returns the first claim either way.

        A pending claim older than `stale_after` seconds (its record's signature has expired, so its proof can no
        longer come) is dropped first: a vanished uploader does not hold bytes hostage."""
        self._db.execute(
            "DELETE FROM proof_claims WHERE sha256 = ? AND state = 'pending' AND created_at < ?",
            (sha256, time.time() - stale_after),
        )
        self._db.execute(
            "INSERT OR IGNORE INTO proof_claims (sha256, owner, media_id, kind, state, created_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            (sha256, owner, media_id, kind, time.time()),
        )
        first = self.first_claim(sha256)
        assert first is not None
        return first

    def first_claim(self, sha256: str) -> Claim | None:
        row = self._db.execute(
            "SELECT sha256, owner, media_id, kind, state, block FROM proof_claims WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return Claim(*row) if row else None

    def claim_proven(self, media_id: str, block: int) -> None:
        self._db.execute(
            "UPDATE proof_claims SET state = 'proven', block = ? WHERE media_id = ? AND state = 'pending'",
            (block, media_id),
        )

    def claim_revealed(self, media_id: str) -> None:
        self._db.execute("UPDATE proof_claims SET state = 'revealed' WHERE media_id = ?", (media_id,))

    def drop_claim(self, media_id: str) -> None:
        """A pending claim whose proof never came (it expired or failed): the bytes are free again."""
        self._db.execute("DELETE FROM proof_claims WHERE media_id = ? AND state = 'pending'", (media_id,))

    # --- batch entries ---

    def add_entry(self, media_id: str, upload_id: str, sha256: str, owner: str, entry: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO batch_entries (media_id, upload_id, sha256, owner, entry, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (media_id, upload_id, sha256, owner, json.dumps(entry), time.time()),
        )

    def entry(self, media_id: str) -> Entry | None:
        row = self._db.execute(f"SELECT {_ENTRY} FROM batch_entries WHERE media_id = ?", (media_id,)).fetchone()
        return _entry(row) if row else None

    def pending_summary(self) -> tuple[int, float | None]:
        """How many entries and actions wait for a batch, and when the oldest of either arrived."""
        count = 0
        oldest: float | None = None
        for table in ("batch_entries", "action_entries"):
            n, first = self._db.execute(
                f"SELECT count(*), min(created_at) FROM {table} WHERE state = 'pending'"
            ).fetchone()
            count += int(n)
            if first is not None:
                oldest = first if oldest is None else min(oldest, first)
        return count, oldest

    def take_pending(self, limit: int) -> list[Entry]:
        """Move up to `limit` pending entries, oldest first, to `closing` (atomically: no two batchers share one)."""
        with self._db.transaction("batches"):
            rows = self._db.execute(
                f"SELECT {_ENTRY} FROM batch_entries WHERE state = 'pending' ORDER BY created_at, media_id LIMIT ?",
                (limit,),
            ).fetchall()
            self._db.executemany(
                "UPDATE batch_entries SET state = 'closing' WHERE media_id = ?", [(r[0],) for r in rows]
            )
        return [_entry(r) for r in rows]

    def release_closing(self) -> int:
        """At start-up: entries and actions a dead batcher took but never built into a batch go back to pending."""
        return sum(
            self._db.execute(f"UPDATE {table} SET state = 'pending' WHERE state = 'closing' AND root IS NULL").rowcount
            for table in ("batch_entries", "action_entries")
        )

    # --- social actions ---

    def add_action(self, action_id: str, author: str, kind: str, action: dict[str, Any]) -> bool:
        """Keep an accepted action until a batch takes it; False if this id was accepted before (a replay: nothing
        is stored twice)."""
        return (
            self._db.execute(
                "INSERT OR IGNORE INTO action_entries (action_id, author, kind, action, state, created_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                (action_id, author, kind, json.dumps(action), time.time()),
            ).rowcount
            == 1
        )

    def action(self, action_id: str) -> ActionEntry | None:
        row = self._db.execute(f"SELECT {_ACTION} FROM action_entries WHERE action_id = ?", (action_id,)).fetchone()
        return _action(row) if row else None

    def take_pending_actions(self, limit: int) -> list[ActionEntry]:
        """Move up to `limit` pending actions, oldest first, to `closing` (atomically, as take_pending)."""
        if limit <= 0:
            return []
        with self._db.transaction("batches"):
            rows = self._db.execute(
                f"SELECT {_ACTION} FROM action_entries WHERE state = 'pending' ORDER BY created_at, action_id LIMIT ?",
                (limit,),
            ).fetchall()
            self._db.executemany(
                "UPDATE action_entries SET state = 'closing' WHERE action_id = ?", [(r[0],) for r in rows]
            )
        return [_action(r) for r in rows]

    def actions_of(self, root: str) -> list[ActionEntry]:
        rows = self._db.execute(f"SELECT {_ACTION} FROM action_entries WHERE root = ? ORDER BY leaf_index", (root,))
        return [_action(r) for r in rows]

    # --- batches ---

    def add_batch(self, root: str, manifest: str, manifest_sha256: str, manifest_cid: str,
                  media_ids: list[str], action_ids: Sequence[str] = ()) -> None:  # fmt: skip
        """The batch is built and its manifest pinned: remember it before the anchor is sent (crash-safe). Actions
        follow the files in the tree: action j is leaf index len(media_ids) + j."""
        with self._db.transaction("batches"):
            self._db.execute(
                "INSERT OR IGNORE INTO batches (root, state, manifest, manifest_sha256, manifest_cid, created_at)"
                " VALUES (?, 'built', ?, ?, ?, ?)",
                (root, manifest, manifest_sha256, manifest_cid, time.time()),
            )
            self._db.executemany(
                "UPDATE batch_entries SET root = ?, leaf_index = ? WHERE media_id = ?",
                [(root, i, m) for i, m in enumerate(media_ids)],
            )
            self._db.executemany(
                "UPDATE action_entries SET root = ?, leaf_index = ? WHERE action_id = ?",
                [(root, len(media_ids) + j, a) for j, a in enumerate(action_ids)],
            )

    def mark_anchored(self, root: str, batch: int, tx: str) -> None:
        with self._db.transaction("batches"):
            self._db.execute(
                "UPDATE batches SET state = 'anchored', batch = ?, tx = ? WHERE root = ?", (batch, tx, root)
            )
            self._db.execute("UPDATE batch_entries SET state = 'anchored' WHERE root = ?", (root,))
            self._db.execute("UPDATE action_entries SET state = 'anchored' WHERE root = ?", (root,))
            self._db.execute(
                "UPDATE proof_claims SET state = 'proven', block = ? WHERE state = 'pending'"
                " AND media_id IN (SELECT media_id FROM batch_entries WHERE root = ?)",
                (batch, root),
            )

    def batch(self, root: str) -> Batch | None:
        row = self._db.execute(f"SELECT {_BATCH} FROM batches WHERE root = ?", (root,)).fetchone()
        return _batch(row) if row else None

    def batch_by_cid(self, manifest_cid: str) -> Batch | None:
        row = self._db.execute(f"SELECT {_BATCH} FROM batches WHERE manifest_cid = ?", (manifest_cid,)).fetchone()
        return _batch(row) if row else None

    def built_batches(self, before: float | None = None) -> list[Batch]:
        """Batches whose anchor was sent (or about to be) but not seen mined: what a restart must settle (only
        those built before unix time `before`, if given)."""
        rows = self._db.execute(
            f"SELECT {_BATCH} FROM batches WHERE state = 'built' AND created_at <= ?",
            (float("inf") if before is None else before,),
        )
        return [_batch(r) for r in rows]

    def entries_of(self, root: str) -> list[Entry]:
        rows = self._db.execute(f"SELECT {_ENTRY} FROM batch_entries WHERE root = ? ORDER BY leaf_index", (root,))
        return [_entry(r) for r in rows]


_ENTRY = "media_id, upload_id, sha256, owner, entry, state, root, leaf_index"
_BATCH = "root, state, manifest, manifest_sha256, manifest_cid, batch, tx"
_ACTION = "action_id, author, kind, action, state, root, leaf_index"


def _entry(row: tuple[Any, ...]) -> Entry:
    values = list(row)
    values[4] = json.loads(values[4])
    return Entry(*values)


def _batch(row: tuple[Any, ...]) -> Batch:
    values = list(row)
    values[2] = json.loads(values[2])
    return Batch(*values)


def _action(row: tuple[Any, ...]) -> ActionEntry:
    values = list(row)
    values[3] = json.loads(values[3])
    return ActionEntry(*values)
