"""The variant queue as the upload service sees it: enqueue, read a job's state, forget. Two backends behind one
contract: the ledger's `variant_jobs` table (SQLite, the default) and Procrastinate (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from mediaproof import gateway_db
from mediaproof.upload.ledger import UploadLedger, VariantJob


class VariantQueue(Protocol):
    def enqueue(self, original: str, media_type: str) -> None:
        """Queue variants for `original` (sha256 hex) unless a job for it already waits."""

    def job(self, original: str) -> VariantJob | None:
        """The state of `original`'s job (pending | running | done | failed), None when there is none."""

    def forget(self, original: str) -> None:
        """Drop `original`'s job: a later upload of the same bytes starts afresh."""

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

    def close(self) -> None:
        pass  # the connections are the ledger's, closed with it


def open_queue(target: gateway_db.Target, ledger: Callable[[], UploadLedger]) -> VariantQueue:
    """The queue of the gateway database `target`: Procrastinate on a PostgreSQL DSN, else the ledger's table."""
    if gateway_db.is_dsn(target):
        from mediaproof.jobs.pg_queue import ProcrastinateQueue  # only a PostgreSQL gateway needs procrastinate

        return ProcrastinateQueue(str(target))
    return LedgerQueue(ledger)
