"""Where blobs live: R clusters picked by the ring from StorageTopology, the copies recorded in the gateway DB.

Bytes already held (per the gateway's placements, confirmed by each cluster) are never sent again: a holder
answers a fresh receipt for them. Only clusters that lack a copy get the bytes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mediaproof.chain import MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.errors import NotRegistered, StorageError
from mediaproof.gateway_store import GatewayStore
from mediaproof.ring import ClusterRing, ClusterStatus
from mediaproof.storage.client import StorageClusterClient, StoredReceipt

TOPOLOGY_TTL = 2.0  # seconds a read of StorageTopology is trusted: cluster status changes are rare and slow

Source = Path | bytes | Callable[[], Path]  # the bytes, a file, or a way to get a file when a copy must be made


@dataclass(frozen=True)
class Topology:
    ring: ClusterRing
    endpoints: dict[int, str]
    statuses: dict[int, ClusterStatus]
    replication_factor: int

    def active(self, cluster_id: int) -> bool:
        return self.statuses.get(cluster_id) is ClusterStatus.ACTIVE


class Placer:
    """Stores blobs on R distinct active clusters and gathers their receipts. Thread-safe."""

    def __init__(self, chain: MediaproofChain, timeout: float) -> None:
        self._chain = chain
        self._timeout = timeout
        self._lock = threading.Lock()
        self._clients: dict[str, StorageClusterClient] = {}
        self._topology: Topology | None = None
        self._key: tuple[Any, ...] | None = None
        self._read_at = 0.0

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def topology(self) -> Topology:
        """StorageTopology as of at most TOPOLOGY_TTL ago; the ring is rebuilt only when a cluster changed."""
        with self._lock:
            if self._topology is None or time.monotonic() - self._read_at > TOPOLOGY_TTL:
                clusters = [tuple(c) for c in self._chain.topology.functions.clusters().call()]
                factor = int(self._chain.topology.functions.replicationFactor().call())
                key = (tuple((c[0], c[2], c[3]) for c in clusters), factor)
                if key != self._key or self._topology is None:
                    self._topology = Topology(
                        ring=ClusterRing.from_clusters(clusters),
                        endpoints={int(c[0]): str(c[4]) for c in clusters},
                        statuses={int(c[0]): ClusterStatus(int(c[3])) for c in clusters},
                        replication_factor=factor,
                    )
                    self._key = key
                self._read_at = time.monotonic()
            return self._topology

    def client(self, cluster_id: int) -> StorageClusterClient:
        endpoint = self.topology().endpoints[cluster_id]
        with self._lock:
            if endpoint not in self._clients:
                self._clients[endpoint] = StorageClusterClient(endpoint, timeout=self._timeout)
            return self._clients[endpoint]

    def place(self, store: GatewayStore, digest: ContentDigest, source: Source, title: str = "") -> list[StoredReceipt]:
        """R receipts for these bytes from distinct active clusters, sending the bytes only where they are missing.

        Holders first (the gateway's placements, then the ring's choice); every cluster that signs is recorded.
        """
        topology = self.topology()
        factor = topology.replication_factor
        sha = digest.sha256_hex
        holders = [c for c in store.placements(sha) if topology.active(c)]
        # The ring's picks, then the rest of the active clusters in ring order, so a lost copy finds a new home.
        ring_order = topology.ring.place(digest.sha256, len(topology.ring.active_ids))
        candidates = holders + [c for c in ring_order if c not in holders]
        receipts: list[StoredReceipt] = []
        failures: list[str] = []
        # First ask the holders for fresh receipts: no bytes move for a copy that exists.
        for cluster_id, answer in self._each(holders[:factor], lambda c: self.client(c).receipt(digest.sha256)):
            if isinstance(answer, StoredReceipt) and answer.cid == digest.cid and answer.size == digest.size:
                receipts.append(answer)
            else:
                store.remove_placement(sha, cluster_id)  # the cluster lost it, or is down: look further
                failures.append(f"cluster {cluster_id}: {answer if isinstance(answer, Exception) else 'copy lost'}")
        remaining = [c for c in candidates if c not in {r.cluster_id for r in receipts} and c not in holders[:factor]]
        path_or_bytes: Path | bytes | None = None
        while len(receipts) < factor and remaining:
            batch, remaining = remaining[: factor - len(receipts)], remaining[factor - len(receipts) :]
            data = path_or_bytes = path_or_bytes if path_or_bytes is not None else _materialise(source)
            for cluster_id, answer in self._each(batch, partial(self._store, digest=digest, source=data, title=title)):
                if isinstance(answer, StoredReceipt):
                    receipts.append(answer)
                else:
                    failures.append(f"cluster {cluster_id}: {answer}")
        for receipt in receipts:
            store.add_placement(sha, receipt.cluster_id)
        if len(receipts) < factor:
            raise StorageError(
                f"only {len(receipts)} of the {factor} storage clusters required could store sha256 {sha} "
                f"({'; '.join(failures) or 'too few active clusters'}); try again when clusters are back"
            )
        return receipts

    def _store(self, cluster_id: int, *, digest: ContentDigest, source: Path | bytes, title: str) -> StoredReceipt:
        client = self.client(cluster_id)
        body: Any = [source] if isinstance(source, bytes) else source
        return client.store(body, sha256=digest.sha256, cid=digest.cid, size=digest.size, title=title)

    def _each(self, cluster_ids: list[int], call: Callable[[int], Any]) -> list[tuple[int, Any]]:
        """`call` on every cluster at once; each answer or the exception it raised, in order."""
        if not cluster_ids:
            return []

        def guarded(cluster_id: int) -> Any:
            try:
                return call(cluster_id)
            except (StorageError, NotRegistered, OSError) as exc:
                return exc

        with ThreadPoolExecutor(max_workers=len(cluster_ids)) as pool:
            return list(zip(cluster_ids, pool.map(guarded, cluster_ids), strict=True))

    def fetch_to(self, store: GatewayStore, sha256: str, target: Path) -> Path:
        """Copy a stored blob from any cluster holding it into `target` (for variants after a restart)."""
        topology = self.topology()
        errors = []
        holders = store.placements(sha256) or topology.ring.preference_list(sha256)
        for cluster_id in holders:
            if cluster_id not in topology.endpoints:
                continue
            try:
                with target.open("wb") as out:
                    for chunk in self.client(cluster_id).iter_bytes(sha256):
                        out.write(chunk)
                return target
            except StorageError as exc:
                errors.append(str(exc))
        raise StorageError(f"no storage cluster could give back sha256 {sha256}: {'; '.join(errors) or 'no copies'}")

    def unpin(self, store: GatewayStore, sha256: str) -> list[int]:
        """Remove every copy of a blob from its clusters and the placements; returns the clusters that let go."""
        removed = []
        for cluster_id in store.placements(sha256):
            try:
                self.client(cluster_id).delete(sha256)
            except NotRegistered:
                pass  # already gone: nothing to undo
            except (StorageError, KeyError):
                continue  # keep the placement: the observer or a later delete can retry
            store.remove_placement(sha256, cluster_id)
            removed.append(cluster_id)
        return removed


def _materialise(source: Source) -> Path | bytes:
    return source() if callable(source) else source
