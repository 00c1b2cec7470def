"""Start a storage cluster as its own process (for `make up` and the tests) and wait until it answers /health."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx

from mediaproof.ports import reserve_port
from mediaproof.processes import ManagedProcess
from mediaproof.settings import Settings
from mediaproof.storage.config import LOG_FILE, ClusterConfig, cluster_data_dir, cluster_port


def cluster_process(
    *,
    cluster_id: int,
    port: int,
    ipfs_api: str,
    data_dir: Path,
    chain_id: int,
    topology: str,
    rpc_url: str,
    media_app: str,
    host: str = "127.0.0.1",
    ready_timeout: float = 30.0,
    listener: socket.socket | None = None,
) -> ManagedProcess:
    """A not yet started cluster process (`.start()` returns once /health answers); its log is data_dir/cluster.log.
    `listener`: the socket bound to `port` it serves on (else one is bound here)."""
    config = ClusterConfig(
        cluster_id=cluster_id,
        data_dir=data_dir,
        ipfs_api=ipfs_api,
        chain_id=chain_id,
        topology=topology,
        rpc_url=rpc_url,
        media_app=media_app,
        host=host,
        port=port,
    )
    return config_process(config, ready_timeout, listener)


def config_process(
    config: ClusterConfig, ready_timeout: float = 30.0, listener: socket.socket | None = None
) -> ManagedProcess:
    """A not yet started process serving `config` (limits other than the port come from its Settings) on
    `listener`, a socket bound to config.port (else one is bound here): no one can take the port before it serves."""
    listener = listener or reserve_port(config.port)
    argv = [
        sys.executable,
        "-m",
        "mediaproof.storage",
        "--cluster-id",
        str(config.cluster_id),
        "--port",
        str(config.port),
        "--fd",
        str(listener.fileno()),
        "--host",
        config.host,
        "--ipfs-api",
        config.ipfs_api,
        "--data-dir",
        str(config.data_dir),
        "--chain-id",
        str(config.chain_id),
        "--topology",
        config.topology,
        "--rpc-url",
        config.rpc_url,
        "--media-app",
        config.media_app,
        "--gateway-cache-seconds",
        str(config.gateway_cache_seconds),
    ]

    def ready() -> bool:
        return httpx.get(f"{config.endpoint}/health", timeout=2.0).status_code == 200

    config.data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name=f"storage cluster {config.cluster_id}",
        argv=argv,
        log_path=config.data_dir / LOG_FILE,
        ready=ready,
        ready_timeout=ready_timeout,
        sockets=[listener],
    )


def cluster_config(
    settings: Settings, index: int, cluster_id: int, chain_id: int, topology: str, media_app: str, ipfs_api: str
) -> ClusterConfig:
    """Config of the local system's cluster `index` (0-based): port, data dir, RPC URL and limits from settings."""
    return ClusterConfig(
        cluster_id=cluster_id,
        data_dir=cluster_data_dir(settings, index),
        ipfs_api=ipfs_api,
        chain_id=chain_id,
        topology=topology,
        rpc_url=settings.rpc_url,
        media_app=media_app,
        port=cluster_port(settings, index),
        max_upload_bytes=settings.max_upload_bytes,
        ipfs_timeout=settings.http_timeout,
    )


def start_cluster(
    settings: Settings, index: int, cluster_id: int, chain_id: int, topology: str, media_app: str, ipfs_api: str
) -> ManagedProcess:
    """Start the local system's cluster `index` in front of the IPFS node at `ipfs_api`; returns once healthy."""
    config = cluster_config(settings, index, cluster_id, chain_id, topology, media_app, ipfs_api)
    return config_process(config).start()
