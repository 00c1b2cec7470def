"""Run the jobs worker: `python -m mediaproof.jobs` (gateway database, chain, clusters from MEDIAPROOF_* settings).
It makes the variants the upload service queues and the repair copies the observer queues,
MEDIAPROOF_VARIANT_WORKERS at once, until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from mediaproof import faults, gateway_db
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.errors import MediaproofError
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.ledger_worker import LedgerWorkers
from mediaproof.jobs.renditions import VariantMaker
from mediaproof.jobs.repair import RepairCopier
from mediaproof.jobs.spool import spool_of
from mediaproof.settings import Settings
from mediaproof.upload.decode_budget import budget_from
from mediaproof.upload.ledger import UploadLedger
from mediaproof.upload.placement import Placer


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings()
    faults.arm(settings.jobs_test_hold_at)
    target = settings.resolved_gateway_store()
    try:
        chain = MediaproofChain.from_settings(settings)
        placer = Placer(chain, gateway_account(settings, chain.chain_id), settings.http_timeout)
        GatewayStore(target).close()  # the tables, if no upload service made them yet
        UploadLedger(target).close()
    except MediaproofError as exc:
        sys.exit(f"jobs worker: {exc}")
    maker = VariantMaker(placer, spool_of(settings.data_dir), budget_from(settings), settings.jobs_test_fail_tries)
    copier = RepairCopier(placer, settings.jobs_test_fail_tries)
    concurrency = max(1, settings.variant_workers)
    try:
        if gateway_db.is_dsn(target):
            from mediaproof.jobs.pg_worker import run_worker  # only a PostgreSQL gateway needs procrastinate

            asyncio.run(
                run_worker(
                    str(target),
                    maker,
                    copier,
                    concurrency,
                    settings.variant_max_attempts,
                    settings.repair_max_attempts,
                    settings.jobs_stalled_after,
                )
            )
        else:
            workers = LedgerWorkers(
                target, maker, copier, concurrency, settings.variant_max_attempts, settings.repair_max_attempts
            )
            signal.signal(signal.SIGTERM, lambda *_: workers.stop())
            signal.signal(signal.SIGINT, lambda *_: workers.stop())
            workers.start()
            print(f"jobs worker on SQLite: {concurrency} at once", flush=True)
            workers.join()
    finally:
        placer.close()


if __name__ == "__main__":
    main()
