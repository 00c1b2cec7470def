"""The whole local system on one machine: anvil, IPFS nodes, storage clusters (and the services as they land).

`LocalStack(settings).start()` brings everything up in order — chain, deployment (once), IPFS nodes, clusters —
and `stop()` takes it down in reverse. State lives under settings.data_dir, so the next start finds the same chain,
files and proofs. `make up` runs `run_until_interrupted`; the integration tests drive `LocalStack` directly.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from mediaproof.anvil import AnvilNode
from mediaproof.chain import connect
from mediaproof.deployment import ClusterSpec, Deployment, deploy, read_deployment, write_deployment
from mediaproof.errors import DeploymentError, MediaproofError
from mediaproof.ipfs_node import IpfsNode, node_from_settings
from mediaproof.processes import ManagedProcess, port_open
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from mediaproof.storage.keys import load_or_create_signer
from mediaproof.storage.launch import cluster_process


@dataclass
class ClusterParts:
    cluster_id: int
    endpoint: str
    signer: str
    ipfs: IpfsNode
    service: ManagedProcess | None = None


class LocalStack:
    """Everything `make up` runs, built from one Settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deployment_file: Path = settings.resolved_deployment_file()
        self.anvil = AnvilNode(settings.anvil_port, settings.data_dir / "anvil", settings.data_dir / "anvil" / "state.json")
        self.clusters: list[ClusterParts] = []
        self.deployment: Deployment | None = None
        self.upload: ManagedProcess | None = None

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        s = self.settings
        if port_open(s.anvil_port):
            raise MediaproofError(f"port {s.anvil_port} is taken: stop what listens there or set MEDIAPROOF_ANVIL_PORT")
        self.anvil.start()
        for index in range(s.cluster_count):
            data_dir = s.data_dir / "clusters" / str(index + 1)
            self.clusters.append(
                ClusterParts(
                    cluster_id=0,
                    endpoint=f"http://127.0.0.1:{s.cluster_base_port + index}",
                    signer=load_or_create_signer(data_dir),
                    ipfs=node_from_settings(s, index),
                )
            )
        self.deployment = self._deployment()
        by_signer = {c.signer: c.id for c in self.deployment.clusters}
        for index, parts in enumerate(self.clusters):
            parts.cluster_id = by_signer[parts.signer]
            parts.ipfs.start()
            parts.service = cluster_process(
                cluster_id=parts.cluster_id,
                port=s.cluster_base_port + index,
                ipfs_api=parts.ipfs.api_multiaddr,
                data_dir=s.data_dir / "clusters" / str(index + 1),
                chain_id=self.deployment.chain_id,
                topology=self.deployment.storage_topology,
            ).start()
        self._start_upload()

    def _start_upload(self) -> None:
        """The upload service (mediaproof/upload), with its relayer approved by the deployer on this local chain."""
        from mediaproof.upload.launch import approve_relayer, upload_process

        assert self.deployment is not None
        approve_relayer(self.anvil.url, self.deployment.media_app, self.settings)
        self.upload = upload_process(self.settings, rpc_url=self.anvil.url).start()

    def _deployment(self) -> Deployment:
        """The existing deployment when the chain still has it and it knows every cluster; otherwise a new one."""
        w3 = connect(self.anvil.url)
        signers = {c.signer for c in self.clusters}
        if self.deployment_file.exists():
            try:
                existing = read_deployment(self.deployment_file, expected_chain_id=int(w3.eth.chain_id))
            except DeploymentError:
                existing = None
            if (
                existing is not None
                and w3.eth.get_code(existing.media_app)
                and signers <= {c.signer for c in existing.clusters}
            ):
                return existing
        fresh = deploy(
            w3,
            Account.from_key(ANVIL_TEST_KEYS[0]),
            network=self.settings.network,
            clusters=[ClusterSpec(c.signer, c.endpoint) for c in self.clusters],
            replication_factor=self.settings.replication_factor,
        )
        write_deployment(self.deployment_file, fresh)
        return fresh

    def stop(self) -> None:
        if self.upload is not None:
            self.upload.stop()
            self.upload = None
        for parts in reversed(self.clusters):
            if parts.service is not None:
                parts.service.stop()
            parts.ipfs.stop()
        self.clusters.clear()
        self.anvil.stop()  # SIGTERM: anvil writes its state file on the way out

    def describe(self) -> list[tuple[str, str]]:
        rows = [("anvil (chain id %d)" % (self.deployment.chain_id if self.deployment else 0), self.anvil.url)]
        if self.deployment is not None:
            rows.append(("deployment", str(self.deployment_file)))
            rows.append(("MediaApp", self.deployment.media_app))
            rows.append(("StorageTopology", self.deployment.storage_topology))
        if self.upload is not None:
            rows.append(("upload service", f"http://127.0.0.1:{self.settings.upload_port}"))
        for parts in self.clusters:
            rows.append((f"storage cluster {parts.cluster_id} (signer {parts.signer})", parts.endpoint))
            rows.append((f"  its IPFS node (RPC API)", parts.ipfs.api_url))
        return rows


def run_until_interrupted(settings: Settings) -> None:
    """`make up`: start everything, print where each part listens, stop it all on Ctrl-C or SIGTERM."""
    stack = LocalStack(settings)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        print("starting Mediaproof locally …", flush=True)
        stack.start()
        width = max(len(name) for name, _ in stack.describe())
        for name, where in stack.describe():
            print(f"  {name.ljust(width)}  {where}")
        print("ready. Ctrl-C stops everything.", flush=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping …", file=sys.stderr, flush=True)
        stack.stop()
