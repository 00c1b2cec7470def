"""`python -m indexer --rpc URL --deployment FILE --db PATH --port P`: follow the chain and serve the read API
in one process (the only DuckDB writer). `--once` catches up and exits without serving. Batch manifests come from
the download service (`--download-url`, MEDIAPROOF_DOWNLOAD_URL).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from indexer.engine import Follower
from indexer.manifest_source import HttpManifestSource
from indexer.search import TitleIndex
from indexer.short_links import ShortLinkSync
from indexer.source import JsonRpcSource
from indexer.store import Store
from indexer.views import ViewIngester
from mediaproof import gateway_db
from mediaproof.deployment import read_deployment
from mediaproof.errors import MediaproofError
from mediaproof.safe_text import printable
from mediaproof.settings import Settings


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    p.add_argument("--rpc", default=settings.rpc_url, help="Ethereum JSON-RPC URL")
    p.add_argument("--deployment", type=Path, default=settings.resolved_deployment_file(), help="deployment file")
    p.add_argument("--db", type=Path, default=settings.resolved_indexer_db(), help="DuckDB file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=settings.indexer_port, help="read API port")
    p.add_argument("--fd", type=int, default=None, help="serve the read API on this inherited, bound socket")
    p.add_argument(
        "--confirmations",
        type=int,
        default=settings.indexer_confirmations,
        help="blocks to wait before indexing (0 on anvil)",
    )
    p.add_argument(
        "--gateway-db",
        default=settings.resolved_gateway_store(),
        help="short ids and view records (read-only): the gateway's SQLite file; MEDIAPROOF_GATEWAY_DSN on PostgreSQL",
    )
    p.add_argument(
        "--download-url",
        default=settings.resolved_download_url(),
        help="download service that serves batch manifests (GET URL/manifests/CID)",
    )
    p.add_argument("--batch-blocks", type=int, default=2000, help="block range per eth_getLogs while behind")
    p.add_argument("--poll", type=float, default=0.25, help="seconds between polls when caught up")
    p.add_argument("--once", action="store_true", help="catch up, then exit (no API)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s indexer %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per RPC call drowns the useful ones
    args = parse_args(argv, Settings())
    if args.confirmations < 0 or args.batch_blocks < 1 or args.poll <= 0:
        print("error: --confirmations must be ≥ 0, --batch-blocks ≥ 1 and --poll > 0", file=sys.stderr)
        return 2
    try:
        deployment = read_deployment(args.deployment)
        store = Store(args.db)
        source = JsonRpcSource(args.rpc)
        manifests = HttpManifestSource(args.download_url)
        head = store.head()
        logging.getLogger("indexer").info("following from block %s", head.number + 1 if head else deployment.block)
        gateway = args.gateway_db if gateway_db.is_dsn(args.gateway_db) else Path(args.gateway_db)
        links = ShortLinkSync(store, gateway)
        views = ViewIngester(store, gateway)
        if args.once:
            once = Follower(source, store, deployment, args.confirmations, args.batch_blocks, manifests=manifests)
            once.catch_up()
            links.sync()
            views.ingest()
            links.close()
            views.close()
            store.close()
            if once.waiting is not None:
                w = once.waiting
                # The manifest's CID is the anchor's word (on chain): escaped like every title printed.
                line = f"error: stopped before block {w.block}: its batch manifest {w.cid} did not come ({w.reason})"
                print(printable(line), file=sys.stderr)
                return 1
            return 0
        index = TitleIndex(store)

        def on_rollback(block: int) -> None:
            index.rollback(block)
            links.forget_after(block)

        def side_work() -> None:
            index.set_short_ids(links.sync())
            views.ingest()

        follower = Follower(
            source,
            store,
            deployment,
            args.confirmations,
            args.batch_blocks,
            index.refresh,
            on_rollback,
            manifests=manifests,
        )
    except MediaproofError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1

    import uvicorn

    from indexer.api import create_app

    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop, args.poll, side_work), name="follower", daemon=True)
    thread.start()
    try:
        if args.fd is not None:
            uvicorn.run(create_app(store, index), fd=args.fd, log_level="warning")
        else:
            uvicorn.run(create_app(store, index), host=args.host, port=args.port, log_level="warning")
    finally:
        stop.set()
        thread.join(timeout=10)
        links.close()
        views.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
