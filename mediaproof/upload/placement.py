"""Where blobs live: R clusters picked by the ring from StorageTopology, the copies recorded in the gateway DB, and
the receipts those clusters sign for one owner's record.

Bytes already held (per the gateway's placements, confirmed by each cluster) are never sent again. Receipts are
asked for only once the owner has signed the record: each is bound to that owner and record, and each cluster
checks with its IPFS node that the bytes are pinned right now before it signs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.content import ContentDigest
from mediaproof.errors import InputError, NotAuthenticated, NotRegistered, StorageError
from mediaproof.gateway_store import GatewayStore
from mediaproof.receipts import SignedReceipt
from mediaproof.ring import ClusterRing
from mediaproof.topology import ClusterStatus, TopologyReading

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

    def __init__(self, chain: MediaproofChain, gateway: LocalAccount, timeout: float) -> None:
        self._chain = chain
        self._gateway = gateway
        self._timeout = timeout
        self._lock = threading.Lock()
        self._clients: dict[str, StorageClusterClient] = {}
        self._topology: Topology | None = None
        self._reading: TopologyReading | None = None
        self._ring_key: tuple[tuple[int, int, ClusterStatus], ...] = ()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def topology(self) -> Topology:
        """StorageTopology as the chain's shared reader has it (cached for seconds); the ring, which takes seconds
        to build, is rebuilt only when a cluster's id, weight or status changed."""
        reading = self._chain.topology_reader.read()
        with self._lock:
            previous = self._topology
            if previous is not None and reading is self._reading:
                return previous
            clusters = reading.clusters
            ring_key = tuple((c.id, c.weight, c.status) for c in clusters)
            same_ring = previous is not None and ring_key == self._ring_key
            topology = Topology(
                ring=previous.ring if previous is not None and same_ring else ClusterRing.from_clusters(clusters),
                endpoints={c.id: c.endpoint for c in clusters},
                statuses={c.id: c.status for c in clusters},
                replication_factor=reading.replication_factor,
            )
            self._topology, self._ring_key, self._reading = topology, ring_key, reading
            return topology

    def client(self, cluster_id: int) -> StorageClusterClient:
        endpoint = self.topology().endpoints[cluster_id]
        with self._lock:
            if endpoint not in self._clients:
                self._clients[endpoint] = StorageClusterClient(
                    endpoint, cluster_id, gateway=self._gateway, timeout=self._timeout
                )
            return self._clients[endpoint]

    def place(self, store: GatewayStore, digest: ContentDigest, source: Source, title: str = "") -> list[int]:
        """The R distinct active clusters that hold these bytes, sending them only where they are missing.

        Holders first (the gateway's placements, each confirmed), then the ring's choice; every holder is recorded.
        """
        topology = self.topology()
        factor = topology.replication_factor
        sha = digest.sha256_hex
        holders: list[int] = []
        failures: list[str] = []
        for cluster_id, answer in self._each(
            [c for c in store.placements(sha) if topology.active(c)][:factor], lambda c: self.client(c).has(sha)
        ):
            if answer is True:
                holders.append(cluster_id)
            else:
                store.remove_placement(sha, cluster_id)  # the cluster lost it, or is down: look further
                failures.append(f"cluster {cluster_id}: {answer if isinstance(answer, Exception) else 'copy lost'}")
        # The ring's picks, then the rest of the active clusters in ring order, so a lost copy finds a new home.
        ring_order = topology.ring.place(digest.sha256, len(topology.ring.active_ids))
        remaining = [c for c in ring_order if c not in holders and c not in store.placements(sha)]
        data: Path | bytes | None = None
        while len(holders) < factor and remaining:
            batch, remaining = remaining[: factor - len(holders)], remaining[factor - len(holders) :]
            data = data if data is not None else _materialise(source)
            for cluster_id, answer in self._each(batch, partial(self._store, digest=digest, source=data, title=title)):
                if isinstance(answer, Exception):
                    failures.append(f"cluster {cluster_id}: {answer}")
                else:
                    holders.append(cluster_id)
        for cluster_id in holders:
            store.add_placement(sha, cluster_id)
        if len(holders) < factor:
            raise StorageError(
                f"only {len(holders)} of the {factor} storage clusters required could store sha256 {sha} "
                f"({'; '.join(failures) or 'too few active clusters'}); try again when clusters are back"
            )
        return holders

    def receipts(
        self, store: GatewayStore, digest: ContentDigest, record: eip712.MediaRecord, source: Source
    ) -> list[SignedReceipt]:
        """R receipts bound to `record`, from distinct active clusters that hold its bytes pinned right now.

        A holder that cannot vouch (lost the copy, IPFS down) is dropped and the bytes go to the next cluster."""
        factor = self.topology().replication_factor
        receipts: dict[int, SignedReceipt] = {}
        failures: list[str] = []
        for _attempt in range(3):
            holders = [c for c in self.place(store, digest, source) if c not in receipts]
            for cluster_id, answer in self._each(holders, lambda c: self.client(c).receipt(digest.sha256, record)):
                if isinstance(answer, SignedReceipt):
                    receipts[cluster_id] = answer
                else:
                    store.remove_placement(digest.sha256_hex, cluster_id)
                    failures.append(f"cluster {cluster_id}: {answer}")
            if len(receipts) >= factor:
                return [receipts[c] for c in sorted(receipts)][:factor]
        raise StorageError(
            f"only {len(receipts)} of the {factor} receipts required for sha256 {digest.sha256_hex} could be had "
            f"({'; '.join(failures)}); try again when clusters are back"
        )

    def _store(self, cluster_id: int, *, digest: ContentDigest, source: Path | bytes, title: str) -> object:
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
            except (StorageError, NotRegistered, NotAuthenticated, InputError, OSError) as exc:
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
        """Remove every copy of a blob from its clusters and the placements; returns the clusters that let go.

        Each placement goes before its copy, so the observer's repair walk stops counting the blob as short of
        copies; a copy it made meanwhile (from a holder not yet deleted) is recorded afterwards and taken too."""
        removed: set[int] = set()
        failed: set[int] = set()  # a cluster that failed once is not asked again in this call
        for _pass in range(3):
            holders = [c for c in store.placements(sha256) if c not in failed]
            if not holders:
                break
            for cluster_id in holders:
                store.remove_placement(sha256, cluster_id)
                try:
                    self.client(cluster_id).delete(sha256)
                except NotRegistered:
                    pass  # already gone: nothing to undo
                except (StorageError, KeyError):
                    store.add_placement(sha256, cluster_id)  # keep the placement: a later delete can retry
                    failed.add(cluster_id)
                    continue
                removed.add(cluster_id)
        return sorted(removed)


def _materialise(source: Source) -> Path | bytes:
    return source() if callable(source) else source
