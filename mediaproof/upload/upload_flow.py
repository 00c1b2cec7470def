"""An upload's way from stored to committed, as the routes drive it: found in the ledger, its variants waited for,
its signed record committed (once, under its lock, idempotent across crashes) or its own transaction confirmed,
and its batch's anchor waited for. The record itself is mediaproof.upload.registration's."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from mediaproof.errors import ChainError, NotRegistered
from mediaproof.upload.ledger import Upload
from mediaproof.upload.reconcile import settle
from mediaproof.upload.registration import commit_upload, committed_answer, confirm_upload

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

VARIANT_POLL = 0.05
ANCHOR_WAIT_MARGIN = 30.0  # seconds beyond the batch interval a commit waits for its batch's anchor


def find_upload(service: Service, upload_id: str) -> Upload:
    upload = service.ledger().get(upload_id)
    if upload is None:
        raise NotRegistered(f"no upload with id {upload_id!r}: POST the file to /uploads first")
    return upload


async def wait_for_variants(service: Service, sha256: str, seconds: float) -> None:
    """Until the variant job is done or failed, at most `seconds` (prepare signs whatever is ready by then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = await anyio.to_thread.run_sync(service.variants.job, sha256)
        if job is None or job.state in ("done", "failed"):
            return
        await asyncio.sleep(VARIANT_POLL)


def commit_step(service: Service, upload_id: str, signature: bytes, send: str) -> dict[str, Any]:
    """Idempotent: a commit retried after a crash answers the link its registration got (found on chain if the
    crash came before the link), and nothing is sent twice."""
    with service.commit_lock(upload_id):
        upload = settle(service, find_upload(service, upload_id))
        if upload.state == "committed":
            return committed_answer(service, upload)
        if upload.state == "anchoring":
            return {"state": "anchoring", "upload_id": upload_id, "media_id": upload.media_id}
        try:
            return commit_upload(service, upload, signature, send)
        except ChainError:
            # e.g. UserMediaNonceUsed: a send of this record still on its way when we looked has landed since.
            upload = settle(service, find_upload(service, upload_id))
            if upload.state == "committed":
                return committed_answer(service, upload)
            raise


def confirm_step(service: Service, upload_id: str, tx: str) -> dict[str, Any]:
    with service.commit_lock(upload_id):
        return confirm_upload(service, find_upload(service, upload_id), tx)


async def wait_for_anchor(service: Service, upload_id: str, pending: dict[str, Any]) -> dict[str, Any]:
    """Until the upload's batch is anchored and its link made, at most a batch interval and a margin; then the
    answer says it is still anchoring (GET /uploads/{id} shows the link once it is)."""
    deadline = time.monotonic() + service.settings.batch_interval + ANCHOR_WAIT_MARGIN
    while time.monotonic() < deadline:
        # settle: a batch anchored by a process that died before linking it is linked here (database reads only)
        upload = await anyio.to_thread.run_sync(lambda: settle(service, find_upload(service, upload_id)))
        if upload.state == "committed":
            return await anyio.to_thread.run_sync(committed_answer, service, upload)
        await asyncio.sleep(VARIANT_POLL)
    return pending
