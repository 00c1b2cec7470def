"""The variant worker: takes jobs from the persisted queue, makes small/medium/large (photos) or a poster frame
(videos) from the original, stores each on R clusters and marks its rendition ready.

A job that fails for a passing reason (a cluster down) is retried with back-off; one whose original cannot be
decoded fails at once. The original comes from the spool the upload left, or back from a cluster after a restart.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from mediaproof import variants, video
from mediaproof.content import digest_bytes
from mediaproof.errors import InputError
from mediaproof.gateway_store import GatewayStore, Rendition
from mediaproof.upload.decode_budget import DecodeBudget, NoBudget
from mediaproof.upload.intake import register_heif
from mediaproof.upload.ledger import UploadLedger, VariantJob
from mediaproof.upload.placement import Placer

logger = logging.getLogger(__name__)
IDLE_POLL = 1.0  # seconds between looks at the queue when nobody rings the bell (e.g. another process enqueued)


class Spool:
    """Originals kept on local disk until their variants are made, named by sha256."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.directory / sha256

    def keep(self, temp: Path, sha256: str) -> None:
        temp.replace(self.path(sha256))  # same file system: a rename, no copy

    def drop(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


class VariantWorkers:
    """`count` threads draining the queue; `wake()` after an enqueue so a job starts at once."""

    def __init__(
        self,
        db_path: Path | str,
        placer: Placer,
        spool: Spool,
        count: int,
        max_attempts: int,
        budget: DecodeBudget | None = None,
    ) -> None:
        self._db_path = db_path
        self._budget = budget or NoBudget()
        self._placer = placer
        self._spool = spool
        self._count = count
        self._max_attempts = max_attempts
        self._bell = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        ledger = UploadLedger(self._db_path)
        try:
            requeued = ledger.requeue_running()
        finally:
            ledger.close()
        if requeued:
            logger.info("%d variant jobs left running by a previous process are queued again", requeued)
        for n in range(self._count):
            thread = threading.Thread(target=self._loop, name=f"variants-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._bell.set()

    def stop(self) -> None:
        self._stopping.set()
        self._bell.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self) -> None:
        ledger = UploadLedger(self._db_path)
        store = GatewayStore(self._db_path)
        try:
            while not self._stopping.is_set():
                job = ledger.claim()
                if job is None:
                    due = ledger.next_due()
                    wait = IDLE_POLL if due is None else max(0.0, min(IDLE_POLL, due - time.time()))
                    self._bell.wait(wait)
                    self._bell.clear()
                    continue
                self.run(job, ledger, store)
        finally:
            ledger.close()
            store.close()

    def run(self, job: VariantJob, ledger: UploadLedger, store: GatewayStore) -> None:
        try:
            make_renditions(job, store, self._placer, self._spool, self._budget)
        except InputError as exc:
            # The original cannot be decoded: no retry can help. The original itself is still served.
            ledger.fail(job.original, str(exc), self._max_attempts, permanent=True)
            logger.warning("variants of %s failed for good: %s", job.original, exc)
        except Exception as exc:  # a cluster down, a disk full: come back later
            state = ledger.fail(job.original, f"{type(exc).__name__}: {exc}", self._max_attempts)
            logger.warning("variants of %s failed (try %d, now %s): %s", job.original, job.attempts, state, exc)
            if state == "failed":
                self._spool.drop(job.original)
        else:
            ledger.finish(job.original)
            self._spool.drop(job.original)


def make_renditions(
    job: VariantJob, store: GatewayStore, placer: Placer, spool: Spool, budget: DecodeBudget | None = None
) -> list[Rendition]:
    """Make, store on R clusters and record every rendition of `job.original`; returns them (all ready).
    Photos are decoded within `budget` (waiting for room as long as it takes); an image the whole budget could
    not hold fails for good with a sentence, its original still served."""
    original = spool.path(job.original)
    with tempfile.TemporaryDirectory(dir=spool.directory, prefix="fetch-") as scratch:
        if not original.exists():
            original = placer.fetch_to(store, job.original, Path(scratch) / "original")
        if job.media_type.startswith("video/"):
            poster = video.poster_frame(original)
            with Image.open(io.BytesIO(poster)) as frame:
                made = [variants.Variant("poster", poster, frame.width, frame.height, "image/jpeg")]
        else:
            register_heif()
            made = variants.make_variants(original.read_bytes(), admit=(budget or NoBudget()).hold)
        renditions = []
        for variant in made:
            digest = digest_bytes(variant.data)
            placer.place(store, digest, variant.data, title=f"{variant.name} of {job.original[:12]}")
            rendition = Rendition(
                name=variant.name,
                sha256=digest.sha256_hex,
                cid=digest.cid,
                size=digest.size,
                media_type=variant.media_type,
                width=variant.width,
                height=variant.height,
                ready=True,
            )
            store.put_rendition(job.original, rendition)
            renditions.append(rendition)
    return renditions
