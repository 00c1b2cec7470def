"""The Kubo RPC client's pure edges: RPC addresses, and answers no real node gives (a proxy's 502 page, a body that
is not the documented JSON), each a StorageError. Real daemons: tests/integration/test_ipfs_client.py."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproof.errors import InputError, StorageError
from mediaproof.ipfs_client import AsyncIpfsClient, IpfsClient, rpc_base_url
from mediaproof.ports import free_port

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_rpc_base_url_reads_multiaddrs_and_urls() -> None:
    assert rpc_base_url("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001/api/v0"
    assert rpc_base_url("/ip4/127.0.0.1/tcp/5001/http") == "http://127.0.0.1:5001/api/v0"
    assert rpc_base_url("/dns4/kubo.internal/tcp/5001/https") == "https://kubo.internal:5001/api/v0"
    assert rpc_base_url("/ip6/::1/tcp/5001") == "http://[::1]:5001/api/v0"
    assert rpc_base_url("http://10.0.0.5:5001/") == "http://10.0.0.5:5001/api/v0"
    assert rpc_base_url("http://10.0.0.5:5001/api/v0") == "http://10.0.0.5:5001/api/v0"


@pytest.mark.parametrize("api", ["", "localhost:5001", "/ip4/127.0.0.1/udp/5001", "/ip4/127.0.0.1/tcp/x", "/unix/a"])
def test_rpc_base_url_refuses_what_is_no_address(api: str) -> None:
    with pytest.raises(InputError):
        rpc_base_url(api)


@given(st.text(max_size=60))
def test_rpc_base_url_fuzz_gives_a_url_or_input_error(api: str) -> None:
    try:
        url = rpc_base_url(api)
    except InputError:
        return
    assert url.startswith(("http://", "https://")) and url.endswith("/api/v0")


def _answering(status: int, body: bytes, content_type: str = "application/json") -> AsyncIpfsClient:
    # A double only for answers a real node never gives: the same client, httpx's mock transport under it.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    return AsyncIpfsClient("/ip4/127.0.0.1/tcp/5001", transport=httpx.MockTransport(answer))


CALLS = {
    "id": lambda c: c.id(),
    "add": lambda c: c.add(b"bytes"),
    "cat": lambda c: c.cat(CID),
    "pin_add": lambda c: c.pin_add(CID),
    "pin_ls": lambda c: c.pin_ls(),
    "is_pinned": lambda c: c.is_pinned(CID),
    "refs": lambda c: c.refs(CID),
    "local_blocks": lambda c: c.local_blocks(),
    "repo_gc": lambda c: c.repo_gc(),
}


@pytest.mark.parametrize("call", CALLS)
def test_a_proxy_error_page_is_a_storage_error(call: str) -> None:
    async def run() -> None:
        async with _answering(502, b"<html>502 Bad Gateway</html>", "text/html") as client:
            with pytest.raises(StorageError, match="502"):
                await CALLS[call](client)

    asyncio.run(run())


@pytest.mark.parametrize("call", ["id", "add", "pin_ls", "is_pinned", "refs", "local_blocks", "repo_gc"])
def test_an_answer_not_shaped_as_documented_is_a_storage_error(call: str) -> None:
    async def run() -> None:
        async with _answering(200, b'{"Keys": 7, "Hash": null}\nnot json') as client:
            with pytest.raises(StorageError):
                await CALLS[call](client)

    asyncio.run(run())


@pytest.mark.parametrize("call", ["id", "pin_ls", "is_pinned", "repo_gc", "add", "cat"])
def test_a_node_away_is_a_storage_error(call: str) -> None:
    client = IpfsClient(f"/ip4/127.0.0.1/tcp/{free_port()}", timeout=5)
    with pytest.raises(StorageError, match="IPFS node at"):
        getattr(client, call)(*([] if call in {"id", "pin_ls", "repo_gc"} else [b"x" if call == "add" else CID]))


def test_cat_refuses_a_negative_range_before_asking() -> None:
    with pytest.raises(InputError):
        IpfsClient(f"/ip4/127.0.0.1/tcp/{free_port()}").cat(CID, offset=-1)
