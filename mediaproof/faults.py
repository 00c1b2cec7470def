"""Named crash points, for tests that kill a process at the worst moment (never by the clock).

`MEDIAPROOF_UPLOAD_TEST_HOLD_AT=direct-sent,…` (the upload service) or `MEDIAPROOF_SYNC_TEST_HOLD_AT=sync-staged`
(the CLI's sync) makes the thread that reaches one of those points log `holding at <point>` (on stderr for the
CLI) and wait there for good, so a test can watch for that line and then kill -9 the process in exactly that
state. Unset (always, outside tests) every point is a no-op.

Upload service: `direct-sent` (a relayed registerMedia is mined, nothing recorded yet), `anchor-sent` (a batch's
anchor is mined, the batch still `built`), `batch-anchored` (the batch is marked anchored, no upload linked yet),
`link-added` (a short link is written, the upload not yet committed). Jobs worker (`MEDIAPROOF_JOBS_TEST_HOLD_AT`):
`variants-made` (a variant job's renditions are stored and recorded, the job not yet marked done). Sync:
`sync-staged` (every byte is sent and staged, the manifest stored, nothing committed), `sync-committed` (the commit
is mined, the directory untouched).
"""

from __future__ import annotations

import logging
import sys
import threading

logger = logging.getLogger(__name__)
POINTS = frozenset(
    {"variants-made", "direct-sent", "anchor-sent", "batch-anchored", "link-added", "sync-staged", "sync-committed"}
)
_armed: frozenset[str] = frozenset()


def arm(setting: str) -> None:
    """Arm the points named in the setting (comma-separated); an unknown name is a mistake in the test."""
    global _armed
    names = frozenset(name.strip() for name in setting.split(",") if name.strip())
    unknown = names - POINTS
    if unknown:
        raise ValueError(f"unknown crash points {sorted(unknown)}: choose from {sorted(POINTS)}")
    _armed = names


def point(name: str) -> None:
    """Hold here for good when `name` is armed (the test kills the process); otherwise nothing."""
    assert name in POINTS, name
    if name in _armed:
        logger.warning("holding at %s", name)
        print(f"holding at {name}", file=sys.stderr, flush=True)  # the CLI logs nowhere else
        threading.Event().wait()
