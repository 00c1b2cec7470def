"""Our CIDs equal what a real js-ipfs daemon answers for `add` (CIDv1, raw leaves), sizes around every DAG edge."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient
import pytest

from mediaproof.content import ContentHasher, digest_bytes
from mediaproof.unixfs import CHUNK_SIZE, MAX_LINKS

pytestmark = pytest.mark.integration

JSIPFS = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "jsipfs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ipfshttpclient.Client]:
    """A js-ipfs daemon of its own, on loopback only, stopped (whole process group) when the module ends."""
    repo = tmp_path_factory.mktemp("ipfs") / "repo"
    env = {**os.environ, "IPFS_PATH": str(repo)}
    subprocess.run([str(JSIPFS), "init", "--profile", "test"], env=env, check=True, capture_output=True, timeout=120)
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    api_port = _free_port()
    config["Addresses"].update(
        Swarm=[f"/ip4/127.0.0.1/tcp/{_free_port()}"],
        API=f"/ip4/127.0.0.1/tcp/{api_port}",
        Gateway=f"/ip4/127.0.0.1/tcp/{_free_port()}",
        RPC=f"/ip4/127.0.0.1/tcp/{_free_port()}",
        Delegates=[],
    )
    config["Bootstrap"] = []
    config["Routing"] = {"Type": "none"}
    config["Discovery"] = {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}}
    config_path.write_text(json.dumps(config, indent=2))

    log_path = repo.parent / "daemon.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(
            [str(JSIPFS), "daemon", "--enable-preload=false"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Constructing Client directly skips connect()'s version check, which refuses js-ipfs's 0.18.1.
        client = ipfshttpclient.Client(f"/ip4/127.0.0.1/tcp/{api_port}/http", timeout=300)
        deadline = time.monotonic() + 90
        while True:
            assert daemon.poll() is None, f"jsipfs daemon exited early:\n{log_path.read_text()}"
            try:
                client.id()
                break
            except ipfshttpclient.exceptions.Error:
                assert time.monotonic() < deadline, f"jsipfs daemon not ready in 90 s:\n{log_path.read_text()}"
                time.sleep(0.25)
        yield client
        client.close()
    finally:
        try:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=5)
        except ProcessLookupError:
            pass


def _ipfs_cid(client: ipfshttpclient.Client, data: bytes) -> str:
    answer = client.add(io.BytesIO(data), cid_version=1, raw_leaves=True, opts={"cid-base": "base32"})
    assert answer["Size"] >= len(data)
    return str(answer["Hash"])


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
