"""Social actions through the upload service on real parts (anvil, an IPFS node, a storage cluster, the indexer):
a like and a comment are accepted, batched, anchored and proven (HTTP, the CLI, MediaApp.verifyInclusion, and
ethers v6 as an independent signer); every hostile use is a 4xx and stores nothing."""

from __future__ import annotations

import json
import secrets
import sqlite3
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from mediaproof import eip712, social
from mediaproof.bundle import parse_action_bundle, parse_manifest
from mediaproof.chain import MediaproofChain
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.verify import ChainReader, verify_action_bundle
from tests.contracts.nodejs import NodeScript
from tests.integration.auth import auth
from tests.integration.stack import cli_env, stack_settings
from tests.integration.test_upload_access import owned_wallet
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB_KEY = ANVIL_TEST_KEYS[1]
BOB = Account.from_key(BOB_KEY)
CAROL = Account.create()
ACTIONS_PER_MINUTE = 80  # per client address: every request of this module comes from 127.0.0.1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("social")).model_copy(
        update={"batch_interval": 0.5, "upload_actions_per_minute": ACTIONS_PER_MINUTE, "prepare_variant_wait": 5.0}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    chain = MediaproofChain.from_settings(stack.settings.model_copy(update={"rpc_url": stack.anvil.url}))
    with UploadClient(url(stack)) as client:
        ensure_wallet(client, chain, ALICE, 10**17)  # Alice deletes media: her UserMedia holds the tombstone
    return chain


@pytest.fixture(scope="module")
def media(stack: LocalStack, chain: MediaproofChain) -> dict[str, Any]:
    """Alice's photo, registered and indexed."""
    return register(stack, photo_bytes(41, (640, 480)), "Gulls over the pier")


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def register(stack: LocalStack, data: bytes, title: str) -> dict[str, Any]:
    headers = auth(url(stack), ALICE)
    stored = httpx.post(url(stack) + "/uploads", content=data, headers=headers, timeout=120)
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepared = httpx.post(url(stack) + f"/uploads/{upload_id}/prepare", json={"owner": ALICE.address, "title": title},
                          headers=headers, timeout=60).json()  # fmt: skip
    signature = eip712.sign(prepared["typed_data"], ALICE.key)
    done = httpx.post(url(stack) + f"/uploads/{upload_id}/commit", json={"signature": "0x" + signature.hex()},
                      headers=headers, timeout=120)  # fmt: skip
    assert done.status_code == 200 and done.json()["state"] == "committed", done.text
    indexed(stack, done.json()["media_id"], lambda m: True)
    return dict(done.json())


def indexed(stack: LocalStack, media_id: str, done: Any, wait: float = 30.0) -> dict[str, Any]:
    """The indexer's record of `media_id` once `done(record)` (it applies a block within about a second)."""
    deadline = time.monotonic() + wait
    while True:
        answer = httpx.get(f"{stack.settings.resolved_indexer_url()}/media/{media_id}", timeout=10)
        if answer.status_code == 200 and done(answer.json()):
            return dict(answer.json())
        assert time.monotonic() < deadline, f"the indexer never showed {media_id} as expected: {answer.text}"
        time.sleep(0.2)


def domain(chain: MediaproofChain) -> tuple[int, str]:
    return chain.chain_id, chain.media_app.address


def like(author: Any, media_id: str, on: bool = True, issued_at: int | None = None) -> social.Like:
    return social.Like(author.address, bytes.fromhex(media_id[2:]), on, issued_at or int(time.time()),
                       secrets.token_bytes(32))  # fmt: skip


def comment(
    author: Any, media_id: str, text: str, replaces: str | None = None, deleted: bool = False
) -> social.Comment:
    return social.Comment(author.address, bytes.fromhex(media_id[2:]), text, int(time.time()), secrets.token_bytes(32),
                          bytes.fromhex(replaces[2:]) if replaces else eip712.ZERO32, deleted)  # fmt: skip


def follow(author: Any, subject: str) -> social.Follow:
    return social.Follow(author.address, subject, True, int(time.time()), secrets.token_bytes(32))


def body(chain: MediaproofChain, action: social.Action, key: Any) -> dict[str, Any]:
    """The POST /actions body of `action`, signed with `key` (the author's, unless a test forges)."""
    signature = social.sign(action, *domain(chain), key)
    return {"kind": action.kind, "message": action.message(), "signature": "0x" + signature.hex()}


def post(stack: LocalStack, payload: Any, wait: bool = False, **kw: Any) -> httpx.Response:
    params = {"wait": "true"} if wait else {}
    if isinstance(payload, bytes):
        return httpx.post(url(stack) + "/actions", content=payload, params=params, timeout=60, **kw)
    return httpx.post(url(stack) + "/actions", json=payload, params=params, timeout=60, **kw)


def action_id_of(chain: MediaproofChain, action: social.Action) -> str:
    return eip712.hex32(social.action_id(action, *domain(chain)))


def stored_rows(stack: LocalStack, action_id: str) -> int:
    db = sqlite3.connect(f"file:{stack.settings.resolved_gateway_db()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM action_entries WHERE action_id = ?", (action_id,)).fetchone()[0])
    finally:
        db.close()


def refused(stack: LocalStack, chain: MediaproofChain, action: social.Action, status: int, words: str,
            key: Any = None) -> None:  # fmt: skip
    """Posting `action` (signed with `key`, by default its author's) is answered `status` saying `words`, as
    problem+json, and nothing is stored."""
    signer = key if key is not None else {a.address: a for a in (ALICE, BOB, CAROL)}[action.author].key
    answer = post(stack, body(chain, action, signer))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.json()["detail"], answer.json()
    assert stored_rows(stack, action_id_of(chain, action)) == 0
    assert httpx.get(url(stack) + f"/actions/{action_id_of(chain, action)}", timeout=10).status_code == 404


def mediaproof(stack: LocalStack, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    settings = stack.settings.model_copy(update={"rpc_url": stack.anvil.url})
    return subprocess.run([sys.executable, "-m", "mediaproof.cli", *args], capture_output=True, text=True,
                          timeout=300, env=cli_env(settings, key))  # fmt: skip


def reader(chain: MediaproofChain) -> ChainReader:
    return ChainReader(chain.w3, chain.media_app.address, chain.topology.address)


# --- the happy path ---


def test_a_like_is_anchored_with_a_proof_that_verifies(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    action = like(BOB, media["media_id"])
    answer = post(stack, body(chain, action, BOB.key), wait=True)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["action_id"] == action_id_of(chain, action) and got["author"] == BOB.address
    assert got["state"] == "anchored" and got["kind"] == "Like"
    assert httpx.get(url(stack) + f"/actions/{got['action_id']}", timeout=10).json() == got

    bundle = parse_action_bundle(got["proof"])
    report = verify_action_bundle(reader(chain), bundle)
    assert report.proven, report.problems
    assert report.batch == got["batch"] and report.author == BOB.address
    leaf, proof = bundle.leaf, list(bundle.proof)
    assert chain.media_app.functions.verifyInclusion(leaf, proof, bundle.batch).call()
    lifted = social.leaf(ALICE.address, bundle.action.action_id)  # the same action claimed for another author
    assert not chain.media_app.functions.verifyInclusion(lifted, proof, bundle.batch).call()

    # The manifest the anchor names, as the storage cluster serves it, carries the action and its signature.
    manifest = httpx.get(f"{stack.settings.resolved_download_url()}/manifests/{got['manifest_cid']}", timeout=30)
    assert manifest.status_code == 200
    carried = parse_manifest(manifest.json())
    assert bundle.action in carried.actions


def test_cli_comments_edits_and_proves(stack: LocalStack, chain: MediaproofChain, media: dict, tmp_path: Path) -> None:
    made = mediaproof(stack, "comment", media["short_id"], "Lovely light", "--wait", "--json", key=BOB_KEY)
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)
    assert first["state"] == "anchored" and first["author"] == BOB.address and first["kind"] == "Comment"
    assert first["proof"]["message"]["text"] == "Lovely light"
    assert first["proof"]["message"]["mediaId"] == media["media_id"]

    checked = mediaproof(stack, "verify-action", first["action_id"], "--json")
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert json.loads(checked.stdout)["proven"] is True

    edit = mediaproof(stack, "comment", media["media_id"], "Lovely light!", "--edit", first["action_id"], "--json",
                      key=BOB_KEY)  # fmt: skip
    assert edit.returncode == 0, edit.stderr
    assert json.loads(edit.stdout)["state"] in ("pending", "closing", "anchored")

    # A proof file verifies offline of the gateway; the same file with its text changed does not.
    proof_file = tmp_path / "comment.json"
    proof_file.write_text(json.dumps(first["proof"]))
    assert mediaproof(stack, "verify-action", str(proof_file)).returncode == 0
    tampered = {**first["proof"], "message": {**first["proof"]["message"], "text": "I hate this"}}
    proof_file.write_text(json.dumps(tampered))
    bad = mediaproof(stack, "verify-action", str(proof_file))
    assert bad.returncode == 1 and "NOT proven" in bad.stdout

    followed = mediaproof(stack, "follow", ALICE.address, "--json", key=BOB_KEY)
    assert followed.returncode == 0 and json.loads(followed.stdout)["kind"] == "Follow", followed.stderr
    myself = mediaproof(stack, "follow", BOB.address, key=BOB_KEY)
    assert myself.returncode == 2 and "cannot follow yourself" in myself.stderr


def test_ethers_signs_a_follow_and_a_comment_the_service_accepts(
    stack: LocalStack, chain: MediaproofChain, media: dict
) -> None:
    ethers = NodeScript("ethers_typed_data.mjs")
    try:
        for action in (follow(CAROL, ALICE.address), comment(CAROL, media["media_id"], "ethers ✓ 😀\nsecond line")):
            typed = json.loads(json.dumps(social.typed_data(action, *domain(chain))))
            signed = ethers.ask({"typed_data": typed, "private_key": "0x" + bytes(CAROL.key).hex()})
            assert "error" not in signed, signed
            assert signed["hash"] == action_id_of(chain, action)
            answer = post(stack, {"kind": action.kind, "message": typed["message"], "signature": signed["signature"]})
            assert answer.status_code == 202, answer.text
            assert answer.json()["action_id"] == signed["hash"]
    finally:
        ethers.close()


# --- attacks: each a 4xx, nothing stored ---


def test_forged_and_lifted_signatures_are_refused(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    refused(stack, chain, like(BOB, media["media_id"]), 403, f"not {BOB.address}'s", key=CAROL.key)
    # Alice's valid signature of her own like, sent with Bob as the author: another message, another digest.
    mine = like(ALICE, media["media_id"])
    lifted = {**body(chain, mine, ALICE.key)}
    lifted["message"] = {**lifted["message"], "author": BOB.address}
    answer = post(stack, lifted)
    assert answer.status_code == 403, answer.text
    assert stored_rows(stack, action_id_of(chain, mine)) == 0


def test_a_replay_is_409_and_in_its_batch_once(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    action = like(CAROL, media["media_id"])
    payload = body(chain, action, CAROL.key)
    first = post(stack, payload, wait=True)
    assert first.status_code == 200, first.text
    again = post(stack, payload)
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]
    assert stored_rows(stack, action_id_of(chain, action)) == 1
    manifest = httpx.get(f"{stack.settings.resolved_download_url()}/manifests/{first.json()['manifest_cid']}",
                         timeout=30).json()  # fmt: skip
    assert [a["action_id"] for a in manifest["actions"]].count(action_id_of(chain, action)) == 1


def test_issued_at_far_from_the_clock_is_refused(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    now = int(time.time())
    refused(stack, chain, like(BOB, media["media_id"], issued_at=now - 3600), 422, "behind this gateway's clock")
    refused(stack, chain, like(BOB, media["media_id"], issued_at=now + 3600), 422, "ahead of this gateway's clock")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("   ", "empty"),
        ("x" * 2001, "over 2000"),
        ("bell\x07", "control"),
        ("abc\u202edef", "bidirectional"),
    ],
)
def test_unacceptable_comments_are_refused(
    stack: LocalStack, chain: MediaproofChain, media: dict, text: str, words: str
) -> None:
    answer = post(stack, body(chain, comment(BOB, media["media_id"], text), BOB.key))
    assert answer.status_code == 422 and words in answer.json()["detail"], answer.text


def test_self_follow_is_refused(stack: LocalStack, chain: MediaproofChain) -> None:
    refused(stack, chain, follow(BOB, BOB.address), 422, "cannot follow yourself")


def test_unknown_media_is_404(stack: LocalStack, chain: MediaproofChain) -> None:
    unknown = "0x" + secrets.token_hex(32)
    refused(stack, chain, like(BOB, unknown), 404, "no media")
    refused(stack, chain, comment(BOB, unknown, "hello?"), 404, "no media")


def test_someone_elses_comment_cannot_be_edited_or_deleted(
    stack: LocalStack, chain: MediaproofChain, media: dict
) -> None:
    original = comment(BOB, media["media_id"], "Bob's words")
    assert post(stack, body(chain, original, BOB.key)).status_code == 202
    bobs = action_id_of(chain, original)
    refused(stack, chain, comment(CAROL, media["media_id"], "Carol's words", replaces=bobs), 403, "only its author")
    refused(stack, chain, comment(CAROL, media["media_id"], "", replaces=bobs, deleted=True), 403, "only its author")
    refused(stack, chain, comment(BOB, media["media_id"], "x", replaces="0x" + "ab" * 32), 404, "no comment")
    other_media = "0x" + secrets.token_hex(32)
    refused(stack, chain, comment(BOB, other_media, "", replaces=bobs, deleted=True), 404, "no media")
    mine = comment(BOB, media["media_id"], "", replaces=bobs, deleted=True)
    assert post(stack, body(chain, mine, BOB.key)).status_code == 202


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"{not json", 422),
        (b"[1, 2]", 422),
        ({"kind": "Poke", "message": {}, "signature": "0x00"}, 422),
        ({"kind": "Like", "message": "like", "signature": "0x00"}, 422),
        ({"kind": "Follow", "message": {"author": 1}, "signature": "0x00"}, 422),
        ({"kind": "Like", "message": {}, "signature": 12}, 422),
        (b'{"kind": "Comment", "pad": "' + b"x" * (17 << 10) + b'"}', 413),
    ],
)
def test_malformed_bodies_are_refused(stack: LocalStack, payload: Any, status: int) -> None:
    answer = post(stack, payload, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_signature_of_the_wrong_type_is_refused(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    action = like(BOB, media["media_id"])
    for signature in ("0x", "zz", "0x" + "g" * 130, 65):
        answer = post(stack, {**body(chain, action, BOB.key), "signature": signature})
        assert answer.status_code == 422, answer.text
    assert stored_rows(stack, action_id_of(chain, action)) == 0


def test_deleted_media_takes_no_likes_or_comments(stack: LocalStack, chain: MediaproofChain) -> None:
    gone = register(stack, photo_bytes(42, (500, 400)), "Soon gone")
    headers = auth(url(stack), ALICE)
    order = httpx.post(url(stack) + f"/media/{gone['media_id']}/delete/prepare", headers=headers, timeout=30).json()
    signature = eip712.sign(order["typed_data"], ALICE.key)
    deleted = httpx.post(url(stack) + f"/media/{gone['media_id']}/delete", headers=headers, timeout=60,
                         json={"nonce": order["nonce"], "deadline": order["deadline"],
                               "signature": "0x" + signature.hex()})  # fmt: skip
    assert deleted.status_code == 200, deleted.text
    indexed(stack, gone["media_id"], lambda m: m["deleted"])
    refused(stack, chain, like(BOB, gone["media_id"]), 410, "deleted")
    refused(stack, chain, comment(BOB, gone["media_id"], "RIP"), 410, "deleted")


def test_a_contract_wallet_acts_with_eip_1271(stack: LocalStack, chain: MediaproofChain) -> None:
    holder, stranger = Account.create(), Account.create()
    wallet = types.SimpleNamespace(address=owned_wallet(chain, holder.address))
    forged = follow(wallet, ALICE.address)
    refused(stack, chain, forged, 403, "EIP-1271", key=stranger.key)
    action = follow(wallet, ALICE.address)
    answer = post(stack, body(chain, action, holder.key), wait=True)  # the key the wallet's isValidSignature accepts
    assert answer.status_code == 200 and answer.json()["author"] == wallet.address, answer.text
    report = verify_action_bundle(reader(chain), parse_action_bundle(answer.json()["proof"]))
    assert report.proven, report.problems


def test_a_flood_is_told_to_wait(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    """Last in this module: it spends the client address's allowance for a minute."""
    for _ in range(ACTIONS_PER_MINUTE + 1):
        answer = post(stack, {"kind": "Like", "message": {}, "signature": "0x00"})
        if answer.status_code == 429:
            break
        assert answer.status_code == 422, answer.text
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert "social actions" in answer.json()["detail"]
    # even a good action from the flooding address waits, and is not stored
    action = like(BOB, media["media_id"])
    assert post(stack, body(chain, action, BOB.key)).status_code == 429
    assert stored_rows(stack, action_id_of(chain, action)) == 0
