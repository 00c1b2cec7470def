"""Rate limits and quotas of the upload service, per wallet and per client address, shared by every process that
uses the same gateway database:

- uploads, social actions per minute and bytes per day: `limits`' moving-window strategy over GatewayStorage
  (mediaproof.upload.limit_store), which counts by limits' rules for a moving window with its entries in the
  database (and says when there is room again: Retry-After);
- uploads in flight at once: leases in table `upload_leases` (a concurrency cap is no rate, and `limits` has no
  such primitive), each renewed while its body streams and gone a minute after a crashed process stopped renewing;
- uploads one process receives at once (temp files and sockets it holds): a counter in this process.

Over a limit: RateLimited (429) or Overloaded (503), each with the seconds after which to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from mediaproof import gateway_db
from mediaproof.errors import MediaTooLarge, Overloaded, RateLimited
from mediaproof.settings import Settings
from mediaproof.upload.limit_store import GatewayStorage, storage_uri

T = TypeVar("T")
LEASE_SECONDS = 60.0  # an in-flight upload's lease; renewed every third of it while the body streams
BUSY_RETRY = 5  # seconds to wait when the cap is on uploads in flight (no window says when one ends)
LEASES = """
CREATE TABLE IF NOT EXISTS upload_leases (
    lease_id    TEXT NOT NULL,            -- one upload being received
    subject     TEXT NOT NULL,            -- wallet:<address> or address:<client ip>
    lease_until REAL NOT NULL,            -- renewed while the body streams; a dead process's lapse
    PRIMARY KEY (lease_id, subject)
);
CREATE INDEX IF NOT EXISTS upload_leases_subject ON upload_leases (subject, lease_until);
"""


def subjects(wallet: str, client: str) -> list[tuple[str, str]]:
    """(kind, id) of everyone a request counts against: its wallet and its client address."""
    return [("wallet", wallet), ("address", client)]


def _who(kind: str, ident: str) -> str:
    return f"wallet {ident}" if kind == "wallet" else f"client address {ident}"


class Leases:
    """Uploads in flight, per subject, in the gateway database (one connection per thread)."""

    def __init__(self, path: gateway_db.Target) -> None:
        self.path = path
        self._db = gateway_db.ThreadConnections(path, LEASES)

    def acquire(self, lease_id: str, subjects: list[str], cap: int, now: float | None = None) -> str | None:
        """Take a lease for every subject, or none; the first subject already at `cap` (None when taken)."""
        now = time.time() if now is None else now
        db = self._db()
        with db.transaction("upload_leases"):
            db.execute("DELETE FROM upload_leases WHERE lease_until <= ?", (now,))
            for subject in subjects:
                held = db.execute("SELECT count(*) FROM upload_leases WHERE subject = ?", (subject,)).fetchone()[0]
                if held >= cap:
                    return subject  # only lapsed leases were swept: that much may commit
            db.executemany(
                "INSERT INTO upload_leases (lease_id, subject, lease_until) VALUES (?, ?, ?)",
                [(lease_id, s, now + LEASE_SECONDS) for s in subjects],
            )
        return None

    def renew(self, lease_id: str) -> None:
        self._db().execute(
            "UPDATE upload_leases SET lease_until = ? WHERE lease_id = ?", (time.time() + LEASE_SECONDS, lease_id)
        )

    def release(self, lease_id: str) -> None:
        self._db().execute("DELETE FROM upload_leases WHERE lease_id = ?", (lease_id,))

    def held(self, subject: str) -> int:
        row = (
            self._db()
            .execute("SELECT count(*) FROM upload_leases WHERE subject = ? AND lease_until > ?", (subject, time.time()))
            .fetchone()
        )
        return int(row[0])


class Quotas:
    def __init__(self, db_path: gateway_db.Target, settings: Settings) -> None:
        storage = storage_from_string(storage_uri(db_path))
        assert isinstance(storage, GatewayStorage)
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.uploads: RateLimitItem = RateLimitItemPerMinute(settings.upload_rate_per_minute)
        self.bytes: RateLimitItem = RateLimitItemPerDay(settings.upload_bytes_per_day)
        self.project_files: RateLimitItem = RateLimitItemPerMinute(settings.upload_project_files_per_minute)
        self.nonces: RateLimitItem = RateLimitItemPerMinute(settings.upload_nonces_per_minute)
        self.actions: RateLimitItem = RateLimitItemPerMinute(settings.upload_actions_per_minute)
        self.concurrent = settings.upload_concurrent
        self.max_open = settings.upload_max_open
        self.leases = Leases(db_path)
        self.open = 0  # uploads this process is receiving now (one event loop: no lock needed)

    # --- counted in the database (call on a worker thread) ---

    def _retry_after(self, item: RateLimitItem, key: tuple[str, ...], cost: int) -> int:
        # Never more than a window (and never infinite: a cost over the limit is refused before it is counted).
        wait = min(self.storage.wait_for_room(item.key_for(*key), item.amount, cost), item.get_expiry())
        return max(1, math.ceil(wait))

    def _take(self, item: RateLimitItem, what: str, cost: int, keys: list[tuple[str, str]], why: str) -> None:
        """Count `cost` against `item` for every subject in `keys`, or for none: RateLimited naming the first
        subject over its limit."""
        for kind, ident in keys:
            key = (what, kind, ident)
            if not self.limiter.test(item, *key, cost=cost):
                after = self._retry_after(item, key, cost)
                raise RateLimited(f"{_who(kind, ident)} {why}: try again in {after} s", after)
        for kind, ident in keys:
            key = (what, kind, ident)
            if not self.limiter.hit(item, *key, cost=cost):  # another process took the last of it just now
                after = self._retry_after(item, key, cost)
                raise RateLimited(f"{_who(kind, ident)} {why}: try again in {after} s", after)

    def take_nonce(self, client: str) -> None:
        why = f"has asked for {self.nonces.amount} sign-in nonces in the last minute, the most it may"
        self._take(self.nonces, "nonces", 1, [("address", client)], why)

    def take_action(self, kind: str, ident: str) -> None:
        """One social action of a client address (`kind` "address", counted before its signature is checked) or of a
        wallet ("wallet", counted once the signature is its own, so nobody can spend another wallet's allowance)."""
        why = f"has sent {self.actions.amount} social actions in the last minute, the most this service takes"
        self._take(self.actions, "actions", 1, [(kind, ident)], why)

    def take_upload(self, wallet: str, client: str) -> None:
        why = f"has sent {self.uploads.amount} uploads in the last minute, the most this service takes"
        self._take(self.uploads, "uploads", 1, subjects(wallet, client), why)

    def take_project_file(self, wallet: str, client: str) -> None:
        why = f"has sent {self.project_files.amount} project files in the last minute, the most this service takes"
        self._take(self.project_files, "project-files", 1, subjects(wallet, client), why)

    def charge_bytes(self, wallet: str, client: str, size: int) -> None:
        if size > self.bytes.amount:
            raise MediaTooLarge(
                f"the file is {size} bytes, over the daily upload quota of {self.bytes.amount} bytes "
                "(MEDIAPROOF_UPLOAD_BYTES_PER_DAY): send a smaller file"
            )
        why = f"would go over its quota of {self.bytes.amount} bytes uploaded per day"
        self._take(self.bytes, "bytes", size, subjects(wallet, client), why)

    # --- one upload being received ---

    @contextlib.asynccontextmanager
    async def receiving(
        self, wallet: str, client: str, count: bool = True, project_file: bool = False
    ) -> AsyncIterator[None]:
        """Hold a place for one upload of `wallet` from `client` while its body is received and stored: uploads in
        flight and uploads per minute (RateLimited), then this process's cap on open uploads (Overloaded).

        The wallet's own limits come first, so one wallet's flood is told to wait (429) without filling the
        process's open slots that everybody else's uploads need (which would answer them 503). `count=False`: a
        later chunk of a resumable upload, counted once as an upload when it was created. `project_file`: a file of a
        project, counted against the project files per minute instead (a sync sends a project's files in a burst)."""
        lease_id = secrets.token_hex(12)
        keys = [f"{kind}:{ident}" for kind, ident in subjects(wallet, client)]
        full = await _run(self.leases.acquire, lease_id, keys, self.concurrent)
        if full is not None:
            kind, ident = full.split(":", 1)
            raise RateLimited(
                f"{_who(kind, ident)} has {self.concurrent} uploads in flight, the most it may have at once "
                f"(MEDIAPROOF_UPLOAD_CONCURRENT): try again in {BUSY_RETRY} s, or once one of them is done",
                BUSY_RETRY,
            )
        try:
            if count:  # counted only for uploads that get a place in flight
                await _run(self.take_project_file if project_file else self.take_upload, wallet, client)
            if self.open >= self.max_open:
                raise Overloaded(
                    f"this upload service is receiving {self.open} uploads, the most it takes at once "
                    f"(MEDIAPROOF_UPLOAD_MAX_OPEN): try again in {BUSY_RETRY} s",
                    BUSY_RETRY,
                )
            self.open += 1
            renewing = asyncio.create_task(self._renew(lease_id))
            try:
                yield
            finally:
                self.open -= 1
                renewing.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await _run(self.leases.release, lease_id)

    async def _renew(self, lease_id: str) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            await _run(self.leases.renew, lease_id)


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)
