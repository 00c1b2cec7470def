"""Variant and repair jobs on SQLite: threads of the jobs worker claiming rows of the ledger's `variant_jobs` and
`repair_jobs` tables (variants first: a person waits for them; a repair restores a copy that is still held elsewhere).

One jobs process per gateway database (SQLite is one machine's file): at start-up it puts the jobs a killed process
had taken back in the queue. A failure for a passing reason comes back after the ledger's doubling back-off, up to
MEDIAPROOF_VARIANT_MAX_ATTEMPTS (MEDIAPROOF_REPAIR_MAX_ATTEMPTS) tries; an original that cannot be decoded, and a
repair that cannot succeed (mediaproof.jobs.repair.PERMANENT), fail at once.
"""

from __future__ import annotations

import logging
import threading
import time

from mediaproof import gateway_db
from mediaproof.errors import InputError
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.renditions import VariantMaker
from mediaproof.jobs.repair import PERMANENT, RepairCopier
from mediaproof.upload.ledger import RepairJob, UploadLedger, VariantJob

logger = logging.getLogger(__name__)
# Seconds between looks at the queue: the upload service is another process and rings no bell here.
IDLE_POLL = 0.5


class LedgerWorkers:
    """`count` threads draining the ledger's queue until `stop()`."""

    def __init__(
        self,
        target: gateway_db.Target,
        maker: VariantMaker,
        copier: RepairCopier,
        count: int,
        max_attempts: int,
        repair_max_attempts: int,
    ) -> None:
        self._target = target
        self._maker = maker
        self._copier = copier
        self._count = count
        self._max_attempts = max_attempts
        self._repair_max_attempts = repair_max_attempts
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        ledger = UploadLedger(self._target)
        try:
            requeued = ledger.requeue_running()
        finally:
            ledger.close()
        if requeued:
            logger.warning("%d jobs left running by a killed jobs process are queued again", requeued)
        for n in range(self._count):
            thread = threading.Thread(target=self._loop, name=f"variants-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _loop(self) -> None:
        ledger = UploadLedger(self._target)
        store = GatewayStore(self._target)
        try:
            while not self._stopping.is_set():
                job = ledger.claim()
                if job is not None:
                    self.run(job, ledger, store)
                    continue
                repair = ledger.claim_repair()
                if repair is not None:
                    self.repair(repair, ledger, store)
                    continue
                due = ledger.next_due()
                self._stopping.wait(IDLE_POLL if due is None else max(0.0, min(IDLE_POLL, due - time.time())))
        finally:
            ledger.close()
            store.close()

    def run(self, job: VariantJob, ledger: UploadLedger, store: GatewayStore) -> None:
        try:
            self._maker.run(job.original, job.media_type, job.attempts, store)
        except InputError as exc:
            # The original cannot be decoded: no retry can help. The original itself is still served.
            ledger.fail(job.original, str(exc), self._max_attempts, permanent=True)
            self._maker.spool.drop(job.original)
            logger.warning("variants of %s failed for good: %s", job.original, exc)
        except Exception as exc:  # a cluster down, a disk full: come back later
            state = ledger.fail(job.original, f"{type(exc).__name__}: {exc}", self._max_attempts)
            logger.warning("variants of %s failed (try %d, now %s): %s", job.original, job.attempts, state, exc)
            if state == "failed":
                self._maker.spool.drop(job.original)
        else:
            ledger.finish(job.original)

    def repair(self, job: RepairJob, ledger: UploadLedger, store: GatewayStore) -> None:
        try:
            self._copier.run(job.sha256, job.target, job.sources, job.attempts, store)
        except PERMANENT as exc:
            ledger.fail_repair(job.sha256, job.target, str(exc), self._repair_max_attempts, permanent=True)
            logger.warning("repair of %s to cluster %d failed for good: %s", job.sha256, job.target, exc)
        except Exception as exc:  # a cluster down, a timeout: come back later
            error = f"{type(exc).__name__}: {exc}"
            state = ledger.fail_repair(job.sha256, job.target, error, self._repair_max_attempts)
            logger.warning("repair of %s to cluster %d failed (try %d, now %s): %s", job.sha256, job.target,
                           job.attempts, state, exc)  # fmt: skip
        else:
            ledger.finish_repair(job.sha256, job.target)
