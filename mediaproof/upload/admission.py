"""Admitting a received file as an upload: its content checked within the decode budget, its bytes stored on R
clusters (or found there already), its variants queued. `POST /uploads` and a finished resumable upload (tus,
mediaproof.upload.tus) both come through `admit`, so both end as the same upload.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from mediaproof.content import ContentDigest
from mediaproof.gateway_store import Rendition
from mediaproof.upload.intake import MediaFacts, Received, inspect_bounded
from mediaproof.upload.ledger import Upload
from mediaproof.upload.registration import committed_answer

if TYPE_CHECKING:
    from mediaproof.upload.service import Service


async def admit(service: Service, received: Received, uploader: str) -> dict[str, Any]:
    """Check `received` by its content and store it as an upload of `uploader`; the upload's description (with
    `upload_id`). The caller removes `received.path` afterwards: a kept file was renamed into the spool."""
    # The check waits for room in the decode budget here, in the event loop: no worker thread is held while it
    # waits, so health checks and small uploads go on during a flood of big images.
    facts = await inspect_bounded(
        service.budget, received.path, received.head, received.digest.size, scan_png=service.settings.decode_bounds
    )
    return await anyio.to_thread.run_sync(accept_upload, service, received.path, received.digest, facts, uploader)


def accept_upload(
    service: Service, path: Path, digest: ContentDigest, facts: MediaFacts, uploader: str
) -> dict[str, Any]:
    """Store the original (checked: `facts`) on R clusters (unless already there), queue its variants for `uploader`."""
    store, ledger = service.store(), service.ledger()
    sha = digest.sha256_hex
    upload_id = secrets.token_urlsafe(12)
    with service.blob_lock(sha):  # a delete or expiry of the same bytes either sees this upload or goes first
        already = bool(store.placements(sha))
        clusters = service.placer.place(store, digest, path)
        store.put_rendition(
            sha,
            Rendition("original", sha, digest.cid, digest.size, facts.media_type, facts.width, facts.height, True),
        )
        ledger.add_upload(upload_id, sha, digest.cid, digest.size, facts.media_type, facts.width, facts.height,
                          facts.duration, uploader)  # fmt: skip
    job = service.variants.job(sha)
    made = any(name != "original" for name in store.renditions_of(sha))
    if job is None or job.state == "failed" or (job.state == "done" and not made):
        if not service.spool.path(sha).exists():
            service.spool.keep(path, sha)  # the jobs worker makes the variants from this copy
        if job is not None and job.state == "done":
            service.variants.forget(sha)  # done once, but its renditions went with a delete: make them again
        service.variants.enqueue(sha, facts.media_type)
    answer = describe(service, ledger.get(upload_id))  # type: ignore[arg-type]
    answer["deduplicated"] = already
    answer["clusters"] = clusters
    return answer


def describe(service: Service, upload: Upload) -> dict[str, Any]:
    store = service.store()
    made = {
        name: {
            "sha256": r.sha256,
            "cid": r.cid,
            "size": r.size,
            "media_type": r.media_type,
            "width": r.width,
            "height": r.height,
        }
        for name, r in store.renditions_of(upload.sha256).items()
        if name != "original" and r.ready
    }
    job = service.variants.job(upload.sha256)
    answer: dict[str, Any] = {
        "upload_id": upload.upload_id,
        "sha256": upload.sha256,
        "cid": upload.cid,
        "media_type": upload.media_type,
        "size": upload.size,
        "width": upload.width,
        "height": upload.height,
        "variants": made,
        "variants_state": job.state if job else "none",
        "state": upload.state,
    }
    if upload.duration is not None:
        answer["duration"] = upload.duration
    if upload.state == "committed":
        answer.update(committed_answer(service, upload))
    return answer
