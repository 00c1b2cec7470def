"""Start the download service as its own process (for `make up`, tests, bench); ready once /health answers."""

from __future__ import annotations

import sys

import httpx

from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings


def download_process(
    settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0, server: str | None = None
) -> ManagedProcess:
    """A not yet started download service on settings.download_port; its log is data_dir/download.log.
    `server` ("granian" or "uvicorn") picks the HTTP server; None: granian when installed."""
    if rpc_url is not None:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    url = f"http://127.0.0.1:{settings.download_port}/health"

    def ready() -> bool:
        return httpx.get(url, timeout=2.0).status_code == 200

    return ManagedProcess(
        name="download service",
        argv=[sys.executable, "-m", "mediaproof.download", *(["--server", server] if server else [])],
        log_path=settings.data_dir / "download.log",
        ready=ready,
        env=settings.as_env(),
        ready_timeout=ready_timeout,
    )
