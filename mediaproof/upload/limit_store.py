"""A storage for the `limits` library kept in the gateway database (SQLite or PostgreSQL), so that every
upload-service process sharing that database counts against the same limits.

`limits` ships memory, Redis, Memcached and MongoDB storages, none of which this system runs; this one registers
the scheme `mediaproof-gateway` (`limits.storage.storage_from_string(storage_uri(target))`, the target a SQLite
file or a PostgreSQL DSN) and implements what the fixed-window and moving-window strategies ask of a storage. Each
check-and-count runs in one gateway_db transaction that every counting writer takes its turn at, so two processes
never both take the last unit of a limit.

The upload service counts with the moving window: "3 uploads in the last minute" means the last 60 seconds whenever
they fall. (The sliding window counter is cheaper but lets a fourth through just after a wall-clock window's edge,
which a busy machine's test run hit.) Entries are kept per slice of 1/SLICES of the window, each row holding the
cost of every entry that leaves the window in that slice: a day's bytes are at most SLICES rows per key, whatever the
traffic, and an entry stays counted at most one slice (0.1 s of a minute, 144 s of a day) longer than its window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

from limits.storage import MovingWindowSupport, Storage

from mediaproof import gateway_db

SCHEME = "mediaproof-gateway"
SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_counters (
    key        TEXT PRIMARY KEY,          -- a limits key (limit, identifiers, window)
    count      INTEGER NOT NULL,
    expires_at REAL NOT NULL              -- unix time after which the counter is gone
);
CREATE INDEX IF NOT EXISTS rate_counters_expiry ON rate_counters (expires_at);
CREATE TABLE IF NOT EXISTS rate_entries (
    key        TEXT NOT NULL,             -- a limits key (limit, identifiers)
    expires_at REAL NOT NULL,             -- the end of the slice in which its entries leave the moving window
    amount     INTEGER NOT NULL,          -- the cost of those entries (each 1, or an upload's bytes)
    PRIMARY KEY (key, expires_at)
);
CREATE INDEX IF NOT EXISTS rate_entries_expiry ON rate_entries (expires_at);
"""
SLICES = 600  # a moving window's entries are kept in this many slices of it


def slice_end(at: float, expiry: float) -> float:
    """The end of the slice (1/SLICES of `expiry`) an entry leaving the window at `at` is kept in: the same float for
    every entry of that slice (the quotient is rounded first so float noise never splits a slice)."""
    width = expiry / SLICES
    return math.ceil(round(at / width, 6)) * width


def seconds_until_room(limit: int, amount: int, entries: list[tuple[float, int]], now: float) -> float:
    """Seconds from `now` until `amount` fits under `limit` in a moving window holding `entries` (expires_at, amount)
    if nothing else is counted meanwhile: until enough of the oldest entries have left. Infinite when it never fits."""
    if amount > limit:
        return math.inf
    used = sum(cost for expires_at, cost in entries if expires_at > now)
    if used + amount <= limit:
        return 0.0
    for expires_at, cost in sorted(e for e in entries if e[0] > now):
        used -= cost
        if used + amount <= limit:
            return expires_at - now
    raise AssertionError("unreachable: with every entry gone, amount <= limit fits")


def storage_uri(target: gateway_db.Target) -> str:
    """The `limits` storage URI of the gateway database at `target` (the whole target quoted: a DSN has its own ://)."""
    where = str(Path(target).resolve()) if isinstance(target, Path) else target
    return f"{SCHEME}://{quote(where, safe='')}"


class GatewayStorage(Storage, MovingWindowSupport):
    """Counters (fixed windows) in table `rate_counters` and entries (moving windows) in table `rate_entries` of the
    gateway database; one connection per thread."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (limits' registry reads this class attribute)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        prefix = f"{SCHEME}://"
        if not uri or not uri.startswith(prefix) or len(uri) == len(prefix):
            raise ValueError(f"{SCHEME} needs the gateway database: storage_uri(path or postgresql:// DSN)")
        where = unquote(uri[len(prefix) :])
        self.target: gateway_db.Target = where if gateway_db.is_dsn(where) else Path(where)
        self._db = gateway_db.ThreadConnections(self.target, SCHEMA)
        self.clock: Callable[[], float] = time.time  # the unix time now; a test may name the instant
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return gateway_db.Error

    @contextmanager
    def _write(self) -> Iterator[gateway_db.GatewayDatabase]:
        db = self._db()
        with db.transaction("rate_counters"):
            yield db

    @staticmethod
    def _count(db: gateway_db.GatewayDatabase, key: str, now: float) -> tuple[int, float]:
        row = db.execute("SELECT count, expires_at FROM rate_counters WHERE key = ?", (key,)).fetchone()
        if row is None or row[1] <= now:
            return 0, now
        return int(row[0]), float(row[1])

    @staticmethod
    def _add(db: gateway_db.GatewayDatabase, key: str, expiry: float, amount: int, now: float) -> int:
        """Add to a live counter, or start it afresh (expiring `expiry` seconds from now) when gone."""
        row = db.execute(
            "INSERT INTO rate_counters (key, count, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
            " count = CASE WHEN rate_counters.expires_at <= ? THEN excluded.count ELSE rate_counters.count"
            " + excluded.count END,"
            " expires_at = CASE WHEN rate_counters.expires_at <= ? THEN excluded.expires_at"
            " ELSE rate_counters.expires_at END RETURNING count",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        return int(row[0])

    # --- Storage ---

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        with self._write() as db:
            # Expired counters are swept where counters are written, not on every moving-window hit. (Counters left
            # by an earlier version's sliding windows stay, one small row per key then active: nothing reads them.)
            db.execute("DELETE FROM rate_counters WHERE expires_at <= ?", (now,))
            return self._add(db, key, expiry, amount, now)

    def get(self, key: str) -> int:
        return self._count(self._db(), key, self.clock())[0]

    def get_expiry(self, key: str) -> float:
        return self._count(self._db(), key, self.clock())[1]

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except gateway_db.Error:
            return False
        return True

    def reset(self) -> int | None:
        db = self._db()
        return sum(int(db.execute(f"DELETE FROM {table}").rowcount) for table in ("rate_counters", "rate_entries"))

    def clear(self, key: str) -> None:
        db = self._db()
        db.execute("DELETE FROM rate_counters WHERE key = ?", (key,))
        db.execute("DELETE FROM rate_entries WHERE key = ?", (key,))

    # --- MovingWindowSupport ---

    @staticmethod
    def _used(db: gateway_db.GatewayDatabase, key: str, now: float) -> tuple[int, float | None]:
        """The cost counted in the window at `key` and when its oldest slice leaves (None: empty)."""
        row = db.execute(
            "SELECT COALESCE(SUM(amount), 0), MIN(expires_at) FROM rate_entries WHERE key = ? AND expires_at > ?",
            (key, now),
        ).fetchone()
        return int(row[0]), None if row[1] is None else float(row[1])

    @staticmethod
    def _entries(db: gateway_db.GatewayDatabase, key: str, now: float) -> list[tuple[float, int]]:
        rows = db.execute(
            "SELECT expires_at, amount FROM rate_entries WHERE key = ? AND expires_at > ?", (key, now)
        ).fetchall()
        return [(float(expires_at), int(amount)) for expires_at, amount in rows]

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        with self._write() as db:
            if self._used(db, key, now)[0] + amount > limit:
                return False
            db.execute(
                "INSERT INTO rate_entries (key, expires_at, amount) VALUES (?, ?, ?) ON CONFLICT (key, expires_at)"
                " DO UPDATE SET amount = rate_entries.amount + excluded.amount",
                (key, slice_end(now + expiry, expiry), amount),
            )
            db.execute("DELETE FROM rate_entries WHERE expires_at <= ?", (now,))
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        used, oldest = self._used(self._db(), key, now)
        return (now, 0) if oldest is None else (oldest - expiry, used)

    def wait_for_room(self, key: str, limit: int, amount: int) -> float:
        """Seconds until `amount` fits under `limit` in the moving window at `key` (seconds_until_room)."""
        now = self.clock()
        return seconds_until_room(limit, amount, self._entries(self._db(), key, now), now)
