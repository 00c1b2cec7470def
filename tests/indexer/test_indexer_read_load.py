"""The indexer process under 16 connections of reads while its follower commits block after block (issue 9: it
answered 75 × 500 — `TypeError BlockRef`, `ValueError unpack` — when API threads shared the follower's DuckDB
connection). Real anvil, real indexer process, real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from eth_account import Account
from indexer_chainwork import ChainWork
from read_load import ReadLoad

from mediaproof.anvil import AnvilNode
from mediaproof.deployment import write_deployment
from mediaproof.ports import port_of, reserve_port
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT

ALICE, CAROL = ANVIL_TEST_KEYS[1], ANVIL_TEST_KEYS[3]
BLOCKS = 40  # blocks the follower commits while the readers read
GUARD_SECONDS = 180  # a failure guard only


def read_paths(work: ChainWork, alice: str, media_id: str) -> list[str]:
    owner = Account.from_key(ALICE).address
    return [
        "/health",  # the follower's cursor: read by the API beside the follower's writes
        "/health",
        "/recent?limit=20",
        "/recent?limit=5&offset=3",
        "/search?q=load",
        f"/users/{owner}",
        f"/users/{alice}",
        f"/media/{media_id}",
        f"/media/{media_id}/proof",
        "/clusters",
    ]


def start_indexer(anvil: AnvilNode, work: ChainWork, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    deployment_file = tmp / "deployment.json"
    write_deployment(deployment_file, work.deployment)
    listener = reserve_port()
    base = f"http://127.0.0.1:{port_of(listener)}"
    argv = [sys.executable, "-m", "indexer", "--rpc", anvil.url, "--deployment", str(deployment_file),
            "--db", str(tmp / "i.duckdb"), "--fd", str(listener.fileno()), "--download-url", work.manifests.url,
            "--gateway-db", str(tmp / "gateway.db"), "--poll", "0.05"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with listener, open(tmp / "indexer.log", "ab") as log:
        proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, start_new_session=True, pass_fds=[listener.fileno()],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    return proc, base


def indexed_block(base: str) -> int:
    try:
        block = httpx.get(base + "/health", timeout=5).json()["block"]
    except (httpx.HTTPError, ValueError, KeyError):
        return -1
    return -1 if block is None else int(block)


def wait_until_indexed(proc: subprocess.Popen[bytes], base: str, block: int) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while indexed_block(base) < block:
        assert proc.poll() is None, "the indexer exited"
        assert time.monotonic() < deadline, f"the indexer did not reach block {block}"
        time.sleep(0.1)


def test_sixteen_readers_during_commits_get_no_5xx(anvil: AnvilNode, work: ChainWork, tmp_path: Path) -> None:
    alice = work.register_user(ALICE)
    first = work.register_media(ALICE, alice, "load test first title")
    proc, base = start_indexer(anvil, work, tmp_path)
    try:
        wait_until_indexed(proc, base, int(work.w3.eth.block_number))
        load = ReadLoad(base, read_paths(work, alice, first), connections=16).start()
        try:
            # One block per transaction on anvil: every one is a commit of the follower while the readers read.
            for i in range(BLOCKS):
                if i % 4 == 3:
                    work.anchor_batch([work.entry(CAROL, f"load batch {i} title"), work.entry(ALICE, f"load {i}")])
                else:
                    work.register_media(ALICE, alice, f"load title {i}")
            wait_until_indexed(proc, base, int(work.w3.eth.block_number))
        finally:
            stats = load.stop()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert stats.requests > 0
    assert stats.errors == 0, (stats.statuses, stats.failures[:10], (tmp_path / "indexer.log").read_text()[-3000:])
    assert set(stats.statuses) == {200}, stats.statuses
