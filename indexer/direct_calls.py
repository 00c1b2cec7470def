"""The record and owner signature of a direct registration, read back from the transaction that sent it.

MediaRegistered carries the record's fields but not its nonce, deadline, fee cap or the owner's signature, which a
proof bundle needs (a verifier rebuilds the media id from the whole record). They are in the calldata of
`UserMedia.registerMedia(record, ownerSignature, receipts)` when the transaction called the owner's UserMedia
itself (the owner or a relayer sending it); a registration made through another contract has none to read here.

Pure: decodes bytes the source fetched, and keeps the record only if its digest is the event's media id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from indexer.abi import canonical_types
from mediaproof import eip712
from mediaproof.abis import load_abi


@dataclass(frozen=True)
class DirectRecord:
    """What the transaction said beside the event: the signed record (as eip712.MediaRecord.message() writes it)
    and the owner's signature."""

    record_message: dict[str, Any]
    owner_signature: bytes


@cache
def _register_media() -> tuple[bytes, list[str]]:
    item = next(i for i in load_abi("UserMedia") if i.get("type") == "function" and i["name"] == "registerMedia")
    types = canonical_types(item["inputs"])
    return bytes(function_signature_to_4byte_selector(f"registerMedia({','.join(types)})")), types


def register_media_selector() -> bytes:
    return _register_media()[0]


def read_direct_record(
    tx_to: str | None, tx_input: bytes, user_contract: str, media_id: str, chain_id: int, media_app: str
) -> DirectRecord | None:
    """The record a registerMedia transaction to `user_contract` sent, if its digest is `media_id`; else None."""
    selector, types = _register_media()
    if tx_to is None or to_checksum_address(tx_to) != to_checksum_address(user_contract):
        return None
    if tx_input[:4] != selector:
        return None
    try:
        (owner, sha, cid, size, media_type, title, variants, parent, nonce, deadline, max_fee), signature, _ = (
            abi_decode(types, tx_input[4:])
        )
        record = eip712.MediaRecord(
            owner=to_checksum_address(owner),
            sha256=bytes(sha),
            cid=cid,
            size=size,
            media_type=media_type,
            title=title,
            nonce=nonce,
            deadline=deadline,
            variants=tuple(eip712.MediaVariant(n, bytes(s), c, z) for n, s, c, z in variants),
            parent=bytes(parent),
            max_fee=max_fee,
        )
        if "0x" + eip712.media_id(record, chain_id, media_app).hex() != media_id.lower():
            return None
    except Exception:  # calldata that is not what it claims fails in eth_abi's many ways: nothing to keep
        return None
    return DirectRecord(record.message(), bytes(signature))
