"""Start the upload service as its own process (for `make up`, the tests and the benchmarks)."""

from __future__ import annotations

import socket
import sys

import httpx

from mediaproof.ports import port_of, reserve_port
from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings

LOG_FILE = "upload.log"


def upload_process(
    settings: Settings,
    rpc_url: str | None = None,
    ready_timeout: float = 60.0,
    listener: socket.socket | None = None,
    slot: int = 0,
) -> ManagedProcess:
    """A not yet started upload service (`.start()` returns once /health answers); log in data_dir/upload/
    (upload.log, or upload-<n>.log for the n-th of several processes, `slot` n − 1).
    It serves on `listener`, else on a socket bound here to settings.upload_port (0: a free one; `.ports[0]`)."""
    listener = listener or reserve_port(settings.upload_port)
    env = settings.as_env()
    env["MEDIAPROOF_UPLOAD_PORT"] = str(port_of(listener))
    if rpc_url:
        env["MEDIAPROOF_RPC_URL"] = rpc_url
    url = f"http://127.0.0.1:{port_of(listener)}"

    def ready() -> bool:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200

    return ManagedProcess(
        name="upload service" if slot == 0 else f"upload service {slot + 1}",
        argv=[sys.executable, "-m", "mediaproof.upload", "--fd", str(listener.fileno())],
        log_path=settings.data_dir / "upload" / (LOG_FILE if slot == 0 else f"upload-{slot + 1}.log"),
        ready=ready,
        env=env,
        ready_timeout=ready_timeout,
        sockets=[listener],
    )
