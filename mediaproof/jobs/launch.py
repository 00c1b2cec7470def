"""Start the jobs worker as its own process (for `make up` and the tests); its log is data_dir/jobs.log."""

from __future__ import annotations

import sys

from mediaproof.processes import ManagedProcess, log_says
from mediaproof.settings import Settings

READY_LINE = b"jobs worker on "


def jobs_process(settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0) -> ManagedProcess:
    """A not yet started jobs worker; ready once it says it runs (on a bad setup it exits, the reason logged)."""
    if rpc_url is not None:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    log_path = settings.data_dir / "jobs.log"
    return ManagedProcess(
        name="jobs worker",
        argv=[sys.executable, "-m", "mediaproof.jobs"],
        log_path=log_path,
        ready=log_says(log_path, READY_LINE),
        env=settings.as_env(),
        ready_timeout=ready_timeout,
    )
