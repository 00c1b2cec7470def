"""What one storage cluster process needs to know, built at its entry point from arguments and Settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediaproof.settings import Settings

DB_FILE = "metadata.sqlite3"
LOG_FILE = "cluster.log"


@dataclass(frozen=True)
class ClusterConfig:
    cluster_id: int
    data_dir: Path  # metadata database, signing key, log
    ipfs_api: str  # multiaddr of the node's RPC API, e.g. /ip4/127.0.0.1/tcp/5101
    chain_id: int  # EIP-712 domain of receipts: chain id and StorageTopology address
    topology: str
    rpc_url: str  # where StorageTopology is asked whether a request's signer is a gateway
    media_app: str  # the records' EIP-712 domain: the cluster computes each receipt's media id itself
    host: str = "127.0.0.1"
    port: int = 8601
    max_upload_bytes: int = 1 << 30
    ipfs_timeout: float = 120.0
    gateway_cache_seconds: float = 10.0  # how long an isGateway answer is kept: a removed gateway's grace

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


def cluster_data_dir(settings: Settings, index: int) -> Path:
    """Data dir of the local system's cluster `index` (0-based): data_dir/clusters/<index + 1>."""
    return settings.data_dir / "clusters" / str(index + 1)


def cluster_port(settings: Settings, index: int) -> int:
    return settings.cluster_base_port + index
