"""Helpers for integration tests: free port blocks and Settings for a private LocalStack in a temp dir."""

from __future__ import annotations

import socket
from pathlib import Path

from mediaproof.settings import Settings


def free_port_block(offsets: list[int], start: int = 20000, stop: int = 60000) -> int:
    """A base port such that base + each offset is free on 127.0.0.1 right now."""
    import random

    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(start, stop - max(offsets) - 1)
        sockets = []
        try:
            for offset in offsets:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free block of ports found")


def stack_settings(tmp: Path, clusters: int = 1, replication_factor: int = 1) -> Settings:
    """Settings for a LocalStack that shares nothing with `make up` or with other tests."""
    anvil_port = free_port_block([0])
    return Settings(
        data_dir=tmp / "data",
        deployment_file=tmp / "deployment.json",
        anvil_port=anvil_port,
        rpc_url=f"http://127.0.0.1:{anvil_port}",
        cluster_base_port=free_port_block(list(range(clusters))),
        # IPFS node i: API at base + 10*i, swarm and gateway right after it (mediaproof.ipfs_node.node_ports)
        ipfs_base_port=free_port_block([10 * i + j for i in range(clusters) for j in range(3)]),
        indexer_port=free_port_block([0]),
        upload_port=free_port_block([0]),
        download_port=free_port_block([0]),
        cluster_count=clusters,
        replication_factor=replication_factor,
    )


def cli_env(settings: Settings, private_key: str | None = None) -> dict[str, str]:
    """Environment for a `mediaproof` subprocess aimed at this stack."""
    import os

    env = {**os.environ, **settings.as_env()}
    if private_key:
        env["MEDIAPROOF_PRIVATE_KEY"] = private_key
    return env
