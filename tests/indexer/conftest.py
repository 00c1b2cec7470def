"""Fixtures: a real anvil node per test with a fresh deployment, a real HTTP server serving batch manifests (in
place of the download service), and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from batchkit import ManifestServer
from indexer_chainwork import ChainWork

from mediaproof.anvil import AnvilNode


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    node = AnvilNode(0, tmp_path / "anvil")  # a free port, picked again if someone takes it first
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def manifests() -> Iterator[ManifestServer]:
    server = ManifestServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def work(anvil: AnvilNode, manifests: ManifestServer) -> ChainWork:
    return ChainWork.deploy(anvil.url, manifests)
