"""Start the observer as its own process (for `make up` and the tests); its log is data_dir/observer.log."""

from __future__ import annotations

import sys

from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings

READY_LINE = b"observer 0x"


def observer_process(settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0) -> ManagedProcess:
    """A not yet started observer; ready once it says it checks (on a bad setup it exits, with the reason logged)."""
    if rpc_url is not None:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    log_path = settings.data_dir / "observer.log"
    start_size = log_path.stat().st_size if log_path.exists() else 0

    def ready() -> bool:
        with open(log_path, "rb") as handle:
            handle.seek(start_size)
            text = handle.read()
        return READY_LINE in text

    env = settings.as_env()
    return ManagedProcess(
        name="observer",
        argv=[sys.executable, "-m", "mediaproof.observer"],
        log_path=log_path,
        ready=ready,
        env=env,
        ready_timeout=ready_timeout,
    )
