"""Bytes nothing needs any more leave every cluster: after a delete, and when uploads never committed expire.

Bytes are needed while an undeleted record links to them (as original or rendition), while an upload of them is
not yet committed (stored, prepared, anchoring), or while a project's manifest names them (project_blobs,
project_manifests: a project keeps every version, so they are never unpinned). De-duplication lets many wallets'
uploads share one copy, so one wallet's delete must not take the bytes another wallet's accepted upload relies on.
The check and the unpin happen
under the bytes' lock, which an upload of the same bytes also holds from its placement to its row, so an upload
arriving mid-delete either counts or stores its bytes afresh.

Clusters garbage-collect their IPFS repos after an unpin (mediaproof.storage.gc): unpinned here means gone there.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from mediaproof.errors import MediaproofError

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

logger = logging.getLogger(__name__)


def in_use(service: Service, sha256: str) -> bool:
    """Whether a live record, an upload not yet committed, or a project (its files and manifests, and bytes sent
    for one within MEDIAPROOF_UPLOAD_TTL whose manifest may still come) needs these bytes."""
    store = service.store()
    if store.live_links_to(sha256) > 0:
        return True
    projects = service.projects.store
    if projects.in_any_project(sha256) or projects.uploaded_since(sha256, time.time() - service.settings.upload_ttl):
        return True
    return service.ledger().open_uploads_of(store.originals_using(sha256)) > 0


def release(service: Service, original: str) -> dict[str, list[int]]:
    """Unpin an original and its renditions wherever nothing needs them; sha256 → the clusters that let go.

    Once the original itself is unneeded its renditions, variant job and spooled copy are forgotten too, so a later
    upload of the same bytes starts afresh (stored and its variants made again)."""
    with service.blob_lock(original):
        store = service.store()
        renditions = store.renditions_of(original)
        unpinned: dict[str, list[int]] = {}
        for sha in [original, *(r.sha256 for name, r in renditions.items() if name != "original")]:
            if not in_use(service, sha) and store.placements(sha):
                unpinned[sha] = service.placer.unpin(store, sha)
        if not in_use(service, original):
            store.drop_renditions(original)
            service.variants.forget(original)
            service.spool.drop(original)
        return unpinned


def expire_uploads(service: Service, now: float | None = None) -> int:
    """Remove uploads never committed within MEDIAPROOF_UPLOAD_TTL and release their bytes, and resumable uploads
    past their Upload-Expires with their partial files; how many went.

    An upload whose variants are still being made waits for the next sweep, so no rendition is stored after its
    bytes were released."""
    now = time.time() if now is None else now
    ledger = service.ledger()
    removed = service.partials.remove_expired(now)
    for upload in ledger.expired(now - service.settings.upload_ttl):
        job = service.variants.job(upload.sha256)
        if job is not None and job.state in ("pending", "running"):
            continue
        with service.commit_lock(upload.upload_id):  # a commit in progress wins: it takes the upload first
            if not ledger.remove_expired(upload.upload_id):
                continue
        removed += 1
        try:
            gone = release(service, upload.sha256)
        except MediaproofError as exc:  # a cluster away: its copy stays placed; the observer's repair walk sees it
            logger.warning("upload %s expired; its bytes could not all be released yet: %s", upload.upload_id, exc)
            continue
        logger.info("upload %s expired uncommitted; unpinned %s", upload.upload_id, sorted(gone) or "nothing")
    return removed
