"""The upload service's parts, built once per process from its settings: the chain, the placer, the relay, the
variant queue (its jobs run in the jobs worker, mediaproof.jobs), the batcher, the stores and limits every route
and worker shares (Service, build_service)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mediaproof import faults
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.gateway_db import SessionLock
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.queue import VariantQueue, open_queue
from mediaproof.jobs.spool import Spool, spool_of
from mediaproof.keygen import KeyGenerator
from mediaproof.project_store import ProjectStore
from mediaproof.settings import Settings
from mediaproof.upload.batch_store import BatchStore
from mediaproof.upload.batcher import Batcher
from mediaproof.upload.decode_budget import DecodeBudget, budget_from
from mediaproof.upload.intake import IncomingDirectory
from mediaproof.upload.ledger import UploadLedger
from mediaproof.upload.placement import Placer
from mediaproof.upload.projects import Projects
from mediaproof.upload.quotas import Quotas
from mediaproof.upload.registration import anchored
from mediaproof.upload.relay import Relay
from mediaproof.upload.sessions import SessionStore
from mediaproof.upload.tus_store import TusStore
from mediaproof.verify import ChainReader


@dataclass
class Service:
    settings: Settings
    chain: MediaproofChain
    placer: Placer
    relay: Relay
    keygen: KeyGenerator
    spool: Spool
    variants: VariantQueue  # enqueue only: no upload process decodes an image for variants
    incoming: Path
    reader: ChainReader
    budget: DecodeBudget  # the one decode budget of this process, for the upload checks
    sessions: SessionStore
    quotas: Quotas
    projects: Projects
    partials: TusStore  # resumable uploads in progress (mediaproof.upload.tus)
    incoming_lock: IncomingDirectory | None = None  # holds `incoming` as this process's while it lives
    batcher: Batcher | None = None
    _local: threading.local = field(default_factory=threading.local)
    _commit_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)
    _blob_locks: tuple[threading.Lock, ...] = field(default_factory=lambda: tuple(threading.Lock() for _ in range(64)))

    @property
    def store_target(self) -> Path | str:
        """The gateway database: its SQLite file, or the PostgreSQL DSN when one is set."""
        return self.settings.resolved_gateway_store()

    def store(self) -> GatewayStore:
        """This thread's connection to the gateway database (sqlite connections are not shared across threads)."""
        if not hasattr(self._local, "store"):
            self._local.store = GatewayStore(self.store_target)
        store: GatewayStore = self._local.store
        return store

    def ledger(self) -> UploadLedger:
        if not hasattr(self._local, "ledger"):
            self._local.ledger = UploadLedger(self.store_target)
        ledger: UploadLedger = self._local.ledger
        return ledger

    def batches(self) -> BatchStore:
        if not hasattr(self._local, "batches"):
            self._local.batches = BatchStore(self.store_target)
        batches: BatchStore = self._local.batches
        return batches

    @contextlib.contextmanager
    def commit_lock(self, upload_id: str) -> Iterator[None]:
        """Held while an upload is committed: a retry on another thread or upload process waits, then finds the
        commit made."""
        with self._locks_guard:
            local = self._commit_locks.setdefault(upload_id, threading.Lock())
        with local, self.store().hold(f"commit-{upload_id}"):
            yield

    @contextlib.contextmanager
    def blob_lock(self, original: str) -> Iterator[None]:
        """Held from an upload's placement to its row, and by a release from its check to its unpin, in every
        upload process (the thread lock is one of a fixed set, picked by the sha256: bounded, and rarely shared;
        threads take turns on it first, so only one thread a process waits on the database's lock)."""
        with self._blob_locks[int(original[:8], 16) % len(self._blob_locks)], self.store().hold(f"blob-{original}"):
            yield


def build_service(settings: Settings) -> Service:
    faults.arm(settings.upload_test_hold_at)
    chain = MediaproofChain.from_settings(settings)
    gateway = gateway_account(settings, chain.chain_id)
    placer = Placer(chain, gateway, settings.http_timeout)
    placer.topology()  # build the ring now, not on the first upload
    work_dir = settings.data_dir / "upload"
    incoming = IncomingDirectory.claim(work_dir / "incoming")  # and what killed processes were receiving goes
    spool = spool_of(settings.data_dir)
    target = settings.resolved_gateway_store()
    GatewayStore(target).close()  # create the tables before any reader or worker opens the database
    UploadLedger(target).close()
    BatchStore(target).close()
    relay = Relay(chain, gateway, key_lock=SessionLock(target, "gateway-key"))
    budget = budget_from(settings)
    service = Service(
        settings=settings,
        chain=chain,
        placer=placer,
        relay=relay,
        keygen=KeyGenerator(target, lease_size=settings.keygen_lease_size, label="upload"),
        spool=spool,
        variants=open_queue(target, lambda: service.ledger()),
        incoming=incoming.path,
        incoming_lock=incoming,
        reader=ChainReader(chain.w3, chain.media_app.address, chain.topology.address),
        budget=budget,
        sessions=SessionStore(target, settings.upload_nonce_lifetime, settings.upload_session_lifetime),
        quotas=Quotas(target, settings),
        projects=Projects(ProjectStore(target)),
        partials=TusStore(target, work_dir / "tus"),
    )
    service.batcher = Batcher(
        target,
        chain,
        relay,
        placer,
        settings.batch_max_files,
        settings.batch_interval,
        on_anchored=lambda entries, batch, tx: anchored(service, entries, batch, tx),
        leader=SessionLock(target, "batcher"),
    )
    return service
