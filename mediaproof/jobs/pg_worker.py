"""Variant and repair jobs on PostgreSQL: a Procrastinate worker in the jobs process, one task per queue.

Retries: exponential back-off (2, 4, 8 … s) up to MEDIAPROOF_VARIANT_MAX_ATTEMPTS (variants) or
MEDIAPROOF_REPAIR_MAX_ATTEMPTS (repairs) tries in all; an InputError (an original that cannot be decoded) and a repair
that cannot succeed (mediaproof.jobs.repair.PERMANENT) are never retried. A worker killed mid-job stops sending
heartbeats: once it has been silent for MEDIAPROOF_JOBS_STALLED_AFTER seconds any live worker puts its running jobs
back in the queue, so none is lost (a job run twice makes the same renditions, or finds its copy already made).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

from mediaproof.errors import InputError
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.pg_queue import QUEUE, REPAIR_QUEUE, REPAIR_TASK, TASK, apply_schema
from mediaproof.jobs.renditions import VariantMaker
from mediaproof.jobs.repair import PERMANENT, RepairCopier

logger = logging.getLogger(__name__)
BACKOFF_BASE_SECONDS = 2  # the wait before try n + 1 is BACKOFF_BASE_SECONDS ** n


class JobRetry(RetryStrategy):
    """Procrastinate's exponential RetryStrategy, but never for the failures in `never` (no retry can help)."""

    def __init__(self, never: tuple[type[BaseException], ...], **options: Any) -> None:
        super().__init__(**options)
        self.never = never

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, self.never):
            return None
        if not self.max_attempts:  # one try in all: Procrastinate reads 0 as "no limit"
            return None
        return super().get_retry_decision(exception=exception, job=job)


def variant_retry(max_tries: int) -> JobRetry:
    # Procrastinate's max_attempts counts retries after the first try; the setting counts every try.
    return JobRetry((InputError,), max_attempts=max_tries - 1, exponential_wait=BACKOFF_BASE_SECONDS)


def repair_retry(max_tries: int) -> JobRetry:
    return JobRetry(PERMANENT, max_attempts=max_tries - 1, exponential_wait=BACKOFF_BASE_SECONDS)


def build_app(dsn: str, maker: VariantMaker, copier: RepairCopier, max_tries: int, repair_max_tries: int) -> App:
    """This process's Procrastinate app with the variant and repair tasks registered."""
    app = App(connector=PsycopgConnector(conninfo=dsn, min_size=1, max_size=4))
    stores = threading.local()  # Procrastinate runs sync tasks on threads: one gateway connection per thread

    @app.task(name=TASK, queue=QUEUE, retry=variant_retry(max_tries), pass_context=True)
    def make_variants(context: JobContext, original: str, media_type: str) -> None:
        if not hasattr(stores, "store"):
            stores.store = GatewayStore(dsn)
        maker.run(original, media_type, context.job.attempts + 1, stores.store)

    @app.task(name=REPAIR_TASK, queue=REPAIR_QUEUE, retry=repair_retry(repair_max_tries), pass_context=True)
    def repair(context: JobContext, sha256: str, target: int, sources: list[int]) -> str:
        if not hasattr(stores, "store"):
            stores.store = GatewayStore(dsn)
        try:
            return copier.run(sha256, target, sources, context.job.attempts + 1, stores.store).value
        except PERMANENT as exc:
            logger.warning("repair of %s to cluster %d failed for good: %s", sha256, target, exc)
            raise
        except Exception as exc:
            logger.warning("repair of %s to cluster %d failed (try %d): %s", sha256, target,
                           context.job.attempts + 1, exc)  # fmt: skip
            raise

    return app


async def requeue_stalled(app: App, stalled_after: float) -> None:
    """Put back the running jobs of workers silent for `stalled_after` s (killed mid-job), now and then again."""
    while True:
        for queue in (QUEUE, REPAIR_QUEUE):
            for job in await app.job_manager.get_stalled_jobs(queue=queue, seconds_since_heartbeat=stalled_after):
                logger.warning("%s job %s of a silent worker is queued again", queue, job.id)
                await app.job_manager.retry_job(job)
        await asyncio.sleep(stalled_after / 2)


async def run_worker(
    dsn: str,
    maker: VariantMaker,
    copier: RepairCopier,
    concurrency: int,
    max_tries: int,
    repair_max_tries: int,
    stalled_after: float,
) -> None:
    """Run variant and repair jobs until SIGTERM or SIGINT (Procrastinate lets running jobs finish first)."""
    await asyncio.to_thread(apply_schema, dsn)
    app = build_app(dsn, maker, copier, max_tries, repair_max_tries)
    options: dict[str, Any] = {
        "queues": [QUEUE, REPAIR_QUEUE],
        "concurrency": concurrency,
        "update_heartbeat_interval": stalled_after / 3,
        "stalled_worker_timeout": stalled_after,
        "install_signal_handlers": True,
        "delete_jobs": "never",  # the rows are the jobs' state the upload service reports
    }
    async with app.open_async():
        sweeper = asyncio.create_task(requeue_stalled(app, stalled_after))
        try:
            print(f"jobs worker on PostgreSQL: {concurrency} at once", flush=True)
            await app.run_worker_async(**options)
        finally:
            sweeper.cancel()
