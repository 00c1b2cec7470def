"""The whole local system for the browser tests, run in the main environment (.venv):

    python -m tests.e2e.stack_runner WORK_DIR WEBAPP_PORT UPLOADS_PER_MINUTE      (from the repository root)

Starts mediaproof.devstack.LocalStack (anvil, one IPFS node and storage cluster, indexer, upload and download
services, observer) on free ports under WORK_DIR, writes WORK_DIR/stack.json (its URLs and upload limits) once
everything answers, and stops it all on SIGTERM or SIGINT. The upload service lets pages from
http://127.0.0.1:WEBAPP_PORT send it files, and takes UPLOADS_PER_MINUTE uploads a minute per wallet and per client
address (MEDIAPROOF_UPLOAD_RATE_PER_MINUTE), so that a browser test can meet its 429.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from mediaproof.devstack import LocalStack
from tests.integration.stack import stack_settings


def main(work: Path, webapp_port: int, uploads_per_minute: int) -> None:
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    settings = stack_settings(work).model_copy(
        update={"webapp_port": webapp_port, "upload_rate_per_minute": uploads_per_minute}
    )
    stack = LocalStack(settings).start()
    settings = stack.settings  # with the free ports it took
    try:
        description = {
            "rpc_url": f"http://127.0.0.1:{settings.anvil_port}",
            "deployment_file": str(settings.resolved_deployment_file()),
            "indexer_url": settings.resolved_indexer_url(),
            "upload_url": settings.resolved_upload_url(),
            "download_port": settings.download_port,
            "indexer_port": settings.indexer_port,
            "upload_port": settings.upload_port,
            "upload_rate_per_minute": settings.upload_rate_per_minute,
            "upload_concurrent": settings.upload_concurrent,
            "data_dir": str(settings.data_dir),
        }
        ready = work / "stack.json"
        ready.with_suffix(".tmp").write_text(json.dumps(description))
        ready.with_suffix(".tmp").rename(ready)  # whole or absent: the fixture polls for it
        stopping.wait()
    finally:
        stack.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
