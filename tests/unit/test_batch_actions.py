"""Social actions in the gateway's proof tables and in the batcher: kept once (a replay is refused), taken by one
batcher at a time, released after a crash, placed after the batch's files in the tree, anchored with them; the
batcher closes a batch on files and actions together (count or age of the oldest), and a batch of only actions."""

from __future__ import annotations

import secrets
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from mediaproof import eip712, social
from mediaproof.upload import batcher as batcher_module
from mediaproof.upload.batch_store import BatchStore
from mediaproof.upload.batcher import Batcher

CHAIN = 31337
APP = Account.create().address
ALICE, BOB = Account.create(), Account.create()


def signed_follow(author: Any = ALICE, subject: Any = BOB) -> social.SignedAction:
    action = social.Follow(author.address, subject.address, True, 1_800_000_000, secrets.token_bytes(32))
    return social.SignedAction(
        action, social.sign(action, CHAIN, APP, author.key), social.action_id(action, CHAIN, APP)
    )


def add_action(store: BatchStore, signed: social.SignedAction | None = None) -> str:
    signed = signed or signed_follow()
    action_id = eip712.hex32(signed.action_id)
    assert store.add_action(action_id, signed.author, signed.kind, signed.to_json())
    return action_id


def add_entry(store: BatchStore, n: int) -> str:
    media_id = "0x" + secrets.token_hex(32)
    store.add_entry(media_id, f"upload-{n}", secrets.token_hex(32), ALICE.address, {"n": n})
    return media_id


@pytest.fixture
def store(gateway_target: Path | str) -> Iterator[BatchStore]:
    """On each backend (SQLite file, real PostgreSQL): tests/conftest.py's gateway_target."""
    opened = BatchStore(gateway_target)
    yield opened
    opened.close()


def test_nonces_of_an_owner_are_consecutive_from_a_random_start(store: BatchStore) -> None:
    first = store.next_nonce(ALICE.address)
    assert [store.next_nonce(ALICE.address) for _ in range(3)] == [first + 1, first + 2, first + 3]
    assert first % 256 == 0  # a fresh owner starts at a bitmap word of its own


def test_the_first_claim_on_bytes_wins_until_it_goes_stale(store: BatchStore) -> None:
    sha = "ab" * 32
    assert store.claim(sha, ALICE.address, "0x01", "batched", stale_after=3600).owner == ALICE.address
    assert store.claim(sha, BOB.address, "0x02", "direct", stale_after=3600).owner == ALICE.address
    assert store.claim(sha, BOB.address, "0x02", "direct", stale_after=-1).owner == BOB.address  # Alice's expired
    store.claim_proven("0x02", 9)
    assert store.first_claim(sha) is not None and store.first_claim(sha).state == "proven"  # type: ignore[union-attr]


def test_an_anchored_batch_manifest_is_found_by_its_cid_through_the_gateway_store(
    store: BatchStore, gateway_target: Path | str
) -> None:
    from mediaproof.gateway_store import GatewayStore

    media = [add_entry(store, 0)]
    store.take_pending(10)
    store.add_batch("0xroot", '{"v": 1}', "sha", "bafymanifest", media)
    reader = GatewayStore(gateway_target, readonly=True)
    assert reader.manifest("bafymanifest") is None  # built, not anchored yet
    assert [b.root for b in store.built_batches()] == ["0xroot"]
    store.mark_anchored("0xroot", 7, "0xtx")
    assert reader.manifest("bafymanifest") == ("sha", b'{"v": 1}')
    assert store.batch_by_cid("bafymanifest").batch == 7  # type: ignore[union-attr]


def test_an_action_is_kept_once_and_a_replay_stores_nothing(store: BatchStore) -> None:
    signed = signed_follow()
    action_id = add_action(store, signed)
    assert not store.add_action(action_id, signed.author, signed.kind, signed.to_json())
    kept = store.action(action_id)
    assert kept is not None and kept.state == "pending" and kept.author == ALICE.address and kept.kind == "Follow"
    assert social.parse_signed_action(kept.action) == signed
    assert store.pending_summary()[0] == 1
    assert store.action("0x" + "00" * 32) is None


def test_taken_actions_belong_to_one_batcher_until_released(store: BatchStore) -> None:
    ids = [add_action(store) for _ in range(3)]
    taken = store.take_pending_actions(2)
    assert [a.action_id for a in taken] == ids[:2]
    assert [store.action(i).state for i in ids] == ["closing", "closing", "pending"]  # type: ignore[union-attr]
    assert [a.action_id for a in store.take_pending_actions(5)] == ids[2:]
    assert store.take_pending_actions(5) == [] and store.take_pending_actions(0) == []
    assert store.release_closing() == 3  # a batcher died before building its batch
    assert len(store.take_pending_actions(5)) == 3


def test_actions_follow_the_files_in_a_batch_and_are_anchored_with_it(store: BatchStore) -> None:
    media = [add_entry(store, n) for n in range(2)]
    actions = [add_action(store) for _ in range(2)]
    store.take_pending(10)
    store.take_pending_actions(10)
    store.add_batch("0xroot", "{}", "sha", "cid", media, actions)
    assert store.release_closing() == 0  # built into a batch: not released again
    assert [(a.action_id, a.leaf_index, a.root) for a in store.actions_of("0xroot")] == [
        (actions[0], 2, "0xroot"),
        (actions[1], 3, "0xroot"),
    ]
    store.mark_anchored("0xroot", 7, "0xtx")
    assert {a.state for a in store.actions_of("0xroot")} == {"anchored"}
    assert {e.state for e in store.entries_of("0xroot")} == {"anchored"}


def test_pending_summary_counts_files_and_actions_and_the_oldest_of_either(store: BatchStore) -> None:
    assert store.pending_summary() == (0, None)
    add_action(store)
    first = store.pending_summary()[1]
    add_entry(store, 0)
    count, oldest = store.pending_summary()
    assert count == 2 and oldest == first


class Taken:
    def __init__(self) -> None:
        self.batches: list[tuple[list[str], list[str]]] = []

    def __call__(self, store: BatchStore, placements: Any, entries: list[Any], actions: list[Any]) -> None:
        self.batches.append(([e.media_id for e in entries], [a.action_id for a in actions]))


def batcher(tmp_path: Path, max_files: int, taken: Taken) -> Batcher:
    made = Batcher(tmp_path / "gateway.sqlite", None, None, None, max_files, 60.0, lambda *a: None)  # type: ignore[arg-type]
    made._anchor = taken  # type: ignore[method-assign]  # what would be pinned and anchored
    return made


def test_batcher_fills_a_batch_with_files_then_actions_up_to_its_maximum(
    tmp_path: Path, store: BatchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = [add_entry(store, n) for n in range(2)]
    actions = [add_action(store) for _ in range(2)]
    taken = Taken()
    closer = batcher(tmp_path, 3, taken)
    assert closer.close_due(store, None) == 0.0  # type: ignore[arg-type]  # four waiting, three fit: go again
    assert taken.batches == [(media, actions[:1])]
    # the one left is young: the batcher waits for more, or for it to age
    assert closer.close_due(store, None) > 0  # type: ignore[arg-type]
    assert len(taken.batches) == 1
    now = time.time()
    later = types.SimpleNamespace(time=lambda: now + 61)  # the batcher's clock, a minute on
    monkeypatch.setattr(batcher_module, "time", later)
    closer.close_due(store, None)  # type: ignore[arg-type]
    assert taken.batches[1] == ([], actions[1:])  # a batch of only actions


def test_batcher_closes_a_full_batch_of_actions_at_once(tmp_path: Path, store: BatchStore) -> None:
    actions = [add_action(store) for _ in range(2)]
    taken = Taken()
    batcher(tmp_path, 2, taken).close_due(store, None)  # type: ignore[arg-type]
    assert taken.batches == [([], actions)]


def test_one_batcher_leads_per_database_and_only_a_new_leader_releases_what_a_dead_one_took(
    gateway_target: Path | str, store: BatchStore
) -> None:
    from mediaproof.gateway_db import SessionLock

    def process_batcher() -> Batcher:  # as each upload process builds its own
        lock = SessionLock(gateway_target, "batcher")
        return Batcher(gateway_target, None, None, None, 2, 60.0, lambda *a: None, leader=lock)  # type: ignore[arg-type]

    first, second = process_batcher(), process_batcher()
    media = [add_entry(store, n) for n in range(2)]
    assert first._lead(store) and first.leading
    assert [e.media_id for e in store.take_pending(2)] == media  # the leader is closing a batch of them
    assert not second._lead(store) and not second.leading  # a live leader's taken entries are left alone
    assert store.pending_summary()[0] == 0
    first._leader.close()  # type: ignore[union-attr]  # the leading process died: its lock went with it
    assert second._lead(store) and second.leading
    assert store.pending_summary()[0] == 2  # the new leader put them back for its own next batch
    second._leader.close()  # type: ignore[union-attr]
