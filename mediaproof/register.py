"""Registering media on chain: a fresh record for the owner to sign, its media id, and the `registerMedia` call
with R receipts, for whoever sends it (the owner's wallet, or the upload service relaying the owner's signature).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from web3.contract.contract import ContractFunction

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.storage.client import StoredReceipt

SIGNATURE_LIFETIME = 3600  # seconds a signed record stays valid: long enough for slow replication


def new_record(
    digest: ContentDigest,
    media_type: str,
    title: str,
    variants: tuple[eip712.MediaVariant, ...] = (),
    parent: bytes = eip712.ZERO32,
    now: float | None = None,
) -> eip712.MediaRecord:
    """A record for the owner to sign: a random unordered nonce and a deadline SIGNATURE_LIFETIME ahead."""
    return eip712.MediaRecord(
        sha256=digest.sha256,
        cid=digest.cid,
        size=digest.size,
        media_type=media_type,
        title=title,
        nonce=secrets.randbits(256),
        deadline=int(time.time() if now is None else now) + SIGNATURE_LIFETIME,
        variants=variants,
        parent=parent,
    )


def media_id_of(record: eip712.MediaRecord, chain_id: int, user_contract: str) -> str:
    return "0x" + eip712.digest(eip712.record_typed_data(record, chain_id, user_contract)).hex()


def receipt_arguments(receipts: Iterable[StoredReceipt]) -> list[tuple[int, int, bytes]]:
    """`ReceiptSignature[]` for registerMedia: (cluster id, pinnedAt, signature) of each receipt."""
    return [(r.cluster_id, r.pinned_at, r.signature) for r in receipts]


def register_call(
    chain: MediaproofChain,
    user_contract: str,
    record: eip712.MediaRecord,
    signature: bytes,
    receipts: Iterable[StoredReceipt],
) -> ContractFunction:
    """The `registerMedia` call, for whoever sends it (the owner, or an approved relayer)."""
    user = chain.user_media(user_contract)
    return user.functions.registerMedia(record.as_tuple(), signature, receipt_arguments(receipts))
