"""The job queues as their producers see them: the variant queue (the upload service: enqueue, read a job's state,
forget) and the repair queue (the observer: enqueue a copy, read its state). Two backends behind one contract: the
ledger's `variant_jobs` and `repair_jobs` tables (SQLite, the default) and Procrastinate (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from mediaproof import gateway_db
from mediaproof.upload.ledger import RepairJob, UploadLedger, VariantJob


class VariantQueue(Protocol):
    def enqueue(self, original: str, media_type: str) -> None:
        """Queue variants for `original` (sha256 hex) unless a job for it already waits."""

    def job(self, original: str) -> VariantJob | None:
        """The state of `original`'s job (pending | running | done | failed), None when there is none."""

    def forget(self, original: str) -> None:
        """Drop `original`'s job: a later upload of the same bytes starts afresh."""

    def close(self) -> None: ...


class RepairQueue(Protocol):
    def enqueue_repair(self, sha256: str, target: int, sources: list[int]) -> bool:
        """Queue a copy of `sha256` to cluster `target` from the first of `sources` that holds it; False when a job
        for the same (sha256, target) already waits or runs (it is not queued twice)."""

    def repair_job(self, sha256: str, target: int) -> RepairJob | None:
        """The state of that copy's newest job (pending | running | done | failed), None when there is none."""

    def close(self) -> None: ...


class LedgerQueue:
    """SQLite: the ledger's table, through the calling thread's own ledger connection."""

    def __init__(self, ledger: Callable[[], UploadLedger]) -> None:
        self._ledger = ledger

    def enqueue(self, original: str, media_type: str) -> None:
        self._ledger().enqueue(original, media_type)

    def job(self, original: str) -> VariantJob | None:
        return self._ledger().job(original)

    def forget(self, original: str) -> None:
        self._ledger().forget_job(original)

    def enqueue_repair(self, sha256: str, target: int, sources: list[int]) -> bool:
        return self._ledger().enqueue_repair(sha256, target, sources)

    def repair_job(self, sha256: str, target: int) -> RepairJob | None:
        return self._ledger().repair_job(sha256, target)

    def close(self) -> None:
        pass  # the connections are the ledger's, closed with it


class JobQueue(VariantQueue, RepairQueue, Protocol):
    """Both queues of one gateway database (each backend serves both)."""


def open_queue(target: gateway_db.Target, ledger: Callable[[], UploadLedger]) -> JobQueue:
    """The queues of the gateway database `target`: Procrastinate on a PostgreSQL DSN, else the ledger's tables."""
    if gateway_db.is_dsn(target):
        from mediaproof.jobs.pg_queue import ProcrastinateQueue  # only a PostgreSQL gateway needs procrastinate

        return ProcrastinateQueue(str(target))
    return LedgerQueue(ledger)
