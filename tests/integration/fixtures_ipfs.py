"""Fixtures for tests that need a real js-ipfs daemon and a real storage cluster process, on free loopback ports.

Import them where needed: `from tests.integration.fixtures_ipfs import ipfs_node, storage_cluster`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediaproof.ipfs_node import IpfsClient, IpfsNode
from mediaproof.ports import port_of, reserve_port
from mediaproof.processes import ManagedProcess
from mediaproof.storage.client import StorageClusterClient
from mediaproof.storage.config import ClusterConfig
from mediaproof.storage.launch import config_process

TEST_CHAIN_ID = 31337
# Receipts only need some verifying contract for their EIP-712 domain; no chain is involved in these tests.
TEST_TOPOLOGY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def start_ipfs_node(repo: Path) -> IpfsNode:
    return IpfsNode(repo, api_port=0, swarm_port=0, gateway_port=0).start()  # free ports, picked at start


@dataclass
class ClusterHarness:
    """One IPFS node and one storage cluster process in front of it, restartable in place."""

    node: IpfsNode
    config: ClusterConfig
    process: ManagedProcess
    client: StorageClusterClient
    ipfs: IpfsClient

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    def stop(self) -> None:
        self.client.close()
        self.ipfs.close()
        self.process.stop()
        self.node.stop()

    def restart(self) -> None:
        """Stop the service and the daemon, then start both again on the same repo, data dir and ports."""
        self.stop()
        self.node.start()
        self.process = config_process(self.config).start()
        self.client = StorageClusterClient(self.config.endpoint, timeout=60)
        self.ipfs = self.node.client(timeout=30)


def start_cluster_harness(root: Path, cluster_id: int = 1) -> ClusterHarness:
    node = start_ipfs_node(root / "ipfs")
    listener = reserve_port()  # held until the service serves on it: nobody else can take the port
    config = ClusterConfig(
        cluster_id=cluster_id,
        data_dir=root / "cluster",
        ipfs_api=node.api_multiaddr,
        chain_id=TEST_CHAIN_ID,
        topology=TEST_TOPOLOGY,
        port=port_of(listener),
        ipfs_timeout=30.0,
    )
    try:
        process = config_process(config, listener=listener).start()
    except BaseException:
        listener.close()
        node.stop()
        raise
    return ClusterHarness(
        node=node,
        config=config,
        process=process,
        client=StorageClusterClient(config.endpoint, timeout=60),
        ipfs=node.client(timeout=30),
    )


@pytest.fixture(scope="module")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsNode]:
    """A js-ipfs daemon of the module's own on loopback; its process group is stopped when the module ends."""
    node = start_ipfs_node(tmp_path_factory.mktemp("ipfs") / "repo")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def storage_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHarness]:
    """A storage cluster service (subprocess) in front of its own js-ipfs daemon; both stopped at module end."""
    harness = start_cluster_harness(tmp_path_factory.mktemp("storage-cluster"))
    try:
        yield harness
    finally:
        harness.stop()
