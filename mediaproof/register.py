"""Register a file from this machine: store it on R clusters, sign the record as its owner, put it on chain.

The path `mediaproof upload` takes before the upload service exists to relay it; the owner sends the transaction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from mediaproof import eip712, mediatype
from mediaproof.chain import ZERO_ADDRESS, MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.errors import StorageError

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
    from mediaproof.storage.client import StorageClusterClient

    with path.open("rb") as handle:
        media_type = mediatype.sniff_or_binary(handle.read(mediatype.SNIFF_BYTES))
    user_contract = ensure_user(chain, account, deposit_wei)
    factor = chain.topology.functions.replicationFactor().call()
    clusters = active_clusters(chain)
    if len(clusters) < factor:
        raise StorageError(f"only {len(clusters)} active storage clusters, but {factor} copies are required")
    receipts = []
    for cluster_id, endpoint in clusters[:factor]:
        answer = StorageClusterClient(endpoint, timeout=timeout).store(
            path, sha256=digest.sha256, cid=digest.cid, size=digest.size, title=title, progress=progress
        )
        receipts.append((cluster_id, answer.pinned_at, answer.signature))
    record = eip712.MediaRecord(
        sha256=digest.sha256,
        cid=digest.cid,
        size=digest.size,
        media_type=media_type,
        title=title,
        nonce=secrets.randbits(256),
        deadline=int(time.time()) + SIGNATURE_LIFETIME,
    )
    typed = eip712.record_typed_data(record, chain.chain_id, user_contract)
    signature = eip712.sign(typed, account.key)
    user = chain.user_media(user_contract)
    tx = chain.transact(account, user.functions.registerMedia(record.as_tuple(), signature, receipts))
    return Registration(
        sha256=digest.sha256.hex(),
        cid=digest.cid,
        media_id="0x" + eip712.digest(typed).hex(),
        tx="0x" + bytes(tx["transactionHash"]).hex(),
        block=int(tx["blockNumber"]),
        owner=account.address,
        user_contract=user_contract,
        clusters=[r[0] for r in receipts],
    )
