"""ViewRecorder: every view appended as a JSON line for the indexer, without ever slowing or failing a read.

A read only appends a tuple to a bounded in-memory queue (dropped and counted when full); a background thread
writes the queue out about once a second, whole lines only, to `<views dir>/views-<start>-<pid>.jsonl`
(one file per process, so worker processes never interleave). A file is written for MEDIAPROOF_DOWNLOAD_VIEWS_ROTATE
seconds, then the next one starts; files not written for MEDIAPROOF_DOWNLOAD_VIEWS_RETENTION seconds are removed
(by whichever process rotates next), so the directory holds a bounded window of views: the indexer must read
them within it. Line format, one object per line:

    {"ts": 1717000000.123, "short_id": "aZ3k9", "size": "large", "served": "original",
     "sha256": "<64 hex of the bytes served>", "status": 200, "offset": 0, "bytes": 51200}

`size` is what was asked for, `served` the rendition sent (differs while a variant is not ready), `status` 200, 206
(a range: a video seeking; `offset` says where) or 304 (a revalidation). A reader should take only lines ending in a
newline (the last one may be half written when it looks) and remember its byte offset per file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
_TAIL = ',"short_id":"%s","size":"%s","served":"%s","sha256":"%s","status":%d,"offset":%d,"bytes":%d}\n'
View = str  # a line without its time: made once per cached answer, so a flush only formats the time


def view(short_id: str, size: str, served: str, sha256: str, status: int, offset: int, length: int) -> View:
    # Every field is a number, a base62 id, a size name or hex: nothing to escape, so plain formatting makes the
    # JSON (json.dumps per record would hold the GIL long enough to show in the read path's p99).
    return _TAIL % (short_id, size, served, sha256, status, offset, length)


class ViewRecorder:
    """`record(...)` is O(1) and never raises; `start()` begins the flushing thread, `close()` flushes and stops."""

    def __init__(
        self,
        directory: Path,
        capacity: int,
        flush_seconds: float = FLUSH_SECONDS,
        rotate_seconds: float = 3600.0,
        retention_seconds: float = 7 * 86400.0,
    ) -> None:
        self.directory = directory
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.rotate_seconds = rotate_seconds
        # Never below the rotation: a process idle that long starts a new file before it writes again, so it never
        # appends to a file another process removed (the indexer would take the new one for the old, read on).
        self.retention_seconds = max(retention_seconds, rotate_seconds)
        self.recorded = 0
        self.dropped = 0
        self.removed = 0  # files past retention removed by this process
        self._started = time.time()
        self.path = self._name(self._started)
        self._queue: deque[tuple[float, View]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, short_id: str, size: str, served: str, sha256: str, status: int, offset: int, length: int) -> None:
        self.record_view(view(short_id, size, served, sha256, status, offset, length))

    def record_view(self, line: View) -> None:
        """The read path's form: a line from `view()`, made once per cached answer, queued with the time."""
        # len() and append() on a deque are atomic under the GIL: no lock on the read path.
        if len(self._queue) >= self.capacity:
            self.dropped += 1
            return
        self._queue.append((time.time(), line))

    @property
    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> ViewRecorder:
        self.prune()
        self._thread = threading.Thread(target=self._run, name="view-recorder", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write out what is queued; returns how many views were written (0 if writing failed: they are dropped)."""
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        if not batch:
            return 0
        now = time.time()
        if now - self._started >= self.rotate_seconds and self._name(now) != self.path:
            self._started, self.path = now, self._name(now)
            self.prune(now)
        lines = "".join([f'{{"ts":{ts:.3f}{tail}' for ts, tail in batch])
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(lines)
        except OSError as exc:
            # A full or broken disk must not take reads down with it: count the loss and go on.
            self.dropped += len(batch)
            logger.warning("could not write %d view records to %s: %s", len(batch), self.path, exc)
            return 0
        self.recorded += len(batch)
        return len(batch)

    def prune(self, now: float | None = None) -> int:
        """Remove view files (any process's) not written for the retention; how many went. Never fails a flush."""
        cutoff = (time.time() if now is None else now) - self.retention_seconds
        removed = 0
        try:
            old = [p for p in self.directory.glob("views-*.jsonl") if p != self.path and p.stat().st_mtime < cutoff]
        except OSError:
            return 0  # no directory yet (or none at all): nothing to remove
        for path in old:
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass  # another process removed it first
        self.removed += removed
        return removed

    def _name(self, started: float) -> Path:
        return self.directory / f"views-{int(started * 1000)}-{os.getpid()}.jsonl"  # start in unix milliseconds
