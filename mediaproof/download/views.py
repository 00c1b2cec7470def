"""ViewRecorder: every view stored in the gateway database for the indexer, without ever slowing or failing a read.

A read only appends a tuple to a bounded in-memory queue (dropped and counted when full); a background thread
writes the queue out about once a second, as one transaction, into the view records (mediaproof.view_records),
where the indexer reads them from any machine. The same thread deletes records older than
MEDIAPROOF_DOWNLOAD_VIEWS_RETENTION seconds (every download process does; the deletes are idempotent), so the table
holds a bounded window of views: the indexer must read them within it, and counts the ones it missed.

A record is `view(...)`'s tuple with the time it was queued: `size` is what was asked for, `served` the rendition
sent (differs while a variant is not ready), `status` 200, 206 (a range: a video seeking; `offset` says where) or 304
(a revalidation).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from mediaproof import gateway_db
from mediaproof.view_records import View, ViewRecords

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
PRUNE_SECONDS = 60.0  # at most; a shorter retention prunes as often as it lasts


def view(short_id: str, size: str, served: str, sha256: str, status: int, offset: int, length: int) -> View:
    return (short_id, size, served, sha256, status, offset, length)


class ViewRecorder:
    """`record(...)` is O(1) and never raises; `start()` begins the flushing thread, `close()` flushes and stops."""

    def __init__(
        self,
        target: gateway_db.Target,
        capacity: int,
        flush_seconds: float = FLUSH_SECONDS,
        retention_seconds: float = 7 * 86400.0,
    ) -> None:
        self.target = target
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.retention_seconds = retention_seconds
        self.recorded = 0
        self.dropped = 0
        self.removed = 0  # records past retention deleted by this process
        self._queue: deque[tuple[float, View]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._records: ViewRecords | None = None  # opened by the flushing thread, used by it alone
        self._pruned_at = 0.0

    def record(self, short_id: str, size: str, served: str, sha256: str, status: int, offset: int, length: int) -> None:
        self.record_view(view(short_id, size, served, sha256, status, offset, length))

    def record_view(self, line: View) -> None:
        """The read path's form: a tuple from `view()`, made once per cached answer, queued with the time."""
        # len() and append() on a deque are atomic under the GIL: no lock on the read path.
        if len(self._queue) >= self.capacity:
            self.dropped += 1
            return
        self._queue.append((time.time(), line))

    @property
    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> ViewRecorder:
        self._thread = threading.Thread(target=self._run, name="view-recorder", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
        if self._records is not None:
            self._records.close()
            self._records = None

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()
            if time.time() - self._pruned_at >= min(PRUNE_SECONDS, self.retention_seconds):
                self.prune()

    def _open(self) -> ViewRecords | None:
        """The view records, or None while there is no gateway database: views come only from links resolved in it,
        and the download service must not be the one that creates a SQLite file the upload service owns."""
        if self._records is None and gateway_db.exists(self.target):
            self._records = ViewRecords(self.target)
        return self._records

    def flush(self) -> int:
        """Write out what is queued; returns how many views were written (0 if writing failed: they are dropped)."""
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        if not batch:
            return 0
        try:
            records = self._open()
            if records is not None:
                records.append(batch)
        except gateway_db.Error as exc:
            # A database that is away or full must not take reads down with it: count the loss and go on. Not
            # retried: on PostgreSQL the batch's rowids are spent, and the indexer counts them as missed views.
            records = None
            logger.warning("could not write %d view records: %s", len(batch), exc)
        if records is None:
            self.dropped += len(batch)
            return 0
        self.recorded += len(batch)
        return len(batch)

    def prune(self, now: float | None = None) -> int:
        """Delete records (any process's) past the retention; how many went. Never fails the thread."""
        self._pruned_at = time.time() if now is None else now
        try:
            records = self._open()
            removed = records.prune(self._pruned_at - self.retention_seconds) if records is not None else 0
        except gateway_db.Error as exc:
            logger.warning("could not delete view records past retention: %s", exc)
            return 0
        self.removed += removed
        return removed
