"""Variant and repair jobs on PostgreSQL: Procrastinate's tables in the gateway database. This side enqueues and reads
a job's state (the upload service: variants; the observer: repairs); mediaproof.jobs.pg_worker runs them.

A variant job is one row of procrastinate_jobs, its args {original, media_type}. `lock` = the original, so two
workers never make the same variants at once; `queueing_lock` = the original, so a second upload of the same bytes
while the first waits adds no second job.

A repair job's args are {sha256, target, sources} on its own queue. `lock` = the sha256, so two copies of one blob
never run at once (each re-checks the count of copies before it copies); `queueing_lock` = sha256:target, so a
sweep that finds the same copy missing while its job waits adds no second one (and enqueue_repair looks for a running
one first).
"""

from __future__ import annotations

import contextlib
from typing import Any

from procrastinate import App, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, NoResult
from procrastinate.schema import SchemaManager

from mediaproof import gateway_db
from mediaproof.upload.ledger import RepairJob, VariantJob

QUEUE = "variants"
TASK = "mediaproof.variants"
REPAIR_QUEUE = "repairs"
REPAIR_TASK = "mediaproof.repair"
# Procrastinate's statuses as the upload service reports a variant job (the SQLite ledger's words).
STATES = {
    "todo": "pending",  # waiting, or waiting out its back-off before the next try
    "doing": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "failed",
    "aborted": "failed",
}
# A job's state is read by its original: an index on that argument, for this task's rows only.
_ORIGINAL_INDEX = (
    "CREATE INDEX IF NOT EXISTS mediaproof_variant_jobs_original ON procrastinate_jobs ((args->>'original'))"
    f" WHERE task_name = '{TASK}'"
)
_REPAIR_INDEX = (
    "CREATE INDEX IF NOT EXISTS mediaproof_repair_jobs_copy ON procrastinate_jobs ((args->>'sha256'),"
    f" ((args->>'target')::int)) WHERE task_name = '{REPAIR_TASK}'"
)


def apply_schema(dsn: str) -> bool:
    """Create Procrastinate's schema unless it is there (every upload and jobs process calls this at start-up;
    an advisory lock makes the first one do it and the others wait and find it); whether this call created it."""
    psycopg = gateway_db.driver(dsn)
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (gateway_db.lock_id("procrastinate-schema"),))
        present = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None
        if not present:
            conn.execute(SchemaManager.get_schema())  # no parameters: its '%' signs are taken as they are
        conn.execute(_ORIGINAL_INDEX)
        conn.execute(_REPAIR_INDEX)
    return not present


class ProcrastinateQueue:
    """The upload service's side of the queue on PostgreSQL: one small connection pool, shared by its threads."""

    def __init__(self, dsn: str) -> None:
        apply_schema(dsn)
        self._app = App(connector=SyncPsycopgConnector(conninfo=dsn, min_size=1, max_size=4))
        self._app.open()

    def close(self) -> None:
        self._app.close()

    def enqueue(self, original: str, media_type: str) -> None:
        """Queue variants for `original`; nothing when a job for it is already waiting."""
        deferrer = self._app.configure_task(TASK, queue=QUEUE, lock=original, queueing_lock=original)
        with contextlib.suppress(AlreadyEnqueued):
            deferrer.defer(original=original, media_type=media_type)

    def job(self, original: str) -> VariantJob | None:
        """The newest job for `original` (a failed one is followed by a fresh one when the bytes come again)."""
        row = self._query_one(
            "SELECT status::text AS status, attempts, args->>'media_type' AS media_type FROM procrastinate_jobs"
            " WHERE task_name = %(task)s AND args->>'original' = %(original)s ORDER BY id DESC LIMIT 1",
            task=TASK,
            original=original,
        )
        if row is None:
            return None
        # Procrastinate counts a try once it ends (retried or finished); the ledger counts a running one too.
        tries = row["attempts"] + (1 if row["status"] == "doing" else 0)
        return VariantJob(original, row["media_type"], STATES[row["status"]], tries, None)

    def forget(self, original: str) -> None:
        """Drop `original`'s jobs (its bytes were released); one running now finishes and is dropped later."""
        self._app.connector.get_sync_connector().execute_query(
            "DELETE FROM procrastinate_jobs WHERE task_name = %(task)s AND args->>'original' = %(original)s"
            " AND status != 'doing'",
            task=TASK,
            original=original,
        )

    def enqueue_repair(self, sha256: str, target: int, sources: list[int]) -> bool:
        """Queue a copy of `sha256` to cluster `target`; False when one already waits or runs."""
        # Procrastinate's queueing_lock only covers waiting jobs ('todo', back-offs included); a running one is looked
        # for here. A job that starts between this look and the insert gets a second one, which waits on the lock
        # and then finds the copy made (mediaproof.jobs.repair looks again first): harmless.
        running = self._query_one(
            "SELECT 1 AS one FROM procrastinate_jobs WHERE task_name = %(task)s AND args->>'sha256' = %(sha256)s"
            " AND (args->>'target')::int = %(target)s AND status = 'doing' LIMIT 1",
            task=REPAIR_TASK,
            sha256=sha256,
            target=target,
        )
        if running is not None:
            return False
        deferrer = self._app.configure_task(
            REPAIR_TASK, queue=REPAIR_QUEUE, lock=sha256, queueing_lock=f"{sha256}:{target}"
        )
        try:
            deferrer.defer(sha256=sha256, target=target, sources=list[Any](sources))
        except AlreadyEnqueued:
            return False
        return True

    def repair_job(self, sha256: str, target: int) -> RepairJob | None:
        """The newest repair job for this copy (Procrastinate keeps no error text: the jobs log has it)."""
        row = self._query_one(
            "SELECT status::text AS status, attempts, args->'sources' AS sources FROM procrastinate_jobs"
            " WHERE task_name = %(task)s AND args->>'sha256' = %(sha256)s AND (args->>'target')::int = %(target)s"
            " ORDER BY id DESC LIMIT 1",
            task=REPAIR_TASK,
            sha256=sha256,
            target=target,
        )
        if row is None:
            return None
        tries = row["attempts"] + (1 if row["status"] == "doing" else 0)
        return RepairJob(sha256, target, [int(c) for c in row["sources"]], STATES[row["status"]], tries, None)

    def _query_one(self, query: Any, **arguments: Any) -> dict[str, Any] | None:
        connector = self._app.connector.get_sync_connector()
        try:
            row: dict[str, Any] = connector.execute_query_one(query, **arguments)
        except NoResult:
            return None
        return row
