"""Where to read a blob from: the clusters that hold it, in ring preference order, the failing ones last.

The topology (endpoints, statuses) comes from the deployment file at once and from StorageTopology on chain every
few seconds after; the ring is rebuilt only when the topology changes, in the background (it takes seconds).
A cluster that failed a read is tried last for a while, so one dead node costs one failed attempt, not one per read.
Clusters serve bytes only to gateways: every read is signed with the gateway key (chain.gateway_account).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import Any, cast

import anyio.to_thread
import httpx
from eth_account.signers.local import LocalAccount

from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.deployment import read_deployment
from mediaproof.errors import MediaproofError, NotRegistered, StorageError
from mediaproof.ring import ClusterRing
from mediaproof.settings import Settings
from mediaproof.topology import Cluster, ClusterStatus

logger = logging.getLogger(__name__)
SUSPECT_SECONDS = 10.0
CONNECT_TIMEOUT = 2.0


@dataclass
class Topology:
    clusters: dict[int, Cluster]
    ring: ClusterRing | None = None  # None until built

    def readable(self, cluster_id: int) -> bool:
        view = self.clusters.get(cluster_id)
        return view is not None and view.status in (ClusterStatus.ACTIVE, ClusterStatus.DRAINING)


def read_order(topology: Topology, sha256: str, placements: list[int], suspects: set[int]) -> list[int]:
    """Placements ∩ readable clusters, in ring preference order (placement order until the ring is built);
    clusters that failed lately go last. Without placements (not recorded), every readable cluster in ring order."""
    if topology.ring is not None:
        preferred = topology.ring.preference_list(sha256)
        held = set(placements)
        order = [c for c in preferred if (c in held or not placements) and topology.readable(c)]
    else:
        order = (
            [c for c in placements if topology.readable(c)]
            if placements
            else sorted(c for c in topology.clusters if topology.readable(c))
        )
    if suspects:
        order = [c for c in order if c not in suspects] + [c for c in order if c in suspects]
    return order


@dataclass
class Replicas:
    """Clients of every cluster, the current topology, and the clusters that failed lately."""

    settings: Settings
    topology: Topology = field(default_factory=lambda: Topology({}))
    _clients: dict[tuple[int, str], StorageClusterClient] = field(default_factory=dict)
    _gateway: LocalAccount | None = None  # signs every read; known once the chain id is (deployment file or RPC)
    _suspect_until: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _signature: tuple[Any, ...] = ()

    def start(self) -> Replicas:
        self._load_deployment()
        self._thread = threading.Thread(target=self._refresh_loop, name="topology", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for client in self._clients.values():
            client.close()

    def order(self, sha256: str, placements: list[int]) -> list[int]:
        now = time.monotonic()
        suspects = {c for c, until in self._suspect_until.items() if until > now}
        return read_order(self.topology, sha256, placements, suspects)

    def client(self, cluster_id: int) -> StorageClusterClient:
        endpoint = self.topology.clusters[cluster_id].endpoint
        client = self._clients.get((cluster_id, endpoint))
        if client is None:
            if self._gateway is None:
                raise StorageError("the download service has not read the chain yet, so it has no gateway key")
            timeout = httpx.Timeout(self.settings.http_timeout, connect=CONNECT_TIMEOUT)
            client = StorageClusterClient(endpoint, cluster_id, self._gateway, timeout=timeout)
            self._clients[(cluster_id, endpoint)] = client
        return client

    def failed(self, cluster_id: int) -> None:
        self._suspect_until[cluster_id] = time.monotonic() + SUSPECT_SECONDS

    def succeeded(self, cluster_id: int) -> None:
        self._suspect_until.pop(cluster_id, None)

    async def stream(self, sha256: str, placements: list[int], offset: int, length: int) -> AsyncGenerator[bytes, None]:
        """`length` bytes from `offset`, from the first replica that answers; a replica that breaks off is resumed
        on the next one at the byte where it stopped (the bytes are the same everywhere: named by their hash).
        Raises StorageError when no replica could deliver."""
        sent = 0
        problems = []
        for cluster_id in self.order(sha256, placements):
            if sent >= length:
                return
            try:
                chunks = cast(
                    Generator[bytes, None, None],
                    self.client(cluster_id).iter_bytes(sha256, offset + sent, length - sent),
                )
            except KeyError:
                continue
            try:
                while True:
                    chunk = await anyio.to_thread.run_sync(next, chunks, None)
                    if chunk is None:
                        break
                    if sent + len(chunk) > length:
                        chunk = chunk[: length - sent]
                    sent += len(chunk)
                    yield chunk
                    if sent >= length:
                        break
                if sent >= length:
                    self.succeeded(cluster_id)
                    return
                problems.append(f"cluster {cluster_id} ended the object early")
            except (StorageError, NotRegistered) as exc:
                problems.append(f"cluster {cluster_id}: {exc}")
            finally:
                await anyio.to_thread.run_sync(chunks.close)
            self.failed(cluster_id)
        if sent < length:
            held = ", ".join(problems) or "no readable cluster holds it"
            raise StorageError(f"no replica of {sha256} could be read ({held}); try again shortly")

    async def fetch(self, sha256: str, placements: list[int], size: int) -> bytes:
        parts = [chunk async for chunk in self.stream(sha256, placements, 0, size)]
        return b"".join(parts)

    # --- topology ---

    def _load_deployment(self) -> None:
        try:
            deployment = read_deployment(self.settings.resolved_deployment_file())
        except MediaproofError as exc:
            logger.warning("no deployment yet (%s); waiting for the chain", exc)
            return
        # Outside the try: without a usable gateway key no cluster would serve a byte, so refuse to start.
        self._gateway = gateway_account(self.settings, deployment.chain_id)
        # Until the chain answers: every cluster the deployment registered, as it registered them (Active, weight 1).
        self.topology = Topology(
            {c.id: Cluster(c.id, c.signer, 1, ClusterStatus.ACTIVE, c.endpoint, False) for c in deployment.clusters}
        )

    def _refresh_loop(self) -> None:
        chain: MediaproofChain | None = None
        while True:
            try:
                chain = chain or MediaproofChain.from_settings(self.settings)
                self.refresh(chain)
            except Exception as exc:  # keep serving on the last topology, whatever the chain does
                logger.warning("could not read the topology from chain: %s", exc)
                chain = None
            if self._stop.wait(self.settings.download_topology_refresh):
                return

    def refresh(self, chain: MediaproofChain) -> None:
        if self._gateway is None:
            self._gateway = gateway_account(self.settings, chain.chain_id)
        # The refresh loop sets the pace: ask for the head every time, read the contract only when it moved.
        clusters = chain.topology_reader.read(max_age=0).registered
        signature = tuple((c.id, c.weight, int(c.status), c.endpoint) for c in clusters)
        if signature == self._signature:
            return
        views = {c.id: c for c in clusters}
        # Serve with the new statuses at once; the ring (seconds to build) follows.
        self.topology = Topology(views, self.topology.ring if self._signature else None)
        ring = ClusterRing.from_clusters(views.values())
        self.topology = Topology(views, ring)
        self._signature = signature
        # The ring is a few big lists that live until the next change: keep the collector from walking them.
        gc.collect()
        gc.freeze()
