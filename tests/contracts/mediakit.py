"""Test helpers for the contract suite: deterministic cluster keys and a MediaKit that builds records, delete
orders and receipts and signs them with mediaproof.eip712, exactly as the services do."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712

MIN_DEPOSIT = 10**16
OWNER_DEPOSIT = 10**18
REPLICATION_FACTOR = 2
CLUSTER_COUNT = 3
ANVIL_NETWORK = "ethereum:local:foundry"


def cluster_key(index: int) -> Any:
    """Deterministic cluster signing keys (clusters only sign, so they need no funds)."""
    return Account.from_key(keccak(text=f"mediaproof-test-cluster-{index}"))


def random_sha() -> bytes:
    return secrets.token_bytes(32)


@dataclass
class MediaKit:
    """Builds and signs records, delete orders and receipts for one deployment."""

    chain: Any
    topology: Any
    app: Any

    @property
    def chain_id(self) -> int:
        return int(self.chain.chain_id)

    def deadline(self, seconds: int = 3600) -> int:
        return int(self.chain.pending_timestamp) + seconds

    def record(
        self,
        sha256: bytes | None = None,
        *,
        variants: int = 0,
        nonce: int | None = None,
        deadline: int | None = None,
        parent: bytes = eip712.ZERO32,
        title: str = "Sunset over the harbour",
    ) -> eip712.MediaRecord:
        sha = sha256 or random_sha()
        return eip712.MediaRecord(
            sha256=sha,
            cid="bafkrei" + sha.hex()[:52],
            size=1000 + sha[0],
            media_type="image/jpeg",
            title=title,
            nonce=secrets.randbits(128) if nonce is None else nonce,
            deadline=self.deadline() if deadline is None else deadline,
            variants=tuple(
                eip712.MediaVariant(name, random_sha(), f"bafkreivariant{name}{i}", 100 * (i + 1))
                for i, name in enumerate(["small", "medium", "large", "poster"][:variants])
            ),
            parent=parent,
        )

    def sign_record(self, record: eip712.MediaRecord, key: str, user_contract: Any) -> bytes:
        return eip712.sign(eip712.record_typed_data(record, self.chain_id, str(user_contract.address)), key)

    def record_id(self, record: eip712.MediaRecord, user_contract: Any) -> bytes:
        return eip712.digest(eip712.record_typed_data(record, self.chain_id, str(user_contract.address)))

    def sign_delete(self, order: eip712.DeleteMedia, key: str, user_contract: Any) -> bytes:
        return eip712.sign(eip712.delete_typed_data(order, self.chain_id, str(user_contract.address)), key)

    def receipt(
        self,
        record: eip712.MediaRecord,
        cluster_id: int,
        key: Any = None,
        *,
        sha256: bytes | None = None,
        pinned_at: int = 1_700_000_000,
    ) -> tuple[int, int, bytes]:
        """A ReceiptSignature tuple for `record` from cluster `cluster_id` (signed by its own key unless given)."""
        signer = key if key is not None else cluster_key(cluster_id)
        receipt = eip712.StorageReceipt(cluster_id, sha256 or record.sha256, record.cid, record.size, pinned_at)
        typed = eip712.receipt_typed_data(receipt, self.chain_id, str(self.topology.address))
        return (cluster_id, pinned_at, eip712.sign(typed, signer.key))

    def receipts(self, record: eip712.MediaRecord, cluster_ids: tuple[int, ...] = (1, 2)) -> list[Any]:
        return [self.receipt(record, cid) for cid in cluster_ids]


def private_key(account: Any) -> str:
    return str(account.private_key)


def delete_tuple(order: eip712.DeleteMedia) -> tuple[bytes, int, int]:
    return (order.media_id, order.nonce, order.deadline)
