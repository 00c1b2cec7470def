"""The one place that opens a SQLite database, so every store gets the same threading, busy-wait and journaling
choices spelled the same way (a test keeps `sqlite3.connect` out of every other module)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's transaction before "database is locked"


def connect(
    path: Path,
    *,
    readonly: bool = False,
    busy_timeout: float = BUSY_TIMEOUT,
    wal: bool = True,
    synchronous: str | None = None,
    check_same_thread: bool = False,
    schema: str | None = None,
) -> sqlite3.Connection:
    """Open `path` in autocommit mode (callers say BEGIN IMMEDIATE where they need a transaction), waiting up to
    `busy_timeout` seconds for another writer. `readonly` opens an existing file as-is (no directory made, no pragmas:
    a reader may not change the journal mode). Otherwise the parent directory is made, WAL switched on when `wal`,
    `synchronous` set when given (NORMAL: durable at checkpoints; FULL: every commit survives a power cut) and
    `schema` applied. `check_same_thread=False` for connections that a lock or one-per-thread wrapper guards."""
    if readonly:
        return sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=check_same_thread, timeout=busy_timeout
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=check_same_thread)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    if synchronous is not None:
        db.execute(f"PRAGMA synchronous={synchronous}")
    if schema:
        db.executescript(schema)
    return db
