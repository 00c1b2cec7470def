"""Start the download service as its own process (for `make up`, tests, bench); ready once /health answers."""

from __future__ import annotations

import sys

import httpx

from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings


def download_process(
    settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0, server: str | None = None
) -> ManagedProcess:
    """A not yet started download service on settings.download_port (0: a free one; `.ports[0]` tells which once
    started); its log is data_dir/download.log. `server` ("granian" or "uvicorn") picks the HTTP server; None:
    granian when installed. granian binds the port itself, so a port taken first is retried, not handed over."""
    if rpc_url is not None:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    env = settings.as_env()

    def use(ports: list[int]) -> None:
        env["MEDIAPROOF_DOWNLOAD_PORT"] = str(ports[0])

    def ready() -> bool:
        return httpx.get(f"http://127.0.0.1:{process.ports[0]}/health", timeout=2.0).status_code == 200

    process = ManagedProcess(
        name="download service",
        argv=[sys.executable, "-m", "mediaproof.download", *(["--server", server] if server else [])],
        log_path=settings.data_dir / "download.log",
        ready=ready,
        env=env,
        ready_timeout=ready_timeout,
        ports=[settings.download_port],
        on_ports=use,
    )
    return process
