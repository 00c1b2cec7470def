"""Projects on the upload service: which hashes a writer must send or prove, storing a project's blobs (any bytes),
and accepting a manifest whose every file is stored and readable by the wallet that posts it.

A hash is "readable" by a wallet when the wallet sent those bytes itself, when they are public media, or when they
are in a project the wallet may read. Any other stored hash must be proven: the wallet answers a fresh single-use
nonce with sha256(nonce || bytes) (mediaproof.sync.possession) before a manifest of its may name it, so knowing a
hash is never enough to read its bytes through a project of one's own.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediaproof.content import ContentDigest, digest_bytes
from mediaproof.errors import Forbidden, InputError, MediaproofError, StorageError, UploadConflict
from mediaproof.project_access import ProjectAccess, parse_sha
from mediaproof.project_store import ProjectStore, StoredManifest
from mediaproof.sync import possession
from mediaproof.sync.manifest import ProjectManifest

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

MAX_HASHES = 10_000  # per call of `missing`
NONCE_LIFETIME = 600.0  # seconds a possession nonce may be answered
NAMED = 5  # hashes a refusal names at most


@dataclass
class Projects:
    """The project tables and the chain's view of who may write; the registry is looked up on first use, so a
    deployment made before projects existed still serves media."""

    store: ProjectStore
    _access: ProjectAccess | None = field(default=None, repr=False)

    def access(self, service: Service) -> ProjectAccess:
        if self._access is None:
            self._access = ProjectAccess(service.chain.w3, service.chain.deployment.project_registry)
        return self._access


def parse_hashes(body: dict[str, Any]) -> list[str]:
    hashes = body.get("sha256")
    if not isinstance(hashes, list):
        raise InputError('the body must be {"sha256": ["<64 hex>", ...]}: a list of the hashes you hold')
    if len(hashes) > MAX_HASHES:
        raise InputError(f"{len(hashes)} hashes in one call, over the {MAX_HASHES} allowed: ask in several calls")
    return [parse_sha(h) for h in hashes]


def require_writer(service: Service, pid: str, wallet: str) -> None:
    """NotRegistered (404) for an unknown project, Forbidden (403) unless `wallet` may commit to it."""
    access = service.projects.access(service)
    access.head(pid)
    if not access.can_write(pid, wallet):
        raise Forbidden(f"{wallet} (signed in) may not write to project {pid}: its owner must grant it write access")


def stored(service: Service, sha: str) -> tuple[str, int] | None:
    """(CID, size) of bytes stored on some cluster now, whether as media or as a project blob; None otherwise."""
    store = service.store()
    if not store.placements(sha):
        return None
    found = service.projects.store.stored_object(sha)
    return (found.cid, found.size) if found is not None else store.named(sha)


def readable(service: Service, pid: str, wallet: str, sha: str) -> bool:
    """Whether `wallet` (a writer of `pid`) may already read these bytes: no proof of possession needed."""
    projects = service.projects.store
    if projects.in_project(pid, sha) or projects.uploaded_by(sha, wallet) or service.ledger().sent_by(sha, wallet):
        return True
    if service.store().live_links_to(sha) > 0:  # public media: anyone downloads it at /m/
        return True
    access = service.projects.access(service)
    return any(access.can_read(other, wallet) for other in projects.projects_with(sha) if other != pid)


def hold_for_project(service: Service, sha: str, wallet: str) -> bool:
    """Bytes of `wallet`'s own media upload, told not to be sent: recorded as sent for a project now, so the
    upload's expiry cannot release them before the manifest comes (MEDIAPROOF_UPLOAD_TTL, as for bytes sent). False
    when a release took them first. Under the bytes' lock, which a release holds from its check to its unpin."""
    with service.blob_lock(sha):
        found = stored(service, sha)
        if found is None:
            return False
        service.projects.store.record_upload(sha, found[0], found[1], wallet)
        return True


def missing(service: Service, pid: str, wallet: str, hashes: list[str]) -> dict[str, Any]:
    """`missing`: bytes no cluster holds (send them); `prove`: stored but unreadable for `wallet`, each with a
    fresh nonce to answer when posting the manifest. Hashes it may already read are in neither; those of its own
    media uploads are held for the project from now (hold_for_project)."""
    require_writer(service, pid, wallet)
    absent: list[str] = []
    prove: dict[str, str] = {}
    expires = time.time() + NONCE_LIFETIME
    for sha in dict.fromkeys(hashes):
        if stored(service, sha) is None:
            absent.append(sha)
        elif service.ledger().sent_by(sha, wallet):
            if not hold_for_project(service, sha, wallet):
                absent.append(sha)  # released just now: the expiry went first
        elif not readable(service, pid, wallet, sha):
            nonce = secrets.token_hex(32)
            service.projects.store.issue_nonce(nonce, wallet, sha, expires)
            prove[sha] = nonce
    return {"missing": absent, "prove": prove}


def store_project_blob(service: Service, path: Path, digest: ContentDigest, wallet: str) -> dict[str, Any]:
    """Store a verified local file (its `digest` computed from these very bytes) as a project blob on R clusters,
    unless they hold it already, and record that `wallet` sent it (so it may read it). Membership in a project
    comes only with a manifest. The tus endpoint calls this when an upload with metadata `project` finishes."""
    sha = digest.sha256_hex
    store = service.store()
    with service.blob_lock(sha):  # a release of the same bytes either sees this upload or goes first
        already = bool(store.placements(sha))
        clusters = service.placer.place(store, digest, path)
        service.projects.store.record_upload(sha, digest.cid, digest.size, wallet)
    return {"sha256": sha, "cid": digest.cid, "size": digest.size, "deduplicated": already, "clusters": clusters}


def accept_manifest(service: Service, pid: str, wallet: str, text: object, proofs: object) -> dict[str, Any]:
    """Check a manifest (canonical; every file stored under its CID and size, and readable by `wallet` or proven),
    store its bytes on R clusters and record it and its files as the project's. The client commits it on chain."""
    require_writer(service, pid, wallet)
    if not isinstance(text, str):
        raise InputError('the body must be {"manifest": "<canonical manifest text>", "possession": {...}}')
    if proofs is None:
        proofs = {}
    if not isinstance(proofs, dict) or not all(isinstance(v, str) for v in proofs.values()):
        raise InputError('possession must be an object {"<sha256>": "<hex answer>"}')
    answers = {parse_sha(sha, "possession key"): value for sha, value in proofs.items()}
    data = text.encode()
    manifest = ProjectManifest.decode(data)
    entries = {entry.sha256.hex(): (path, entry) for path, entry in manifest.items()}
    absent = [sha for sha in entries if stored(service, sha) is None]
    if absent:
        raise UploadConflict(f"{len(absent)} file(s) of the manifest are not stored, first "
                             f"{', '.join(absent[:NAMED])}: PUT their bytes to /projects/{pid}/blobs/<sha256>, "
                             "then post the manifest again")  # fmt: skip
    spend: list[str] = []
    for sha, (path, entry) in entries.items():
        known = stored(service, sha)
        assert known is not None
        if (entry.cid, entry.size) != known:
            raise InputError(f"manifest file {path!r} names sha256 {sha} with CID {entry.cid} and size {entry.size}, "
                             f"but those bytes are stored as {known[0]}, {known[1]} bytes: fix the entry")  # fmt: skip
        if readable(service, pid, wallet, sha):
            continue
        if sha not in answers:
            raise Forbidden(f"{wallet} has no read access to sha256 {sha} ({path!r}): ask /projects/{pid}/missing "
                            "for a nonce and send sha256(nonce || bytes) in possession")  # fmt: skip
        spend.append(_proven(service, wallet, sha, answers[sha]))
    cid, kept = _store_manifest(service, data)
    if not service.projects.store.commit_manifest(pid, cid, kept, list(entries), spend, wallet):
        raise Forbidden("a possession nonce of this manifest was spent by another request meanwhile: ask "
                        f"/projects/{pid}/missing again and answer the new nonces")  # fmt: skip
    return {"cid": cid, "sha256": kept.sha256, "size": kept.size}


def _store_manifest(service: Service, data: bytes) -> tuple[str, StoredManifest]:
    digest = digest_bytes(data)
    store = service.store()
    with service.blob_lock(digest.sha256_hex):
        service.placer.place(store, digest, data)
    return digest.cid, StoredManifest(digest.sha256_hex, digest.size, data)


def _proven(service: Service, wallet: str, sha: str, given: str) -> str:
    """The unspent nonce of `wallet` for `sha` that `given` answers; Forbidden naming the hash otherwise."""
    candidates = service.projects.store.open_nonces(wallet, sha, time.time())
    expected = _answers(service, sha, candidates) if candidates else {}
    for nonce, answer in expected.items():
        if secrets.compare_digest(answer, given.lower().removeprefix("0x")):
            return nonce
    raise Forbidden(
        f"the possession answer for sha256 {sha} is not sha256(nonce || bytes) for an unspent nonce issued to "
        f"{wallet}: ask /projects/<pid>/missing for a fresh nonce and answer it from the file"
    )


def _answers(service: Service, sha: str, nonces: list[str]) -> dict[str, str]:
    """nonce -> the right answer, from the stored bytes of `sha` streamed once from a holder."""
    errors: list[str] = []
    for cluster_id in service.store().placements(sha):
        digests = {nonce: possession.hasher(nonce) for nonce in nonces}
        try:
            for chunk in service.placer.client(cluster_id).iter_bytes(sha):
                for digest in digests.values():
                    digest.update(chunk)
        except (MediaproofError, KeyError) as exc:
            errors.append(f"cluster {cluster_id}: {exc}")
            continue
        return {nonce: digest.hexdigest() for nonce, digest in digests.items()}
    raise StorageError(f"no cluster could give back sha256 {sha} to check a possession answer "
                       f"({'; '.join(errors) or 'no copies'}): try again shortly")  # fmt: skip
