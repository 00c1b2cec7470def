"""mediaproof.bundle: a bundle survives its JSON round trip; anything malformed is a ProofError that says what
is wrong, never another exception (fuzzed)."""

from __future__ import annotations

import contextlib
import json
import secrets

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof import eip712
from mediaproof.bundle import BundleReceipt, ProofBundle, parse_bundle, parse_manifest
from mediaproof.errors import ProofError


def sample() -> ProofBundle:
    owner = Account.create().address
    record = eip712.MediaRecord(owner, secrets.token_bytes(32), "bafkreiabc", 12, "image/png", "A title ✓", 2**255 + 7,
                                1_900_000_000)  # fmt: skip
    return ProofBundle(
        kind="batched",
        record=record,
        owner_signature=secrets.token_bytes(65),
        receipts=(BundleReceipt(1, 1_800_000_000, secrets.token_bytes(65)),),
        media_id=secrets.token_bytes(32),
        chain_id=31337,
        contract=Account.create().address,
        topology=Account.create().address,
        tx="0x" + secrets.token_hex(32),
        block=42,
        batch=42,
        proof=(secrets.token_bytes(32),),
        manifest_cid="bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    )


def test_round_trip_keeps_every_field_and_big_integers_as_strings():
    bundle = sample()
    text = json.dumps(bundle.to_json())
    data = json.loads(text)
    assert data["record"]["nonce"] == str(2**255 + 7)  # JSON.parse in a browser keeps it exact
    for key in ("sha256", "owner", "leaf", "proof", "batch", "chain_id", "contract", "tx"):
        assert key in data
    assert parse_bundle(data) == bundle


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.pop("record"), "record"),
        (lambda d: d.update(format="ots"), "format"),
        (lambda d: d.update(kind="maybe"), "kind"),
        (lambda d: d.update(sha256="0x" + "00" * 32), "sha256"),
        (lambda d: d.update(owner=Account.create().address), "owner"),
        (lambda d: d.update(proof=["0x1234"]), "32 bytes"),
        (lambda d: d.update(contract="nope"), "address"),
        (lambda d: d.update(tx="0x12"), "32 bytes"),
    ],
)
def test_malformed_bundles_say_what_is_wrong(change, says):
    data = sample().to_json()
    change(data)
    with pytest.raises(ProofError, match=says):
        parse_bundle(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200)
@given(data=json_values)
def test_fuzz_any_json_is_a_bundle_or_a_proof_error(data):
    for parse in (parse_bundle, parse_manifest):
        with contextlib.suppress(ProofError):
            parse(data)


@settings(max_examples=100)
@given(key=st.sampled_from(list(sample().to_json())), value=json_values)
def test_fuzz_one_field_replaced_is_still_only_ever_a_proof_error(key, value):
    data = sample().to_json()
    data[key] = value
    with contextlib.suppress(ProofError):
        parse_bundle(data)
