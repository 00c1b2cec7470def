"""The Kubo RPC client against a real js-ipfs daemon: every call Mediaproof makes, what the node refuses, the node
going away, and an add broken off part-way (the node must stay able to collect garbage afterwards)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from mediaproof.content import digest_bytes
from mediaproof.errors import MediaTooLarge, StorageError
from mediaproof.ipfs_client import AsyncIpfsClient, IpfsClient
from mediaproof.ipfs_node import IpfsNode
from mediaproof.storage.ingest import ingest
from mediaproof.unixfs import CHUNK_SIZE
from tests.integration.fixtures_ipfs import ipfs_node, start_ipfs_node

pytestmark = pytest.mark.integration
__all__ = ["ipfs_node"]  # the fixture, imported for pytest


async def _pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_add_then_cat_gives_back_the_bytes_and_our_cid(ipfs_node: IpfsNode) -> None:
    data = random.Random(1).randbytes(3 * CHUNK_SIZE + 17)
    client = ipfs_node.client(timeout=60)
    added = client.add(data)
    assert added.cid == digest_bytes(data).cid and added.size >= len(data)
    assert client.cat(added.cid) == data
    assert client.cat(added.cid, offset=CHUNK_SIZE - 5, length=10) == data[CHUNK_SIZE - 5 : CHUNK_SIZE + 5]
    assert client.cat(added.cid, offset=len(data) - 3) == data[-3:]
    assert client.cat(added.cid, offset=7, length=0) == b""


def test_async_add_streams_an_async_iterator(ipfs_node: IpfsNode) -> None:
    data = random.Random(2).randbytes(5 << 20)

    async def run() -> tuple[str, bytes]:
        async with AsyncIpfsClient(ipfs_node.api_multiaddr, timeout=60) as client:
            added = await client.add(_pieces(data), pin=False)
            stream = await client.cat(added.cid, offset=1 << 20, length=1 << 20)
            return added.cid, b"".join([chunk async for chunk in stream])

    cid, middle = asyncio.run(run())
    assert cid == digest_bytes(data).cid
    assert middle == data[1 << 20 : 2 << 20]


def test_pins_follow_add_pin_add_and_pin_rm(ipfs_node: IpfsNode) -> None:
    client = ipfs_node.client(timeout=60)
    data = random.Random(3).randbytes(2 * CHUNK_SIZE)
    added = client.add(data, pin=False)
    assert not client.is_pinned(added.cid)
    assert added.cid not in client.pin_ls()
    client.pin_add(added.cid)
    assert client.is_pinned(added.cid) and added.cid in client.pin_ls()
    client.pin_rm(added.cid)
    assert not client.is_pinned(added.cid)
    with pytest.raises(StorageError, match="not pinned"):
        client.pin_rm(added.cid)  # the node's own refusal, a 500, is a StorageError


def test_refs_block_rm_and_repo_gc_remove_only_unpinned_blocks(ipfs_node: IpfsNode) -> None:
    client = ipfs_node.client(timeout=60)
    kept_data = random.Random(4).randbytes(2 * CHUNK_SIZE + 1)
    kept = client.add(kept_data)
    dropped = client.add(random.Random(5).randbytes(2 * CHUNK_SIZE + 2), pin=False)
    kept_leaves = set(client.refs(kept.cid))
    dropped_leaves = set(client.refs(dropped.cid))
    assert len(kept_leaves) == 3 and len(dropped_leaves) == 3
    # refs/local names blocks by their multihash (a root shows as a raw `bafkrei…`): compare leaves, raw already.
    assert kept_leaves | dropped_leaves <= client.local_blocks()
    client.block_rm([kept.cid, *sorted(kept_leaves)])  # refused (pinned), and the refusal is no error
    assert kept_leaves <= client.local_blocks()
    assert client.repo_gc() >= len(dropped_leaves)
    blocks = client.local_blocks()
    assert kept_leaves <= blocks and not dropped_leaves & blocks
    assert client.cat(kept.cid) == kept_data


def test_what_the_node_refuses_is_a_storage_error(ipfs_node: IpfsNode) -> None:
    client = ipfs_node.client(timeout=30)
    for call in (lambda: client.cat("not-a-cid"), lambda: client.pin_add("not-a-cid"), lambda: client.refs("x")):
        with pytest.raises(StorageError, match="IPFS node at"):
            call()


def test_an_ingest_broken_off_ends_its_add_and_gc_still_runs(ipfs_node: IpfsNode) -> None:
    data = random.Random(6).randbytes(4 << 20)

    async def too_large() -> None:
        async with AsyncIpfsClient(ipfs_node.api_multiaddr, timeout=60) as client:
            with pytest.raises(MediaTooLarge):
                await ingest(_pieces(data), client, claimed_size=len(data), max_bytes=len(data) // 2)
            # A cut add would leave js-ipfs holding its GC lock: this collection would then never answer.
            await asyncio.wait_for(client.repo_gc(), timeout=60)

    asyncio.run(too_large())


def test_ingest_hashes_every_byte_but_adds_only_the_claimed_size(ipfs_node: IpfsNode) -> None:
    data = random.Random(7).randbytes(CHUNK_SIZE * 2)

    async def run() -> tuple[str, str]:
        async with AsyncIpfsClient(ipfs_node.api_multiaddr, timeout=60) as client:
            result = await ingest(_pieces(data, 1000), client, claimed_size=CHUNK_SIZE, max_bytes=len(data))
            return result.digest.cid, result.added.cid

    ours, added = asyncio.run(run())
    assert ours == digest_bytes(data).cid
    assert added == digest_bytes(data[:CHUNK_SIZE]).cid


def test_a_node_that_goes_away_gives_storage_errors_and_answers_again_after_restart(tmp_path) -> None:
    node = start_ipfs_node(tmp_path / "repo")
    try:
        client = IpfsClient(node.api_multiaddr, timeout=10)
        cid = client.add(b"still here").cid
        node.stop()
        for call in (client.id, client.pin_ls, client.repo_gc, lambda: client.cat(cid), lambda: client.add(b"x")):
            with pytest.raises(StorageError):
                call()
        node.start()
        assert IpfsClient(node.api_multiaddr, timeout=10).cat(cid) == b"still here"
    finally:
        node.stop()
