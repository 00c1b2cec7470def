"""Shared by the upload benchmarks: a private local stack (anvil, 3 js-ipfs clusters, R = 2, upload service)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mediaproof.devstack import LocalStack
from mediaproof.settings import Settings


def start_stack(clusters: int = 3, replication_factor: int = 2, **overrides: object) -> tuple[LocalStack, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="mp-bench-upload-"))
    settings = Settings(
        data_dir=tmp / "data",
        deployment_file=tmp / "deployment.json",
        # 0: free ports, taken by the stack as it starts (stack.settings tells which)
        anvil_port=0,
        cluster_base_port=0,
        ipfs_base_port=0,
        upload_port=0,
        download_port=0,
        indexer_port=0,
        cluster_count=clusters,
        replication_factor=replication_factor,
        **{"upload_rate_per_minute": 100_000, **overrides},  # type: ignore[arg-type]  # a bench measures speed, not limits
    )
    return LocalStack(settings).start(), tmp
