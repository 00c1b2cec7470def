"""ethers v6 (npm, what browser wallets and dapps use) signs the upload's typed data exactly as
mediaproof.eip712.record_typed_data writes it, and the contracts accept that signature: our EIP-712 encoding is
the standard one, not a private dialect that only our own Python agrees with."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from mediakit import BatchEntry
from nodejs import NodeScript

from mediaproof import eip712

MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="module")
def ethers():
    script = NodeScript("ethers_typed_data.mjs")
    yield script
    script.close()


def ethers_sign(ethers, typed_data, key) -> dict:
    # Through JSON, as a browser receives it from the upload service.
    answer = ethers.ask({"typed_data": json.loads(json.dumps(typed_data)), "private_key": key})
    assert "error" not in answer, answer
    return answer


def test_ethers_signature_registers_media_directly_with_a_256_bit_nonce(ethers, user_media, app, kit, owner, owner_key):
    # A 256-bit nonce no JavaScript number can hold: one rounding and the hash (and the nonce spent) would differ.
    record = kit.record(owner, nonce=MAX_UINT256 - 12345, variants=2)
    typed = eip712.record_typed_data(record, kit.chain_id, str(app.address))
    assert typed["message"]["nonce"] == str(MAX_UINT256 - 12345)
    signed = ethers_sign(ethers, typed, owner_key)

    media_id = kit.record_id(record)
    assert bytes.fromhex(signed["hash"][2:]) == media_id == app.recordDigest(record.as_tuple())
    assert signed["address"] == signed["recovered"] == owner.address
    # RFC 6979 signatures are deterministic: ethers and eth_account make the very same bytes.
    assert bytes.fromhex(signed["signature"][2:]) == eip712.sign(typed, owner_key)

    tx = user_media.registerMedia(
        record.as_tuple(), bytes.fromhex(signed["signature"][2:]), kit.receipts(record), sender=owner
    )
    (registered,) = tx.decode_logs(user_media.MediaRegistered)
    assert registered.mediaId == media_id and registered.owner == owner.address
    assert user_media.nonceUsed(MAX_UINT256 - 12345)
    assert not user_media.nonceUsed(MAX_UINT256 - 12344) and not user_media.nonceUsed(MAX_UINT256 - 12346)
    assert app.proofDetail(record.sha256).owner == owner.address


def test_ethers_signature_reveals_a_batched_proof(ethers, app, kit, owner, owner_key, sequencer, stranger):
    records = [kit.record(owner, nonce=MAX_UINT256 - i, max_fee=0) for i in range(3)]
    entries = []
    for record in records:
        signed = ethers_sign(ethers, eip712.record_typed_data(record, kit.chain_id, str(app.address)), owner_key)
        media_id = bytes.fromhex(signed["hash"][2:])  # the batch leaf commits to ethers' hash
        entries.append(BatchEntry(record, bytes.fromhex(signed["signature"][2:]), kit.receipts(record), media_id))
    tree, batch, _ = kit.anchor(entries, sequencer)
    entry = entries[1]
    tx = app.revealProof(
        entry.record.as_tuple(), entry.signature, entry.receipts_hash, tree.proof(1), batch, sender=stranger
    )
    (event,) = tx.decode_logs(app.ProofRevealed)
    assert (event.sha256, event.mediaId, event.owner, event.batch) == (
        entry.record.sha256,
        entry.media_id,
        owner.address,
        batch,
    )
    assert app.proofDetail(entry.record.sha256).batched


def test_ethers_agrees_on_every_field_and_refuses_a_nonce_sent_as_a_json_number(ethers, app, kit, owner, owner_key):
    """Each field changes the hash the same way on both sides; and the reason integers travel as strings: as a
    JSON number a 256-bit nonce is rounded by JSON.parse, which ethers refuses rather than sign the wrong value."""
    base = kit.record(owner, variants=1, nonce=2**255 + 1, parent=b"\x07" * 32, max_fee=10**30)
    variants = [
        base,
        replace(base, title="Sunset ☀ über dem Hafen"),
        replace(base, variants=()),
        replace(base, deadline=2**64 - 1),
        replace(base, size=2**64 - 1),
    ]
    for record in variants:
        typed = eip712.record_typed_data(record, kit.chain_id, str(app.address))
        assert ethers_sign(ethers, typed, owner_key)["hash"] == "0x" + kit.record_id(record).hex()

    typed = eip712.record_typed_data(base, kit.chain_id, str(app.address))
    typed["message"]["nonce"] = int(typed["message"]["nonce"])  # a naive encoder's JSON number
    answer = ethers.ask({"typed_data": typed, "private_key": owner_key})
    assert "error" in answer and "overflow" in answer["error"], answer
