"""Syncing a project directory with its project: push what is new here, pull what is new there, in one step.

One sync: scan the directory; read the head on chain; if it moved since the base, fetch its manifest (checked
against the head's sha256) and merge three-way (mediaproof.sync.merge); ask the upload service which of the bytes
the merge needs it lacks and send only those (bytes already stored anywhere are never sent again; bytes stored but
not readable by this wallet are proven held with a nonce instead); fetch into staging every byte the directory
lacks (each checked against its sha256); store the manifest; journal; commit on chain as compare-and-swap on the
head's version; then make the directory equal the result. A commit that lost the race (StaleVersion) starts over
from the new head with the same base, so the other device's work is merged, never overwritten.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from mediaproof import faults
from mediaproof.chain import MediaproofChain
from mediaproof.clients.download import DownloadClient
from mediaproof.clients.upload import UploadClient
from mediaproof.errors import ContentMismatch, ContractRefused, InputError, NotFound, NotRegistered, StaleVersion
from mediaproof.project_access import ProjectHead
from mediaproof.projects.possession import answer
from mediaproof.projects.registry import ProjectRegistry, Version
from mediaproof.projects.workdir import Workdir
from mediaproof.settings import Settings
from mediaproof.sync.manifest import ProjectManifest
from mediaproof.sync.merge import Conflict, Side, merge

MAX_ROUNDS = 8  # commits lost to other devices in a row before giving up (each round merges their work)
MISSING_BATCH = 10_000  # hashes per `missing` question (the service's limit)
PARALLEL_SENDS = 4  # small files sent at once: within the upload service's 8 in flight per wallet


@dataclass
class SyncReport:
    project: str
    version: int = 0
    committed: bool = False
    tx: str | None = None
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    proven_files: int = 0
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    deleted_files: int = 0
    rounds: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "version": self.version,
            "committed": self.committed,
            "tx": self.tx,
            "uploaded_files": self.uploaded_files,
            "uploaded_bytes": self.uploaded_bytes,
            "proven_files": self.proven_files,
            "downloaded_files": self.downloaded_files,
            "downloaded_bytes": self.downloaded_bytes,
            "deleted_files": self.deleted_files,
            "rounds": self.rounds,
            "conflicts": self.conflicts,
        }


def _conflict_json(conflict: Conflict) -> dict[str, Any]:
    return {"path": conflict.path, "moved_to": conflict.moved_to, "author": conflict.moved_author}


@contextmanager
def connected(
    settings: Settings,
    account: LocalAccount | None = None,
    upload_url: str | None = None,
    download_url: str | None = None,
    notify: Callable[[str], None] = lambda _: None,
) -> Iterator[Syncer]:
    """A Syncer for the configured chain and services, signed in with `account` (default: the settings' key)."""
    chain = MediaproofChain.from_settings(settings)
    account = account or chain.account(settings.private_key)
    registry = ProjectRegistry(chain, account)
    with UploadClient(
        upload_url or settings.resolved_upload_url(), settings.http_timeout, account, chain.chain_id
    ) as up:
        token = up.sign_in()  # the download service knows the same sessions: private projects need one
        with DownloadClient(download_url or settings.resolved_download_url(), token=token) as down:
            yield Syncer(
                registry,
                up,
                down,
                notify=notify,
                max_file_bytes=settings.max_upload_bytes,
                resumable_above=settings.upload_resumable_above,
            )


def refresh_history(registry: ProjectRegistry, workdir: Workdir) -> list[Version]:
    """The directory's cached history, brought up to the chain's (only versions after the last one known)."""
    known = workdir.history()
    after = known[-1].version if known else 0
    from_block = known[-1].block if known else None
    return workdir.remember(registry.versions(workdir.project.project_id, after, from_block))


class Syncer:
    """The network side of a project directory: the registry on chain, and the upload and download services."""

    def __init__(
        self,
        registry: ProjectRegistry,
        upload: UploadClient,
        download: DownloadClient,
        notify: Callable[[str], None] = lambda _: None,
        max_file_bytes: int | None = None,
        resumable_above: int | None = None,
    ) -> None:
        self.registry = registry
        self.max_file_bytes = max_file_bytes
        self.resumable_above = resumable_above
        self.upload = upload
        self.download = download
        self.notify = notify
        if registry.account is None:
            raise InputError("syncing needs a wallet key (MEDIAPROOF_PRIVATE_KEY)")
        self.me = registry.account.address

    # ---- reads --------------------------------------------------------------------------------------------------

    def manifest_of(self, pid: bytes, sha256: bytes, cid: str) -> ProjectManifest:
        data = self.download.manifest("0x" + pid.hex(), cid)
        if hashlib.sha256(data).digest() != sha256:
            raise ContentMismatch(f"the manifest {cid} served for project 0x{pid.hex()} is not the one on chain")
        return ProjectManifest.decode(data)

    def committer_of(self, workdir: Workdir, version: int) -> str:
        for item in reversed(refresh_history(self.registry, workdir)):
            if item.version == version:
                return item.committer
        raise InputError(f"version {version} of project {workdir.project.pid_hex} has no commit on chain")

    # ---- the steps ----------------------------------------------------------------------------------------------

    def recover(self, workdir: Workdir) -> None:
        """Finishes a sync an interruption left between its journal and its end, or forgets it when its commit
        never happened (then nothing had been changed in the directory)."""
        journal = workdir.journal()
        if journal is None:
            return
        target = ProjectManifest.decode(journal["manifest"].encode())
        head = self.registry.head(workdir.project.project_id)
        expected = int(journal["version"])
        if head.version >= expected and self._is_version(workdir, expected, target):
            self.notify(f"finishing the sync interrupted at version {expected}")
            workdir.apply(target, workdir.scan())
            workdir.set_base(expected, journal["cid"], target)
        workdir.clear_journal()
        workdir.clear_staging()

    def _is_version(self, workdir: Workdir, version: int, target: ProjectManifest) -> bool:
        for item in refresh_history(self.registry, workdir):
            if item.version == version:
                return item.manifest_sha256 == target.sha256().hex()
        return False

    def _push(
        self,
        workdir: Workdir,
        pid: bytes,
        target: ProjectManifest,
        theirs: ProjectManifest,
        local: ProjectManifest,
        report: SyncReport,
    ) -> dict[str, str]:
        """Sends the bytes `target` has that the project's head lacks and the service has nowhere; the possession
        answers for bytes stored but not readable by this wallet."""
        theirs_bytes = {entry.sha256 for entry in theirs.values()}
        ours = workdir.local_paths_by_sha(local)
        wanted = sorted({entry.sha256 for entry in target.values()} - theirs_bytes)
        wanted = [sha for sha in wanted if sha in ours]  # bytes only they have are theirs to have sent
        possession: dict[str, str] = {}
        pid_hex = "0x" + pid.hex()
        for start in range(0, len(wanted), MISSING_BATCH):
            batch = [sha.hex() for sha in wanted[start : start + MISSING_BATCH]]
            answer_ = self.upload.missing(pid_hex, batch)
            paths = {sha_hex: workdir.root / ours[bytes.fromhex(sha_hex)] for sha_hex in answer_.get("missing", [])}
            big = {sha: path for sha, path in paths.items() if self._resumable(path)}
            # Small files go several at a time (each request waits on a cluster's IPFS node more than on the
            # wire); big ones one by one, resumably, each at full speed.
            small = [(sha, path) for sha, path in paths.items() if sha not in big]
            with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
                report.uploaded_bytes += sum(pool.map(lambda item: self._put(pid_hex, *item), small))
            for sha_hex, path in big.items():
                report.uploaded_bytes += self._send_resumably(workdir, pid_hex, sha_hex, path)
            report.uploaded_files += len(paths)
            for sha_hex, nonce in answer_.get("prove", {}).items():
                possession[sha_hex] = answer(nonce, workdir.root / ours[bytes.fromhex(sha_hex)])
                report.proven_files += 1
        return possession

    def _put(self, pid_hex: str, sha_hex: str, path: Path) -> int:
        self.upload.put_blob(pid_hex, sha_hex, path)
        return path.stat().st_size

    def _resumable(self, path: Path) -> bool:
        return self.resumable_above is not None and path.stat().st_size > self.resumable_above

    def _send_resumably(self, workdir: Workdir, pid_hex: str, sha_hex: str, path: Path) -> int:
        """Sends one big file by tus; the bytes that went over the wire. The upload's URL is kept in the directory
        until it is done, so a sync cut off mid-file resumes it."""
        size = path.stat().st_size
        location = workdir.upload_locations().get(sha_hex)
        if location is not None:
            try:
                self.upload.resumable_offset(location)
            except (NotFound, NotRegistered):
                location = None  # expired or removed: start again
        if location is None:
            location = self.upload.create_resumable(size, {"project": pid_hex, "sha256": sha_hex})
            workdir.set_upload_location(sha_hex, location)
        done = self.upload.upload_resumable(path, location=location)
        workdir.set_upload_location(sha_hex, None)
        return done.sent_bytes

    def _stage(
        self, workdir: Workdir, pid: bytes, target: ProjectManifest, local: ProjectManifest, report: SyncReport
    ) -> None:
        """Puts into staging every byte `target` places where the directory has other bytes: copied from a local
        file that has them, else downloaded and checked."""
        ours = workdir.local_paths_by_sha(local)
        for path, entry in target.items():
            have = local.get(path)
            if have is not None and have.sha256 == entry.sha256:
                continue
            if workdir.staged(entry.sha256).exists():
                continue
            if entry.sha256 in ours:
                workdir.stage_local_copy(entry.sha256, ours[entry.sha256])
                continue
            written = self.download.fetch_blob("0x" + pid.hex(), entry.sha256.hex(), workdir.staged(entry.sha256))
            report.downloaded_files += 1
            report.downloaded_bytes += written

    def sync(self, workdir: Workdir, restore: ProjectManifest | None = None) -> SyncReport:
        """Pushes and pulls (see the module docstring). `restore`: commit this manifest (an earlier version's) as
        the new head instead of the merge, once the directory's own changes are safely in a version."""
        self.recover(workdir)
        pid = workdir.project.project_id
        report = SyncReport(project=workdir.project.pid_hex)
        base, base_version = workdir.base(), workdir.version
        local = workdir.scan(self.max_file_bytes, base)
        for round_ in range(1, MAX_ROUNDS + 1):
            report.rounds = round_
            head = self.registry.head(pid)
            theirs = (
                base if head.version == base_version else self.manifest_of(pid, head.manifest_sha256, head.manifest_cid)
            )
            if head.version < base_version:
                raise InputError(
                    f"the project is at version {head.version} on chain but this directory was at {base_version}: "
                    "is it linked to another chain?"
                )
            author = self.me if head.version in (0, base_version) else self.committer_of(workdir, head.version)
            merged = merge(base, Side(local, self.me), Side(theirs, author))
            target = merged.manifest
            if restore is not None and target == theirs:
                target = restore  # the directory's own changes are all in the head: history keeps them
            possession = self._push(workdir, pid, target, theirs, local, report)
            self._stage(workdir, pid, target, local, report)
            try:
                version, cid = self._commit(workdir, pid, head, target, theirs, possession, report)
            except StaleVersion as exc:
                self.notify(f"version {head.version} was taken by another device (now {exc.current}); merging")
                continue
            report.conflicts = [_conflict_json(c) for c in merged.conflicts] if target is merged.manifest else []
            report.deleted_files = sum(1 for p in local if p not in target)
            workdir.apply(target, local)
            if version != base_version or target != base:  # a sync that found nothing to do writes nothing
                workdir.set_base(version, cid, target)
            workdir.clear_journal()
            workdir.clear_staging()
            report.version = version
            refresh_history(self.registry, workdir)  # so `log` can show this version offline
            if restore is not None and target is not restore:
                # The directory had work of its own: it is now a version; restore on top of it.
                base, base_version = target, version
                local = workdir.scan(self.max_file_bytes, base)
                continue
            return report
        raise InputError(f"{MAX_ROUNDS} commits in a row lost to other devices; sync again")

    def _commit(
        self,
        workdir: Workdir,
        pid: bytes,
        head: ProjectHead,
        target: ProjectManifest,
        theirs: ProjectManifest,
        possession: dict[str, str],
        report: SyncReport,
    ) -> tuple[int, str]:
        """Stores `target` and moves the head to it (journalled); the head's own version when nothing changed."""
        if target == theirs:
            return head.version, head.manifest_cid
        stored = self.upload.post_manifest("0x" + pid.hex(), target.encode().decode(), possession)
        cid = str(stored["cid"])
        workdir.write_journal(
            {"version": head.version + 1, "cid": cid, "manifest": target.encode().decode(), "at": time.time()}
        )
        faults.point("sync-staged")
        try:
            report.tx = self.registry.commit(pid, head.version, target.sha256(), cid)
        except ContractRefused:
            workdir.clear_journal()  # refused: it never happened. Any other failure leaves the journal for recover()
            raise
        faults.point("sync-committed")
        report.committed = True
        return head.version + 1, cid

    def restore(self, workdir: Workdir, version: int) -> SyncReport:
        """A new commit equal to `version` (after the directory's own changes are committed); the directory equals
        that version byte for byte afterwards."""
        if version < 1:
            raise InputError(f"version {version}: versions start at 1")
        history = refresh_history(self.registry, workdir)
        wanted = next((item for item in history if item.version == version), None)
        if wanted is None:
            latest = history[-1].version if history else 0
            raise InputError(f"project {workdir.project.pid_hex} has no version {version} (latest {latest})")
        manifest = self.manifest_of(
            workdir.project.project_id, bytes.fromhex(wanted.manifest_sha256), wanted.manifest_cid
        )
        return self.sync(workdir, restore=manifest)
