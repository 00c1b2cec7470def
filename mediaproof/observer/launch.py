"""Start the observer as its own process (for `make up` and the tests); its log is data_dir/observer.log."""

from __future__ import annotations

import sys

from mediaproof.processes import ManagedProcess, log_says
from mediaproof.settings import Settings

READY_LINE = b"observer 0x"


def observer_process(settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0) -> ManagedProcess:
    """A not yet started observer; ready once it says it checks (on a bad setup it exits, with the reason logged)."""
    if rpc_url is not None:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    log_path = settings.data_dir / "observer.log"
    env = settings.as_env()
    return ManagedProcess(
        name="observer",
        argv=[sys.executable, "-m", "mediaproof.observer"],
        log_path=log_path,
        ready=log_says(log_path, READY_LINE),
        env=env,
        ready_timeout=ready_timeout,
    )
