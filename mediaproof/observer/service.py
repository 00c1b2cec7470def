"""The observer's loop: check every cluster each interval, mark Down / Active on chain, and sweep for lost copies.

Health checks run every `observer_interval`; the repair sweep runs in its own thread at once after a cluster is
marked Down and every `observer_repair_interval` after that.

A sweep does not take the gateway's placements on trust: it first reads what each healthy cluster really holds (its
full object listing, each object with its IPFS node's word on the pin). A placement whose copy is gone (a pin
removed on the node behind the cluster's back, blocks collected) is confirmed with one HEAD, dropped, and the blob
copied again like any other blob under R.

The sweep only decides; it copies nothing itself. For each blob under R it queues one repair job per (sha256, target
cluster) with the clusters to copy from (mediaproof.jobs.queue: Procrastinate on PostgreSQL, the ledger's
`repair_jobs` on SQLite); the jobs worker makes the copy (mediaproof.jobs.repair: the target verifies and pins, then
the placement is recorded), retrying with a back-off while a cluster is away. A copy whose job already waits or runs
is not queued twice, and a job that runs late looks again before it copies, so sweeping often does no harm.

Where placements are written: the observer drops vanished ones (one short autocommit transaction each; SQLite WAL
lets it write beside the upload service), the jobs worker records repaired ones. The alternative, an upload-service
endpoint to record a placement, would make repair depend on the upload service being up.

Clusters serve object requests only to gateways: the observer signs its listings and HEADs with its own key, which
StorageTopology must list as a gateway too (`make up` approves it); its health checks need no signature. Repair
copies are signed by the jobs worker's gateway key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from mediaproof.chain import MediaproofChain, signing_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.errors import ChainError, MediaproofError, StorageError
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.queue import RepairQueue
from mediaproof.observer.health import HealthTracker, repair_targets
from mediaproof.ring import ClusterRing
from mediaproof.settings import Settings
from mediaproof.topology import Cluster, ClusterStatus, TopologyReading

logger = logging.getLogger(__name__)
OBSERVER_KEY_INDEX = 3  # anvil's key 3 on local chains (0 deploys, 2 relays uploads)
PAGE = 500
LISTING_PAGE = 1000  # a cluster's largest page of objects (one IPFS pin listing each)


def observer_account(settings: Settings, chain_id: int) -> LocalAccount:
    return signing_account(settings.observer_key, chain_id, "MEDIAPROOF_OBSERVER_KEY", OBSERVER_KEY_INDEX)


@dataclass
class Snapshot:
    """What the repair sweep works from: the ring, R, and the clusters that are Active and passing checks."""

    ring: ClusterRing
    replication: int
    healthy: set[int]
    endpoints: dict[int, str]


@dataclass
class RepairReport:
    queued: int = 0  # repair jobs queued by this sweep (a copy whose job already waits or runs is not counted)
    waiting: int = 0  # copies needed whose job was already queued or running
    failed: int = 0  # copies that could not be queued (the gateway database did not answer)
    stranded: int = 0  # blobs with no copy left anywhere to copy from
    short: int = 0  # blobs still under R for want of healthy clusters
    vanished: int = 0  # placements whose cluster no longer held the blob pinned (dropped, then repaired)


@dataclass
class Observer:
    settings: Settings
    chain: MediaproofChain
    gateway: GatewayStore
    account: LocalAccount
    repairs: RepairQueue
    tracker: HealthTracker = field(init=False)
    snapshot: Snapshot | None = None
    last_report: RepairReport = field(default_factory=RepairReport)
    sweeps: int = 0
    _ring_key: tuple[tuple[int, int, int], ...] = ()
    _ring: ClusterRing | None = None
    _ours: set[int] = field(default_factory=set)
    _clients: dict[str, StorageClusterClient] = field(default_factory=dict)
    _sweep_now: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tracker = HealthTracker(self.settings.observer_failures)
        topology = self.chain.topology.functions
        if not topology.isObserver(self.account.address).call() and topology.admin().call() != self.account.address:
            raise ChainError(
                f"{self.account.address} is not an observer of StorageTopology "
                f"{self.chain.deployment.storage_topology}: the admin must call setObserver({self.account.address}, "
                "true) (`make up` does this for the local chain)"
            )
        if not topology.isGateway(self.account.address).call():
            # Health checks still work; listings would be refused by every cluster (403) until the admin approves.
            logger.warning(
                "%s is not a gateway of StorageTopology %s: clusters will refuse its listings until the admin "
                "calls setGateway(%s, true)",
                self.account.address,
                self.chain.deployment.storage_topology,
                self.account.address,
            )
        self._ours = self._marked_down_by_us()

    # --- health ---

    def reading(self) -> TopologyReading:
        """StorageTopology as of the head block (the shared reader skips the read while the head is the same)."""
        return self.chain.topology_reader.read(max_age=0)

    def check(self, row: Cluster) -> bool:
        try:
            answer = self._client(row.id, row.endpoint, self.settings.observer_check_timeout).health()
        except StorageError:
            return False
        return int(answer.get("cluster_id", -1)) == row.id  # another cluster at that address is no copy of this one

    def check_once(self) -> None:
        """One round: check all clusters at once, set the statuses that changed, hand the sweep a new snapshot."""
        reading = self.reading()
        rows = list(reading.registered)
        with ThreadPoolExecutor(max_workers=max(1, len(rows))) as pool:
            results = dict(zip((r.id for r in rows), pool.map(self.check, rows), strict=True))
        marked_down = False
        for row in rows:
            new = self.tracker.observe(row.id, results[row.id], row.status, row.id in self._ours)
            if new is None:
                continue
            try:
                self.chain.transact(self.account, self.chain.topology.functions.setClusterStatus(row.id, int(new)))
            except ChainError as exc:
                logger.warning("could not mark cluster %d %s: %s", row.id, new.name, exc)
                continue
            logger.warning("marked cluster %d (%s) %s", row.id, row.endpoint, new.name)
            if new is ClusterStatus.DOWN:
                self._ours.add(row.id)
                marked_down = True
            else:
                self._ours.discard(row.id)
        if marked_down:
            reading = self.reading()
            rows = list(reading.registered)
        # A check or two may fail in passing; a cluster counts as gone (its copies lost) once it is to be marked Down.
        threshold = self.settings.observer_failures
        healthy = {
            r.id for r in rows if r.status is ClusterStatus.ACTIVE and self.tracker.failures.get(r.id, 0) < threshold
        }
        snapshot = Snapshot(self._ring_for(rows), reading.replication_factor, healthy, {r.id: r.endpoint for r in rows})
        with self._lock:
            previous, self.snapshot = self.snapshot, snapshot
        if marked_down or previous is None or previous.healthy != healthy:
            self._sweep_now.set()

    def _ring_for(self, rows: list[Cluster]) -> ClusterRing:
        key = tuple((r.id, r.weight, int(r.status)) for r in rows)
        if self._ring is None or key != self._ring_key:
            self._ring = ClusterRing.from_clusters(rows)
            self._ring_key = key
        return self._ring

    def _marked_down_by_us(self) -> set[int]:
        """Clusters whose latest status change was this observer marking them Down (so ours to bring back)."""
        event = self.chain.topology.events.ClusterStatusChanged()
        latest: dict[int, tuple[int, str]] = {}
        for log in event.get_logs(from_block=self.chain.deployment.block):
            latest[int(log["args"]["clusterId"])] = (int(log["args"]["status"]), str(log["args"]["changedBy"]))
        return {
            cid for cid, (status, by) in latest.items() if status == ClusterStatus.DOWN and by == self.account.address
        }

    # --- repair ---

    def sweep(self) -> RepairReport:
        """Walk every blob of the gateway database once; queue a repair copy for each that has fewer than R healthy
        copies, one job per cluster that should take one."""
        with self._lock:
            snapshot = self.snapshot
        report = RepairReport()
        if snapshot is None:
            return report
        held = self._holdings(snapshot)
        for sha256, placed in self._blobs():
            if self._stop.is_set():
                break
            holders = self._still_held(sha256, placed, held, snapshot, report)
            targets = repair_targets(sha256, holders, snapshot.ring, snapshot.healthy, snapshot.replication)
            if not targets:
                if len(set(holders) & snapshot.healthy) < snapshot.replication:
                    report.short += 1
                continue
            if not holders:
                report.stranded += 1  # no cluster is recorded as holding it: nothing to copy from
                continue
            # Healthy holders first; an unhealthy one may still serve its copy when none of those can.
            sources = [c for c in holders if c in snapshot.healthy] + [c for c in holders if c not in snapshot.healthy]
            for target in targets:
                self._queue_repair(sha256, target, sources, report)
        self.last_report = report
        self.sweeps += 1
        return report

    def _queue_repair(self, sha256: str, target: int, sources: list[int], report: RepairReport) -> None:
        try:
            queued = self.repairs.enqueue_repair(sha256, target, sources)
        except Exception as exc:  # the queue's database away: counted as failed, so the next sweep comes soon
            logger.warning("could not queue a copy of %s to cluster %d: %s", sha256, target, exc)
            report.failed += 1
            return
        if queued:
            report.queued += 1
            logger.warning("queued a copy of %s to cluster %d (sources %s)", sha256, target, sources)
        else:
            report.waiting += 1

    def _holdings(self, snapshot: Snapshot) -> dict[int, set[str]]:
        """The sha256s each healthy cluster holds pinned right now, from its own listing; a cluster that cannot
        list (down in passing, refusing us) is left out, and its placements taken on trust this sweep."""
        held: dict[int, set[str]] = {}
        for cluster_id in sorted(snapshot.healthy):
            client = self._client(cluster_id, snapshot.endpoints[cluster_id], self.settings.http_timeout)
            pinned: set[str] = set()
            after = ""
            try:
                while True:
                    page = client.list_objects(limit=LISTING_PAGE, after=after)
                    pinned.update(o["sha256"].removeprefix("0x") for o in page["objects"] if o.get("pinned"))
                    if not page.get("next"):
                        break
                    after = str(page["next"])
            except MediaproofError as exc:
                logger.warning("cluster %d could not list what it holds: %s", cluster_id, exc)
                continue
            held[cluster_id] = pinned
        return held

    def _still_held(
        self, sha256: str, placed: list[int], held: dict[int, set[str]], snapshot: Snapshot, report: RepairReport
    ) -> list[int]:
        """`placed` less the clusters that no longer hold the blob pinned, whose placements are dropped. A listing
        taken before a new upload's copy landed would miss it: each suspect is asked again (HEAD) before it goes."""
        holders = []
        for cluster_id in placed:
            if (
                cluster_id in held
                and sha256 not in held[cluster_id]
                and not self._holds_now(sha256, cluster_id, snapshot)
            ):
                self.gateway.remove_placement(sha256, cluster_id)
                report.vanished += 1
                logger.warning("cluster %d no longer holds %s pinned: placement dropped, copy to be restored",
                               cluster_id, sha256)  # fmt: skip
                continue
            holders.append(cluster_id)
        return holders

    def _holds_now(self, sha256: str, cluster_id: int, snapshot: Snapshot) -> bool:
        client = self._client(cluster_id, snapshot.endpoints[cluster_id], self.settings.http_timeout)
        try:
            return client.has(sha256)
        except MediaproofError:
            return True  # no answer is no evidence: the placement stays until a sweep can tell

    def _blobs(self) -> Iterator[tuple[str, list[int]]]:
        after = ""
        while True:
            page = self.gateway.blobs(after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][0]

    def _client(self, cluster_id: int, endpoint: str, timeout: float) -> StorageClusterClient:
        """A client of one cluster, signing as this observer (which StorageTopology lists as a gateway)."""
        key = f"{cluster_id}@{endpoint}#{timeout}"
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = StorageClusterClient(endpoint, cluster_id, self.account, timeout=timeout)
        return client

    # --- running ---

    def run(self) -> None:
        """Check every interval and sweep in a second thread, until `stop()`."""
        sweeper = threading.Thread(target=self._sweep_loop, name="repair", daemon=True)
        sweeper.start()
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.check_once()
                except Exception as exc:  # a chain hiccup must not end the observer; the next round retries
                    logger.warning("health round failed: %s", exc)
                self._stop.wait(max(0.0, self.settings.observer_interval - (time.monotonic() - started)))
        finally:
            self._stop.set()
            self._sweep_now.set()
            sweeper.join(timeout=30)
            for client in self._clients.values():
                client.close()

    def _sweep_loop(self) -> None:
        while not self._stop.is_set():
            self._sweep_now.wait(self.settings.observer_repair_interval)
            self._sweep_now.clear()
            if self._stop.is_set():
                return
            try:
                report = self.sweep()
            except Exception as exc:  # keep sweeping next time
                logger.warning("repair sweep failed: %s", exc)
                continue
            if report.queued or report.failed or report.stranded or report.short:
                logger.warning("repair sweep: %s", report)
            if report.failed:
                # A copy could not be queued (not for want of clusters): try again soon, not a whole interval later.
                self._stop.wait(self.settings.observer_interval)
                self._sweep_now.set()

    def stop(self) -> None:
        self._stop.set()
        self._sweep_now.set()
