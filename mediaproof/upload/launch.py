"""Start the upload service as its own process (for `make up`, the tests and the benchmarks)."""

from __future__ import annotations

import sys

import httpx

from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings

LOG_FILE = "upload.log"


def upload_process(settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0) -> ManagedProcess:
    """A not yet started upload service (`.start()` returns once /health answers); log in data_dir/upload/."""
    env = settings.as_env()
    if rpc_url:
        env["MEDIAPROOF_RPC_URL"] = rpc_url
    url = f"http://127.0.0.1:{settings.upload_port}"

    def ready() -> bool:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200

    return ManagedProcess(
        name="upload service",
        argv=[sys.executable, "-m", "mediaproof.upload"],
        log_path=settings.data_dir / "upload" / LOG_FILE,
        ready=ready,
        env=env,
        ready_timeout=ready_timeout,
    )
