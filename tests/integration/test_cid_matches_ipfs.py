"""Our CIDs equal what a real js-ipfs daemon answers for `add` (CIDv1, raw leaves), sizes around every DAG edge."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest

from mediaproof.content import ContentHasher, digest_bytes
from mediaproof.ipfs_node import IpfsNode
from mediaproof.unixfs import CHUNK_SIZE, MAX_LINKS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A js-ipfs daemon of its own on loopback (mediaproof.ipfs_node), stopped when the module ends.

    Adds go to the RPC API through httpx's own multipart encoding, not our IpfsClient, so the CID compared is the
    daemon's own text for a request our code did not frame.
    """
    repo = tmp_path_factory.mktemp("ipfs") / "repo"
    node = IpfsNode(repo, api_port=0, swarm_port=0, gateway_port=0, ready_timeout=90)
    with node, httpx.Client(base_url=node.api_url, timeout=300) as client:
        yield client


def _ipfs_cid(client: httpx.Client, data: bytes) -> str:
    answer = client.post(
        "/add",
        params={"cid-version": "1", "raw-leaves": "true", "cid-base": "base32"},
        files={"file": ("file", data, "application/octet-stream")},
    )
    answer.raise_for_status()
    added = answer.json()
    assert added["Size"] >= len(data)
    return str(added["Hash"])


EDGE_SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    MAX_LINKS * CHUNK_SIZE,
    MAX_LINKS * CHUNK_SIZE + 1,
]


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_cid_matches_ipfs_at_dag_edges(ipfs, size):
    data = random.Random(size).randbytes(size)
    assert digest_bytes(data).cid == _ipfs_cid(ipfs, data)


def test_cid_matches_ipfs_for_random_sizes_streamed(ipfs):
    rng = random.Random(2024)
    sizes = [rng.randrange(2, 4 * CHUNK_SIZE), rng.randrange(2 << 20, 12 << 20), rng.randrange(30 << 20, 50 << 20)]
    for size in sizes:
        data = rng.randbytes(size)
        hasher = ContentHasher()
        offset = 0
        while offset < size:  # uneven pieces, as an HTTP body arrives
            step = rng.randrange(1, 3 << 20)
            hasher.update(data[offset : offset + step])
            offset += step
        assert hasher.finish().cid == _ipfs_cid(ipfs, data), f"size {size}"
