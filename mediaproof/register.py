"""Registering media on chain: the owner's wallet, a fresh record, and `registerMedia` with R receipts.

Shared by the upload service (which relays the owner's signed record) and `register_file`, the direct path where
this machine stores the bytes itself and the owner sends the transaction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction

from mediaproof import eip712, mediatype
from mediaproof.chain import ZERO_ADDRESS, MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.errors import StorageError
from mediaproof.storage.client import StoredReceipt

SIGNATURE_LIFETIME = 3600  # seconds a signed record stays valid: long enough for slow replication


@dataclass
class Registration:
    sha256: str
    cid: str
    media_id: str
    tx: str
    block: int
    owner: str
    user_contract: str
    clusters: list[int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_user(chain: MediaproofChain, account: LocalAccount, deposit_wei: int) -> str:
    """The account's UserMedia, registering it (with `deposit_wei`) first if it has none."""
    existing = chain.media_app.functions.userContract(account.address).call()
    if existing != ZERO_ADDRESS:
        return str(existing)
    minimum = chain.media_app.functions.minimumDeposit().call()
    chain.transact(account, chain.media_app.functions.register(), value=max(deposit_wei, minimum))
    return str(chain.media_app.functions.userContract(account.address).call())


def active_clusters(chain: MediaproofChain) -> list[tuple[int, str]]:
    """(cluster id, endpoint) of every Active cluster, in id order."""
    return [(c[0], c[4]) for c in chain.topology.functions.clusters().call() if c[3] == 1]


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


def submit_record(
    chain: MediaproofChain,
    sender: LocalAccount,
    owner: str,
    user_contract: str,
    record: eip712.MediaRecord,
    signature: bytes,
    receipts: list[StoredReceipt],
) -> Registration:
    """Send `registerMedia` from `sender` (the owner or a relayer) and describe the registration."""
    tx = chain.transact(sender, register_call(chain, user_contract, record, signature, receipts))
    return Registration(
        sha256=record.sha256.hex(),
        cid=record.cid,
        media_id=media_id_of(record, chain.chain_id, user_contract),
        tx="0x" + bytes(tx["transactionHash"]).hex(),
        block=int(tx["blockNumber"]),
        owner=owner,
        user_contract=user_contract,
        clusters=[r.cluster_id for r in receipts],
    )


def register_file(
    chain: MediaproofChain,
    account: LocalAccount,
    path: Path,
    digest: ContentDigest,
    title: str,
    deposit_wei: int,
    timeout: float,
    progress: Callable[[int], None] | None = None,
) -> Registration:
    """The direct path, without the upload service: store on the first R active clusters, sign, send as owner."""
    from mediaproof.storage.client import StorageClusterClient

    with path.open("rb") as handle:
        media_type = mediatype.sniff_or_binary(handle.read(mediatype.SNIFF_BYTES))
    user_contract = ensure_user(chain, account, deposit_wei)
    factor = chain.topology.functions.replicationFactor().call()
    clusters = active_clusters(chain)
    if len(clusters) < factor:
        raise StorageError(f"only {len(clusters)} active storage clusters, but {factor} copies are required")
    receipts = [
        StorageClusterClient(endpoint, timeout=timeout).store(
            path, sha256=digest.sha256, cid=digest.cid, size=digest.size, title=title, progress=progress
        )
        for _, endpoint in clusters[:factor]
    ]
    record = new_record(digest, media_type, title)
    signature = eip712.sign(eip712.record_typed_data(record, chain.chain_id, user_contract), account.key)
    return submit_record(chain, account, account.address, user_contract, record, signature, receipts)
