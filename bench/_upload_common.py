"""Shared by the upload benchmarks: a private local stack (anvil, 3 js-ipfs clusters, R = 2, upload service)."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from mediaproof.devstack import LocalStack
from mediaproof.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_block(width: int) -> int:
    for _ in range(100):
        base = _free_port()
        if base + width < 65000 and all(_is_free(base + i) for i in range(width)):
            return base
    raise RuntimeError("no free block of ports")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_stack(clusters: int = 3, replication_factor: int = 2, **overrides: object) -> tuple[LocalStack, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="mp-bench-upload-"))
    settings = Settings(
        data_dir=tmp / "data",
        deployment_file=tmp / "deployment.json",
        anvil_port=_free_port(),
        cluster_base_port=_free_block(clusters),
        ipfs_base_port=_free_block(10 * clusters),
        upload_port=_free_port(),
        download_port=_free_port(),
        indexer_port=_free_port(),
        cluster_count=clusters,
        replication_factor=replication_factor,
        **overrides,  # type: ignore[arg-type]
    )
    return LocalStack(settings).start(), tmp
