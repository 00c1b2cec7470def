"""Test helpers for the contract suite: deterministic cluster keys and a MediaKit that builds records, delete
orders, receipts and batches, and signs them with mediaproof.eip712 and mediaproof.merkle exactly as the services
do."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712, merkle

MIN_DEPOSIT = 10**16
OWNER_DEPOSIT = 10**18
REPLICATION_FACTOR = 2
CLUSTER_COUNT = 3
RECEIPT_LIFETIME = 3600
WITHDRAWAL_DELAY = 2 * 86400
ANVIL_NETWORK = "ethereum:local:foundry"


def cluster_key(index: int) -> Any:
    """Deterministic cluster signing keys (clusters only sign, so they need no funds)."""
    return Account.from_key(keccak(text=f"mediaproof-test-cluster-{index}"))


def random_sha() -> bytes:
    return secrets.token_bytes(32)


def private_key(account: Any) -> str:
    return str(account.private_key)


@dataclass(frozen=True)
class BatchEntry:
    """One record of a batch with everything its bundle carries."""

    record: eip712.MediaRecord
    signature: bytes
    receipts: list[tuple[int, int, bytes]]
    media_id: bytes

    @property
    def receipts_hash(self) -> bytes:
        return merkle.receipts_hash(self.receipts)

    @property
    def leaf_values(self) -> tuple[Any, ...]:
        return merkle.batch_leaf_values(self.record.sha256, self.record.owner, self.media_id, self.receipts_hash)


@dataclass
class MediaKit:
    """Builds and signs records, delete orders, receipts and batches for one deployment."""

    chain: Any
    topology: Any
    app: Any

    @property
    def chain_id(self) -> int:
        return int(self.chain.chain_id)

    @property
    def now(self) -> int:
        return int(self.chain.pending_timestamp)

    def deadline(self, seconds: int = 3600) -> int:
        return self.now + seconds

    def record(
        self,
        owner: Any,
        sha256: bytes | None = None,
        *,
        variants: int = 0,
        nonce: int | None = None,
        deadline: int | None = None,
        parent: bytes = eip712.ZERO32,
        title: str = "Sunset over the harbour",
        max_fee: int = 10**16,
    ) -> eip712.MediaRecord:
        sha = sha256 or random_sha()
        return eip712.MediaRecord(
            owner=str(owner.address if hasattr(owner, "address") else owner),
            sha256=sha,
            cid="bafkrei" + sha.hex()[:52],
            size=1000 + sha[0],
            media_type="image/jpeg",
            title=title,
            nonce=secrets.randbits(64) if nonce is None else nonce,
            deadline=self.deadline() if deadline is None else deadline,
            variants=tuple(
                eip712.MediaVariant(name, random_sha(), f"bafkreivariant{name}{i}", 100 * (i + 1))
                for i, name in enumerate(["small", "medium", "large", "poster"][:variants])
            ),
            parent=parent,
            max_fee=max_fee,
        )

    def record_id(self, record: eip712.MediaRecord) -> bytes:
        return eip712.media_id(record, self.chain_id, str(self.app.address))

    def sign_record(self, record: eip712.MediaRecord, key: str) -> bytes:
        return eip712.sign(eip712.record_typed_data(record, self.chain_id, str(self.app.address)), key)

    def sign_delete(self, order: eip712.DeleteMedia, key: str) -> bytes:
        return eip712.sign(eip712.delete_typed_data(order, self.chain_id, str(self.app.address)), key)

    def receipt(
        self,
        record: eip712.MediaRecord,
        cluster_id: int,
        key: Any = None,
        *,
        issued_at: int | None = None,
        owner: str | None = None,
        media_id: bytes | None = None,
        sha256: bytes | None = None,
    ) -> tuple[int, int, bytes]:
        """A ReceiptSignature tuple bound to `record` from cluster `cluster_id` (signed by its own key unless
        given); each bound field may be overridden to forge one for something else."""
        signer = key if key is not None else cluster_key(cluster_id)
        issued = self.now if issued_at is None else issued_at
        receipt = eip712.StorageReceipt(
            cluster_id,
            sha256 or record.sha256,
            owner or record.owner,
            media_id or self.record_id(record),
            issued,
        )
        typed = eip712.receipt_typed_data(receipt, self.chain_id, str(self.topology.address))
        return (cluster_id, issued, eip712.sign(typed, signer.key))

    def receipts(self, record: eip712.MediaRecord, cluster_ids: tuple[int, ...] = (1, 2), **kw: Any) -> list[Any]:
        return [self.receipt(record, cid, **kw) for cid in cluster_ids]

    def entry(self, record: eip712.MediaRecord, key: str) -> BatchEntry:
        return BatchEntry(record, self.sign_record(record, key), self.receipts(record), self.record_id(record))

    def tree(self, entries: list[BatchEntry]) -> merkle.StandardMerkleTree:
        return merkle.StandardMerkleTree.of([e.leaf_values for e in entries], merkle.BATCH_LEAF_ENCODING)

    def anchor(self, entries: list[BatchEntry], sequencer: Any) -> tuple[merkle.StandardMerkleTree, int, Any]:
        """Anchors a batch of `entries`; returns its tree, batch number and the transaction."""
        tree = self.tree(entries)
        tx = self.app.anchorBatch(tree.root, b"\x01\x55\x12\x20" + keccak(tree.root), sender=sequencer)
        return tree, int(tx.block_number), tx
