"""Fixtures for tests that need real js-ipfs daemons and storage cluster processes in front of them, on a real anvil
chain with the contracts deployed (a cluster asks StorageTopology who is a gateway), all on free loopback ports.

Import them where needed: `from tests.integration.fixtures_ipfs import cluster_net, ipfs_node, storage_cluster`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from mediaproof.anvil import AnvilNode
from mediaproof.chain import MediaproofChain
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.deployment import ClusterSpec, deploy
from mediaproof.ipfs_client import IpfsClient
from mediaproof.ipfs_node import IpfsNode
from mediaproof.ports import port_of, reserve_port
from mediaproof.processes import ManagedProcess
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.storage.config import ClusterConfig
from mediaproof.storage.keys import load_or_create_signer
from mediaproof.storage.launch import config_process

ADMIN = Account.from_key(ANVIL_TEST_KEYS[0])  # deploys; StorageTopology's admin
GATEWAY = Account.from_key(ANVIL_TEST_KEYS[2])  # the gateway key `make up` uses
SPARE_GATEWAY = Account.from_key(ANVIL_TEST_KEYS[3])  # a second gateway, for tests that take one away
# Short, so a test that removes a gateway sees the cluster notice within seconds (it polls; it never sleeps a TTL).
GATEWAY_CACHE_SECONDS = 1.0


def start_ipfs_node(repo: Path) -> IpfsNode:
    return IpfsNode(repo, api_port=0, swarm_port=0, gateway_port=0).start()  # free ports, picked at start


@dataclass
class ClusterHarness:
    """One IPFS node and one storage cluster process in front of it, restartable in place."""

    node: IpfsNode
    config: ClusterConfig
    gateway: LocalAccount
    process: ManagedProcess | None = None
    client: StorageClusterClient = field(init=False)
    ipfs: IpfsClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.client_for(self.gateway)
        self.ipfs = self.node.client(timeout=30)

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    @property
    def cluster_id(self) -> int:
        return self.config.cluster_id

    def client_for(self, account: LocalAccount | None) -> StorageClusterClient:
        """A client of this cluster signing as `account` (None: unsigned)."""
        return StorageClusterClient(self.endpoint, self.cluster_id, account, timeout=60)

    def start(self) -> ClusterHarness:
        self.node.start()
        self.process = config_process(self.config).start()
        self.client = self.client_for(self.gateway)
        self.ipfs = self.node.client(timeout=30)
        return self

    def stop(self) -> None:
        self.client.close()
        self.ipfs.close()
        if self.process is not None:
            self.process.stop()
        self.node.stop()

    def restart(self) -> None:
        """Stop the service and the daemon, then start both again on the same repo, data dir and ports."""
        self.stop()
        self.start()


@dataclass
class ClusterNet:
    """anvil with the contracts deployed, and storage clusters registered in its StorageTopology."""

    anvil: AnvilNode
    chain: MediaproofChain
    clusters: list[ClusterHarness]

    def stop(self) -> None:
        for harness in self.clusters:
            harness.stop()
        self.anvil.stop()


def start_cluster_net(root: Path, clusters: int = 2, replication_factor: int = 2) -> ClusterNet:
    """Deploy on a fresh anvil (GATEWAY and SPARE_GATEWAY approved as gateways), then start `clusters` clusters."""
    anvil = AnvilNode(0, root / "anvil")
    anvil.start()
    harnesses: list[ClusterHarness] = []
    try:
        # Bound here and held until each service serves on it: the endpoints go on chain before the clusters start.
        listeners = [reserve_port() for _ in range(clusters)]
        ports = [port_of(listener) for listener in listeners]
        signers = [load_or_create_signer(root / f"cluster{i + 1}") for i in range(clusters)]
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployment = deploy(
            w3,
            ADMIN,
            network="test",
            clusters=[ClusterSpec(s, f"http://127.0.0.1:{p}") for s, p in zip(signers, ports, strict=True)],
            replication_factor=replication_factor,
            gateways=[GATEWAY.address, SPARE_GATEWAY.address],
        )
        for entry, port, listener in zip(deployment.clusters, ports, listeners, strict=True):
            node = start_ipfs_node(root / f"ipfs{entry.id}")
            config = ClusterConfig(
                cluster_id=entry.id,
                data_dir=root / f"cluster{entry.id}",
                ipfs_api=node.api_multiaddr,
                chain_id=deployment.chain_id,
                topology=deployment.storage_topology,
                rpc_url=anvil.url,
                media_app=deployment.media_app,
                port=port,
                ipfs_timeout=30.0,
                gateway_cache_seconds=GATEWAY_CACHE_SECONDS,
            )
            harness = ClusterHarness(node, config, GATEWAY)
            harnesses.append(harness)
            harness.process = config_process(config, listener=listener).start()
    except BaseException:
        for harness in harnesses:
            harness.stop()
        anvil.stop()
        raise
    return ClusterNet(anvil, MediaproofChain(w3, deployment), harnesses)


@pytest.fixture(scope="module")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsNode]:
    """A js-ipfs daemon of the module's own on loopback; its process group is stopped when the module ends."""
    node = start_ipfs_node(tmp_path_factory.mktemp("ipfs") / "repo")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def cluster_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterNet]:
    """anvil + contracts + two storage clusters (R = 2), each before its own js-ipfs daemon; stopped at module end."""
    net = start_cluster_net(tmp_path_factory.mktemp("cluster-net"))
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def storage_cluster(cluster_net: ClusterNet) -> ClusterHarness:
    """Cluster 1 of `cluster_net`, with a client signing as GATEWAY."""
    return cluster_net.clusters[0]
