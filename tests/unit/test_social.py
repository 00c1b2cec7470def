"""mediaproof.social: actions sign and recover under MediaApp's domain, their ids are their digests, they share a
batch tree with media entries and prove by the same Merkle path; malformed or unacceptable actions are an
InputError saying what was wrong (fuzzed), never another exception."""

from __future__ import annotations

import contextlib
import json
import secrets

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof import eip712, merkle, social
from mediaproof.bundle import BatchManifest, ManifestEntry, parse_action_bundle, parse_manifest
from mediaproof.errors import InputError, ProofError

CHAIN = 31337
APP = Account.create().address


def follow(author: str, subject: str, on: bool = True) -> social.Follow:
    return social.Follow(author, subject, on, 1_800_000_000, secrets.token_bytes(32))


def comment(author: str, text: str = "Nice shot", **kw: object) -> social.Comment:
    return social.Comment(author, secrets.token_bytes(32), text, 1_800_000_000, secrets.token_bytes(32), **kw)  # type: ignore[arg-type]


def signed(account, action: social.Action) -> social.SignedAction:  # type: ignore[no-untyped-def]
    signature = social.sign(action, CHAIN, APP, account.key)
    return social.SignedAction(action, signature, social.action_id(action, CHAIN, APP))


def test_each_kind_signs_recovers_and_round_trips_through_json():
    a, b = Account.create(), Account.create()
    for action in (
        follow(a.address, b.address),
        social.Like(a.address, secrets.token_bytes(32), True, 1_800_000_000, secrets.token_bytes(32)),
        comment(a.address, "Two\nlines ✓ 😀"),
    ):
        s = signed(a, action)
        assert social.recover(action, CHAIN, APP, s.signature) == a.address
        assert social.recover(action, CHAIN + 1, APP, s.signature) != a.address  # another chain: another digest
        back = social.parse_signed_action(json.loads(json.dumps(s.to_json())))
        assert back == s
        assert social.action_id(back.action, CHAIN, APP) == s.action_id


def test_the_same_intent_twice_is_two_ids_and_the_nonce_is_signed():
    a, b = Account.create(), Account.create()
    one, two = follow(a.address, b.address), follow(a.address, b.address)
    assert social.action_id(one, CHAIN, APP) != social.action_id(two, CHAIN, APP)
    sig = social.sign(one, CHAIN, APP, a.key)
    assert social.recover(two, CHAIN, APP, sig) != a.address  # a signature does not carry over to another nonce


def test_an_action_leaf_is_never_a_media_leaf():
    a = Account.create()
    aid = secrets.token_bytes(32)
    assert social.leaf(a.address, aid) != merkle.batch_leaf(eip712.ZERO32, a.address, aid, merkle.receipts_hash([]))
    assert merkle.receipts_hash([]) != social.ACTION_MARK


@pytest.mark.parametrize(
    ("action", "says"),
    [
        (lambda a: follow(a, a), "yourself"),
        (lambda a: comment(a, "   "), "empty"),
        (lambda a: comment(a, "x" * 2001), "over 2000"),
        (lambda a: comment(a, "bell\x07"), r"U\+0007"),
        (lambda a: comment(a, "evil\u202etxt"), "RIGHT-TO-LEFT OVERRIDE"),
        (lambda a: comment(a, "\n" * 60 + "x"), "lines"),
        (lambda a: comment(a, "", deleted=True), "name the comment"),
        (lambda a: comment(a, "text", deleted=True, replaces=b"\x01" * 32), "no text"),
    ],
)
def test_rules_refuse_what_no_signature_makes_acceptable(action, says):
    with pytest.raises(InputError, match=says):
        social.check_rules(action(Account.create().address))


def test_rules_accept_edits_and_deletes_of_a_named_comment():
    a = Account.create().address
    social.check_rules(comment(a, "fixed typo", replaces=b"\x01" * 32))
    social.check_rules(comment(a, "", deleted=True, replaces=b"\x01" * 32))


@pytest.mark.parametrize(
    ("kind", "change", "says"),
    [
        ("Poke", lambda m: m, "not an action"),
        ("Follow", lambda m: m.pop("subject"), "missing subject"),
        ("Follow", lambda m: m.update(extra=1), "unknown extra"),
        ("Follow", lambda m: m.update(follow="yes"), "follow is not true or false"),
        ("Follow", lambda m: m.update(subject="0x12"), "subject"),
        ("Follow", lambda m: m.update(issuedAt=str(2**64)), "out of range"),
        ("Follow", lambda m: m.update(issuedAt="-1"), "decimal"),
        ("Follow", lambda m: m.update(nonce="0x12"), "nonce"),
    ],
)
def test_malformed_messages_say_what_is_wrong(kind, change, says):
    a, b = Account.create(), Account.create()
    message = follow(a.address, b.address).message()
    change(message)
    with pytest.raises(InputError, match=says):
        social.parse_action(kind, message)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=8),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["kind", "message", "signature", "action_id", "x"]), JSON))
def test_fuzzed_actions_are_input_errors_only(data):
    with contextlib.suppress(InputError):
        social.parse_signed_action(data)


def manifest_with(entries: int, actions: list[social.SignedAction]) -> BatchManifest:
    owner = Account.create()
    items = []
    for _ in range(entries):
        record = eip712.MediaRecord(owner.address, secrets.token_bytes(32), "bafkreiabc", 1, "image/png", "t", 1, 2)
        items.append(ManifestEntry(record, secrets.token_bytes(65), secrets.token_bytes(32), ()))
    return BatchManifest(CHAIN, APP, APP, APP, tuple(items), tuple(actions))


def test_actions_share_the_tree_with_entries_and_prove_by_its_root():
    a, b = Account.create(), Account.create()
    actions = [signed(a, follow(a.address, b.address)), signed(b, comment(b.address))]
    manifest = manifest_with(3, actions)
    tree = manifest.tree()
    back = parse_manifest(json.loads(json.dumps(manifest.to_json(tree))))
    assert back == manifest and back.tree().root == tree.root
    for j in range(len(actions)):
        proof = manifest.action_bundle(j, tree, 77, "0x" + "ab" * 32, "bafy")
        again = parse_action_bundle(json.loads(json.dumps(proof.to_json())))
        assert again == proof
        assert merkle.verify(tree.root, again.leaf, again.proof)
    # an action moved to another author does not prove
    lifted = social.leaf(b.address, actions[0].action_id)
    assert not merkle.verify(tree.root, lifted, manifest.action_bundle(0, tree, 77, "0x" + "ab" * 32, "b").proof)


def test_a_manifest_of_files_only_has_no_actions_key():
    manifest = manifest_with(2, [])
    assert "actions" not in manifest.to_json()
    assert parse_manifest(manifest.to_json()).actions == ()


def test_a_malformed_action_in_a_manifest_is_a_proof_error():
    data = manifest_with(1, []).to_json()
    data["actions"] = [{"kind": "Follow"}]
    with pytest.raises(ProofError, match="malformed"):
        parse_manifest(data)
    data["actions"] = "nope"
    with pytest.raises(ProofError, match="actions is not a list"):
        parse_manifest(data)
