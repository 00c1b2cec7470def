"""Check a file's proof of existence with nothing but the file and an Ethereum RPC endpoint.

hash the bytes → MediaApp.proofDetail(sha256) → the registration's events in its block → every storage receipt's
signature recovered off chain and its signer checked against StorageTopology now.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from web3 import Web3

from mediaproof import eip712
from mediaproof.chain import ZERO_ADDRESS, MediaproofChain
from mediaproof.content import ContentDigest
from mediaproof.errors import NotRegistered

CLUSTER_STATUS = {0: "None", 1: "Active", 2: "Draining", 3: "Down"}


@dataclass
class ReceiptCheck:
    cluster_id: int
    signer: str
    pinned_at: int
    signature_valid: bool  # the signature recovers to `signer` over this media's bytes
    signer_active: bool  # StorageTopology names `signer` as an Active cluster's key right now
    cluster_status: str


@dataclass
class ProofReport:
    sha256: str
    cid: str
    size: int
    owner: str
    user_contract: str
    media_id: str
    timestamp: int
    time: str
    block: int
    tx: str
    title: str
    media_type: str
    rendition: str  # "original", or the variant's name when the file is a variant
    deleted: bool
    receipts: list[ReceiptCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_digest(chain: MediaproofChain, digest: ContentDigest) -> ProofReport:
    """The proof for these bytes, or NotRegistered when nobody ever registered them."""
    proof = chain.media_app.functions.proofDetail(digest.sha256).call()
    owner, user_contract, media_id, timestamp, block = proof
    if owner == ZERO_ADDRESS:
        raise NotRegistered(
            f"those bytes (sha256 {digest.sha256.hex()}) were never registered on chain {chain.chain_id}"
        )
    user = chain.user_media(user_contract)
    registered = _one_event(user.events.MediaRegistered, {"mediaId": media_id}, block)
    record_args = registered["args"]
    rendition = "original"
    if record_args["sha256"] != digest.sha256:
        variant = _one_event(user.events.MediaVariantRegistered, {"mediaId": media_id, "sha256": digest.sha256}, block)
        rendition = variant["args"]["name"]
    entry = user.functions.media(media_id).call()
    receipts = [
        _check_receipt(chain, record_args, log["args"])
        for log in user.events.StorageReceiptAccepted.get_logs(
            argument_filters={"mediaId": media_id}, from_block=block, to_block=block
        )
    ]
    return ProofReport(
        sha256=digest.sha256.hex(),
        cid=digest.cid,
        size=digest.size,
        owner=owner,
        user_contract=user_contract,
        media_id="0x" + bytes(media_id).hex(),
        timestamp=timestamp,
        time=datetime.fromtimestamp(timestamp, UTC).isoformat(),
        block=block,
        tx="0x" + bytes(registered["transactionHash"]).hex(),
        title=record_args["title"],
        media_type=record_args["mediaType"],
        rendition=rendition,
        deleted=bool(entry[4]),
        receipts=receipts,
    )


def _one_event(event: Any, filters: dict[str, Any], block: int) -> Any:
    logs = event.get_logs(argument_filters=filters, from_block=block, to_block=block)
    if not logs:
        raise NotRegistered(f"the registration event is missing from block {block}: is this an archive node?")
    return logs[0]


def _check_receipt(chain: MediaproofChain, record: Any, accepted: Any) -> ReceiptCheck:
    receipt = eip712.StorageReceipt(
        cluster_id=accepted["clusterId"],
        sha256=record["sha256"],
        cid=record["cid"],
        size=record["size"],
        pinned_at=accepted["pinnedAt"],
    )
    typed = eip712.receipt_typed_data(receipt, chain.chain_id, chain.topology.address)
    try:
        recovered = eip712.recover(typed, accepted["signature"])
    except Exception:
        recovered = ZERO_ADDRESS
    signer = Web3.to_checksum_address(accepted["signer"])
    cluster = chain.topology.functions.cluster(accepted["clusterId"]).call()
    return ReceiptCheck(
        cluster_id=accepted["clusterId"],
        signer=signer,
        pinned_at=accepted["pinnedAt"],
        signature_valid=recovered == signer,
        signer_active=bool(chain.topology.functions.isActiveSigner(signer).call()),
        cluster_status=CLUSTER_STATUS.get(cluster[3], "Unknown"),
    )
