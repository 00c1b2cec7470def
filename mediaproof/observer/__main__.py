"""Run the observer: `python -m mediaproof.observer` (chain, gateway database, timings from MEDIAPROOF_* settings)."""

from __future__ import annotations

import logging
import signal
import sys

from mediaproof.chain import MediaproofChain
from mediaproof.errors import MediaproofError
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.queue import open_queue
from mediaproof.observer.service import Observer, observer_account
from mediaproof.settings import Settings
from mediaproof.upload.ledger import UploadLedger


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings()
    try:
        chain = MediaproofChain.from_settings(settings)
        account = observer_account(settings, chain.chain_id)
        # A writer connection (placements only, see service.py); creates the database if no upload came yet.
        target = settings.resolved_gateway_store()
        gateway = GatewayStore(target)
        ledger = UploadLedger(target)  # the repair queue's table on SQLite (only the sweep thread uses it)
        repairs = open_queue(target, lambda: ledger)
        observer = Observer(settings, chain, gateway, account, repairs)
    except MediaproofError as exc:
        sys.exit(f"observer: {exc}")
    signal.signal(signal.SIGTERM, lambda *_: observer.stop())
    signal.signal(signal.SIGINT, lambda *_: observer.stop())
    print(f"observer {account.address} checking every {settings.observer_interval} s", flush=True)
    observer.run()
    repairs.close()
    ledger.close()
    gateway.close()


if __name__ == "__main__":
    main()
