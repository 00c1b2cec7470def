"""Issue 2 end to end on real parts: anvil, a js-ipfs node, a storage cluster, the CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from eth_account import Account
from PIL import Image

from mediaproof.anvil import AnvilNode
from mediaproof.chain import connect
from mediaproof.deployment import read_deployment, write_deployment
from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from tests.integration.stack import cli_env, stack_settings

pytestmark = pytest.mark.integration
FIRST = Account.from_key(ANVIL_TEST_KEYS[0]).address
SECOND_KEY = ANVIL_TEST_KEYS[1]


def mediaproof(settings: Settings, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(settings, key),
    )


def search_until(settings: Settings, query: str, done: Callable[[list[dict]], bool], wait: float = 10.0) -> list[dict]:
    """`mediaproof search` until `done(results)` (the indexer applies a block within about a second)."""
    deadline = time.monotonic() + wait
    while True:
        result = mediaproof(settings, "search", query, "--json")
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)["results"]
        if done(rows) or time.monotonic() > deadline:
            assert done(rows), rows
            return rows
        time.sleep(0.3)


def real_photo(path: Path, seed: int = 7) -> Path:
    """A 1600×1200 JPEG with photo-like noise (so it does not compress to nothing), ~1 MB."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, 1600, dtype=np.float32)[None, :, None]
    pixels = np.clip(gradient + rng.normal(0, 40, (1200, 1600, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=92)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("stack"))
    running = LocalStack(settings).start()
    yield running
    running.stop()


def test_upload_verify_tamper_second_owner_and_restart(stack: LocalStack, tmp_path: Path) -> None:
    settings = stack.settings
    photo = real_photo(tmp_path / "harbour.jpg")

    uploaded = mediaproof(settings, "upload", str(photo), "--title", "Harbour at dawn", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    record = json.loads(uploaded.stdout)
    assert set(record) == {"sha256", "cid", "media_id", "tx", "block", "batch", "mode", "short_id", "link", "page",
                           "path", "title"}  # fmt: skip
    assert record["page"] == f"{settings.resolved_webapp_url()}/m/{record['short_id']}"  # what people share
    assert (record["path"], record["title"]) == (str(photo), "Harbour at dawn")
    assert record["mode"] == "batched" and record["batch"] == record["block"]
    assert record["link"] == f"{settings.resolved_download_url()}/m/{record['short_id']}"
    shared = httpx.get(record["link"], params={"size": "original"}, timeout=30)
    assert shared.status_code == 200 and shared.content == photo.read_bytes()
    assert record["cid"].startswith("bafy")  # > 256 KiB: a dag-pb root over raw leaves

    # Without --proof, verify finds the bundle itself (the indexer) and checks it against the chain.
    proven = verify_until(settings, photo)
    assert proven["owner"] == FIRST and proven["first"] is True
    assert (proven["media_id"], proven["block"], proven["tx"]) == (record["media_id"], record["block"], record["tx"])
    assert proven["title"] == "Harbour at dawn" and proven["media_type"] == "image/jpeg"
    assert len(proven["receipts"]) == settings.replication_factor
    assert all(r["signature_valid"] and r["active_when_signed"] for r in proven["receipts"])

    found = search_until(settings, "harbour da", lambda rows: any(r["id"] == record["media_id"] for r in rows))
    assert found[0]["title"] == "Harbour at dawn"

    tampered = tmp_path / "tampered.jpg"
    data = bytearray(photo.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    refused = mediaproof(settings, "verify", str(tampered))
    assert refused.returncode == 1
    assert "no proof of those bytes" in refused.stderr
    assert "Traceback" not in refused.stderr

    again = mediaproof(settings, "upload", str(photo), "--title", "Copied", "--json", key=SECOND_KEY)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["media_id"] != record["media_id"]
    still_first = verify_until(settings, photo)
    assert still_first["owner"] == FIRST and still_first["media_id"] == record["media_id"]

    stack.stop()
    # A deployment file from before projects existed: the restart adds a ProjectRegistry and keeps the rest.
    older = read_deployment(stack.deployment_file)
    contracts = {name: address for name, address in older.contracts.items() if name != "ProjectRegistry"}
    write_deployment(stack.deployment_file, replace(older, contracts=contracts))
    stack.start()
    upgraded = read_deployment(stack.deployment_file)
    assert {name: upgraded.contracts[name] for name in contracts} == contracts
    registry = upgraded.contracts["ProjectRegistry"]
    assert registry != older.contracts["ProjectRegistry"]
    assert len(connect(stack.anvil.url).eth.get_code(registry)) > 0
    after_restart = verify_until(settings, photo)
    assert after_restart["media_id"] == record["media_id"]
    # the bytes survived the restart on the cluster's IPFS node, too
    from mediaproof.chain import gateway_account
    from mediaproof.clients.storage import StorageClusterClient
    from mediaproof.settings import LOCAL_CHAIN_ID

    parts = stack.clusters[0]
    gateway = gateway_account(stack.settings, LOCAL_CHAIN_ID)
    fetched = StorageClusterClient(parts.endpoint, parts.cluster_id, gateway).fetch(bytes.fromhex(record["sha256"]))
    assert fetched == photo.read_bytes()


def test_bundle_proves_the_photo_with_nothing_but_a_bare_anvil(tmp_path: Path) -> None:
    """Upload a real photo, export its bundle, stop every Mediaproof service, restart only anvil from its saved
    state: `mediaproof verify --proof` proves the photo, and a copy with one changed byte is not proven."""
    settings = stack_settings(tmp_path / "stack")
    stack = LocalStack(settings).start()
    try:
        settings = stack.settings
        photo = real_photo(tmp_path / "quay.jpg", seed=11)
        uploaded = mediaproof(settings, "upload", str(photo), "--title", "Quay", "--json")
        assert uploaded.returncode == 0, uploaded.stderr
        sha256 = json.loads(uploaded.stdout)["sha256"]
        bundle = tmp_path / "quay.proof.json"
        exported = proof_until(settings, str(photo), bundle)
        assert exported["sha256"] == sha256 and json.loads(bundle.read_text())["sha256"] == "0x" + sha256
    finally:
        stack.stop()
    state = settings.data_dir / "anvil" / "state.json"
    assert state.exists()
    anvil = AnvilNode(0, tmp_path / "bare", state_file=state).start()
    try:
        # Nothing but the file, the bundle and an RPC endpoint: no deployment file, no service.
        bare = settings.model_copy(update={"rpc_url": anvil.url, "deployment_file": tmp_path / "none.json",
                                           "indexer_url": "http://127.0.0.1:9"})  # fmt: skip
        verified = mediaproof(bare, "verify", str(photo), "--proof", str(bundle), "--rpc", anvil.url, "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report = json.loads(verified.stdout)
        assert report["proven"] and report["first"] and report["owner"] == FIRST
        assert all(r["active_when_signed"] and r["signature_valid"] for r in report["receipts"])
        changed = tmp_path / "quay-changed.jpg"
        data = bytearray(photo.read_bytes())
        data[1000] ^= 0x40
        changed.write_bytes(bytes(data))
        refused = mediaproof(bare, "verify", str(changed), "--proof", str(bundle), "--rpc", anvil.url, "--json")
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["proven"] is False
    finally:
        anvil.stop()


def verify_until(settings: Settings, photo: Path, wait: float = 20.0) -> dict:
    """`mediaproof verify --json` until the indexer has the proof (it follows the chain within about a second)."""
    deadline = time.monotonic() + wait
    while True:
        result = mediaproof(settings, "verify", str(photo), "--json")
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stdout + result.stderr
            return dict(json.loads(result.stdout))
        time.sleep(0.3)


def proof_until(settings: Settings, target: str, out: Path, wait: float = 20.0) -> dict:
    deadline = time.monotonic() + wait
    while True:
        result = mediaproof(settings, "proof", target, "-o", str(out), "--json")
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stdout + result.stderr
            return dict(json.loads(result.stdout))
        time.sleep(0.3)


def test_verify_refuses_a_deployment_file_for_another_chain(stack: LocalStack, tmp_path: Path) -> None:
    other = json.loads(stack.settings.resolved_deployment_file().read_text())
    other["chain_id"] = 1
    wrong = tmp_path / "mainnet.json"
    wrong.write_text(json.dumps(other))
    photo = real_photo(tmp_path / "p.jpg", seed=3)
    result = mediaproof(stack.settings, "verify", str(photo), "--deployment", str(wrong))
    assert result.returncode == 2
    assert "chain 1" in result.stderr and "31337" in result.stderr
    assert "Traceback" not in result.stderr
