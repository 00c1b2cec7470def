"""A storage for the `limits` library kept in the gateway database (SQLite or PostgreSQL), so that every
upload-service process sharing that database counts against the same limits.

`limits` ships memory, Redis, Memcached and MongoDB storages, none of which this system runs; this one registers
the scheme `mediaproof-gateway` (`limits.storage.storage_from_string(storage_uri(target))`, the target a SQLite
file or a PostgreSQL DSN) and implements what the fixed-window and sliding-window-counter strategies ask of a
storage. Each check-and-count runs in one gateway_db transaction that every counting writer takes its turn at, so
two processes never both take the last unit of a limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from math import floor
from pathlib import Path
from urllib.parse import quote, unquote

from limits.storage import SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

from mediaproof import gateway_db

SCHEME = "mediaproof-gateway"
SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_counters (
    key        TEXT PRIMARY KEY,          -- a limits key (limit, identifiers, window)
    count      INTEGER NOT NULL,
    expires_at REAL NOT NULL              -- unix time after which the counter is gone
);
CREATE INDEX IF NOT EXISTS rate_counters_expiry ON rate_counters (expires_at);
"""


def storage_uri(target: gateway_db.Target) -> str:
    """The `limits` storage URI of the gateway database at `target` (the whole target quoted: a DSN has its own ://)."""
    where = str(Path(target).resolve()) if isinstance(target, Path) else target
    return f"{SCHEME}://{quote(where, safe='')}"


class GatewayStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Counters in table `rate_counters` of the gateway database; one connection per thread."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (limits' registry reads this class attribute)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        prefix = f"{SCHEME}://"
        if not uri or not uri.startswith(prefix) or len(uri) == len(prefix):
            raise ValueError(f"{SCHEME} needs the gateway database: storage_uri(path or postgresql:// DSN)")
        where = unquote(uri[len(prefix) :])
        self.target: gateway_db.Target = where if gateway_db.is_dsn(where) else Path(where)
        self._db = gateway_db.ThreadConnections(self.target, SCHEMA)
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
        now = time.time()
        with self._write() as db:
            return self._add(db, key, expiry, amount, now)

    def get(self, key: str) -> int:
        return self._count(self._db(), key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        return self._count(self._db(), key, time.time())[1]

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except gateway_db.Error:
            return False
        return True

    def reset(self) -> int | None:
        return int(self._db().execute("DELETE FROM rate_counters").rowcount)

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM rate_counters WHERE key = ?", (key,))

    # --- SlidingWindowCounterSupport: the same arithmetic as limits' own MemoryStorage, in one transaction ---

    def _window(
        self, db: gateway_db.GatewayDatabase, key: str, expiry: int, now: float
    ) -> tuple[int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous_count = self._count(db, previous_key, now)[0]
        current_count = self._count(db, current_key, now)[0]
        previous_ttl = 0.0 if previous_count == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous_count, previous_ttl, current_count, current_ttl

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        with self._write() as db:
            previous_count, previous_ttl, current_count, _ = self._window(db, key, expiry, now)
            if floor(previous_count * previous_ttl / expiry + current_count) + amount > limit:
                return False
            self._add(db, self.sliding_window_keys(key, expiry, now)[1], 2 * expiry, amount, now)
            db.execute("DELETE FROM rate_counters WHERE expires_at <= ?", (now,))
            return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._window(self._db(), key, expiry, time.time())

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        for window_key in self.sliding_window_keys(key, expiry, time.time()):
            self.clear(window_key)
