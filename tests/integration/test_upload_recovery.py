"""Crash recovery of registrations on real parts (anvil, a js-ipfs daemon, a storage cluster, the upload service).

Each test arms one of the upload service's crash points (mediaproof/faults.py), waits until the service's
log says it holds there — the state is what the test observed, never a guess by the clock — kills it with SIGKILL,
and starts a fresh one on the same database. What reached the chain must get its link, from the chain itself, and a
retried commit must answer that same link without sending anything again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from mediaproof import eip712
from mediaproof.bundle import parse_bundle
from mediaproof.chain import MediaproofChain
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.processes import ManagedProcess
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.launch import LOG_FILE, upload_process
from mediaproof.verify import ChainReader, verify_bundle
from tests.integration.auth import auth
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
BOB = Account.from_key(ANVIL_TEST_KEYS[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("recovery")).model_copy(
        update={"batch_interval": 0.5, "prepare_variant_wait": 10.0}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    chain = MediaproofChain.from_settings(stack.settings)
    with UploadClient(url(stack)) as client:
        ensure_wallet(client, chain, BOB, 10**17)  # the direct path is repaid from Bob's deposit
    return chain


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def log_path(stack: LocalStack) -> Path:
    return stack.settings.data_dir / "upload" / LOG_FILE


def wait_until(done: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := done()):
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.05)
    return result


def held_service(stack: LocalStack, point: str) -> tuple[ManagedProcess, int]:
    """The stack's upload service replaced by one armed at `point`; and where its log was when it started."""
    assert stack.upload is not None
    stack.upload.stop()
    start = log_path(stack).stat().st_size if log_path(stack).exists() else 0
    settings = stack.settings.model_copy(update={"upload_test_hold_at": point})
    return upload_process(settings, rpc_url=stack.anvil.url).start(), start


def kill_when_held(stack: LocalStack, service: ManagedProcess, point: str, log_start: int) -> None:
    """Wait for the service to say it holds at `point`, then SIGKILL it there; a fresh service takes over."""

    def holding() -> bool:
        with log_path(stack).open("rb") as log:
            log.seek(log_start)
            return f"holding at {point}".encode() in log.read()

    wait_until(holding, f"the upload service holding at {point}")
    service.kill()
    stack.upload = upload_process(stack.settings, rpc_url=stack.anvil.url).start()


def upload_and_prepare(stack: LocalStack, account: Any, seed: int, mode: str) -> tuple[str, dict[str, Any]]:
    stored = httpx.post(
        url(stack) + "/uploads", content=photo_bytes(seed, (640, 480)), headers=auth(url(stack), account), timeout=120
    )
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepared = httpx.post(
        url(stack) + f"/uploads/{upload_id}/prepare",
        json={"title": f"crash {seed}", "mode": mode},
        headers=auth(url(stack), account),
        timeout=60,
    )
    assert prepared.status_code == 200, prepared.text
    return upload_id, prepared.json()


def commit(stack: LocalStack, upload_id: str, signature: bytes, account: Any) -> httpx.Response:
    return httpx.post(
        url(stack) + f"/uploads/{upload_id}/commit",
        json={"signature": "0x" + signature.hex()},
        headers=auth(url(stack), account),
        timeout=120,
    )


def commit_in_background(stack: LocalStack, upload_id: str, signature: bytes, account: Any) -> threading.Thread:
    """A commit whose answer never comes (the service dies under it)."""

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the service is killed mid-request, as intended
            commit(stack, upload_id, signature, account)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def state_of(stack: LocalStack, upload_id: str) -> dict[str, Any]:
    return dict(httpx.get(url(stack) + f"/uploads/{upload_id}", timeout=30).json())


def links_to(stack: LocalStack, media_id: str) -> list[str]:
    store = GatewayStore(stack.settings.resolved_gateway_db(), readonly=True)
    try:
        return [r[0] for r in store._db.execute("SELECT short_id FROM media_links WHERE media_id = ?", (media_id,))]
    finally:
        store.close()


def reader(chain: MediaproofChain) -> ChainReader:
    return ChainReader(chain.w3, chain.media_app.address, chain.topology.address)


def test_relayed_direct_registration_killed_after_it_was_mined_gets_its_link(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    user_media = chain.user_media(chain.media_app.functions.userContract(BOB.address).call())
    held, log_start = held_service(stack, "direct-sent")
    # Two registrations die the same way: one is retried by its owner, the other only by the restart.
    retried_id, retried = upload_and_prepare(stack, BOB, 41, "direct")
    left_id, left = upload_and_prepare(stack, BOB, 42, "direct")
    signatures = {i: eip712.sign(p["typed_data"], BOB.key) for i, p in ((retried_id, retried), (left_id, left))}
    commit_in_background(stack, retried_id, signatures[retried_id], BOB)
    kill_when_held(stack, held, "direct-sent", log_start)
    # The relayed registration is on chain and paid for, with no link yet.
    mined = user_media.events.MediaRegistered.get_logs(
        argument_filters={"mediaId": bytes.fromhex(retried["media_id"][2:])}, from_block=0
    )
    assert len(mined) == 1
    # The second one: killed the same way.
    held, log_start = held_service(stack, "direct-sent")
    commit_in_background(stack, left_id, signatures[left_id], BOB)
    kill_when_held(stack, held, "direct-sent", log_start)
    deposit = chain.media_app.functions.depositOf(BOB.address).call()

    first = commit(stack, retried_id, signatures[retried_id], BOB)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["state"] == "committed" and answer["media_id"] == retried["media_id"]
    assert answer["tx"] == "0x" + bytes(mined[0]["transactionHash"]).hex()
    again = commit(stack, retried_id, signatures[retried_id], BOB)
    assert again.status_code == 200, again.text
    assert again.json()["short_id"] == answer["short_id"] and again.json()["tx"] == answer["tx"]
    assert links_to(stack, retried["media_id"]) == [answer["short_id"]]
    report = verify_bundle(reader(chain), parse_bundle(answer["proof"]), None)
    assert report.proven and report.kind == "direct", report.problems

    # Nobody retried the other one: the restart found it on chain by itself.
    left_state = wait_until(lambda: (s := state_of(stack, left_id))["state"] == "committed" and s, "the link")
    assert left_state["media_id"] == left["media_id"] and links_to(stack, left["media_id"]) == [left_state["short_id"]]
    assert chain.media_app.functions.depositOf(BOB.address).call() == deposit  # nothing was sent (or paid) again


@pytest.mark.parametrize("point", ["anchor-sent", "batch-anchored", "link-added"])
def test_batched_entry_killed_around_its_anchor_gets_its_link(
    stack: LocalStack, chain: MediaproofChain, point: str
) -> None:
    owner = Account.create()  # the batched path needs no registration and no funds
    held, log_start = held_service(stack, point)
    upload_id, prepared = upload_and_prepare(stack, owner, 50 + len(point), "batched")
    signature = eip712.sign(prepared["typed_data"], owner.key)
    commit_in_background(stack, upload_id, signature, owner)
    kill_when_held(stack, held, point, log_start)
    anchors = chain.media_app.events.BatchAnchored.get_logs(from_block=0)

    answer = wait_until(lambda: (r := commit(stack, upload_id, signature, owner)).status_code == 200
                        and r.json()["state"] == "committed" and r.json(), "a committed answer")  # fmt: skip
    assert answer["media_id"] == prepared["media_id"] and answer["mode"] == "batched"
    assert links_to(stack, prepared["media_id"]) == [answer["short_id"]]
    again = commit(stack, upload_id, signature, owner)
    assert again.status_code == 200 and again.json()["short_id"] == answer["short_id"]
    assert state_of(stack, upload_id)["short_id"] == answer["short_id"]
    report = verify_bundle(reader(chain), parse_bundle(answer["proof"]), None)
    assert report.proven and report.owner == owner.address, report.problems
    # The anchor that was mined before the kill is the one the proof names: nothing was anchored again.
    assert answer["tx"] in {"0x" + bytes(a["transactionHash"]).hex() for a in anchors}
    assert len(chain.media_app.events.BatchAnchored.get_logs(from_block=0)) == len(anchors)
