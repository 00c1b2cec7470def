"""Storage receipts off chain: what a cluster signs for one owner's record, and who signed one.

Pure: no network, disk or clock. The typed data comes from mediaproof.eip712, so these signatures are the ones
StorageTopology.checkReceipts accepts. A receipt is bound to (cluster, sha256, owner, media id) and carries the
time it was signed; StorageTopology refuses it `receiptLifetime()` seconds later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address

from mediaproof import eip712, merkle
from mediaproof.errors import InputError, ReceiptError

SIGNATURE_LENGTH = 65


@dataclass(frozen=True)
class SignedReceipt:
    """A cluster's signed word that it holds, pinned right now, the bytes of one owner's record."""

    cluster_id: int
    sha256: bytes
    owner: str
    media_id: bytes
    issued_at: int
    signature: bytes
    signer: str = ""  # what the cluster says its key is (check it against StorageTopology, never trust it)

    @property
    def message(self) -> eip712.StorageReceipt:
        return eip712.StorageReceipt(self.cluster_id, self.sha256, self.owner, self.media_id, self.issued_at)

    def as_tuple(self) -> tuple[int, int, bytes]:
        """The contracts' `ReceiptSignature`: (clusterId, issuedAt, signature)."""
        return (self.cluster_id, self.issued_at, self.signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster_id": self.cluster_id,
            "sha256": self.sha256.hex(),
            "owner": self.owner,
            "media_id": "0x" + self.media_id.hex(),
            "issued_at": self.issued_at,
            "signer": self.signer,
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> SignedReceipt:
        try:
            return cls(
                cluster_id=int(body["cluster_id"]),
                sha256=_hex_bytes(body["sha256"], 32),
                owner=to_checksum_address(body["owner"]),
                media_id=_hex_bytes(body["media_id"], 32),
                issued_at=int(body["issued_at"]),
                signature=_hex_bytes(body["signature"], None),
                signer=str(body.get("signer", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptError(f"malformed storage receipt ({exc}): {body!r}") from exc


def receipts_hash(receipts: Iterable[SignedReceipt]) -> bytes:
    """What a batch leaf commits to about the receipts (MediaHashes.hashReceipts)."""
    return merkle.receipts_hash([r.as_tuple() for r in receipts])


def _checked_topology(topology: str) -> str:
    if not is_address(topology):
        raise InputError(f"StorageTopology address {topology!r} is not a 20-byte hex address: pass 0x + 40 hex digits")
    return str(to_checksum_address(topology))


def _checked(receipt: eip712.StorageReceipt) -> None:
    if len(receipt.sha256) != 32 or len(receipt.media_id) != 32:
        raise InputError("a receipt's sha256 and media id must be 32 bytes each")
    if not 0 < receipt.cluster_id < 2**32:
        raise InputError(f"receipt cluster id {receipt.cluster_id} is outside 1..2^32-1")
    if not 0 <= receipt.issued_at < 2**64:
        raise InputError("a receipt's issued_at must fit in uint64")
    if not is_address(receipt.owner):
        raise InputError(f"receipt owner {receipt.owner!r} is not an address")


def sign_receipt(receipt: eip712.StorageReceipt, key: str | bytes, chain_id: int, topology: str) -> bytes:
    """The 65-byte signature (r, s, v) a cluster attaches to `receipt` under StorageTopology's domain."""
    _checked(receipt)
    return eip712.sign(eip712.receipt_typed_data(receipt, chain_id, _checked_topology(topology)), key)


def receipt_signer(receipt: eip712.StorageReceipt, signature: bytes, chain_id: int, topology: str) -> str:
    """Checksummed address that signed `receipt`; compare it with the cluster's signer in StorageTopology."""
    _checked(receipt)
    if len(signature) != SIGNATURE_LENGTH:
        raise ReceiptError(f"a receipt signature is {SIGNATURE_LENGTH} bytes (r, s, v), got {len(signature)}")
    try:
        return eip712.recover(eip712.receipt_typed_data(receipt, chain_id, _checked_topology(topology)), signature)
    except InputError:
        raise
    except Exception as exc:  # eth_keys raises several unrelated types for a malformed (r, s, v)
        raise ReceiptError(f"receipt signature does not recover to any address: {exc}") from exc


def signer_address(key: str | bytes) -> str:
    """Checksummed address of a private key (what a cluster registers in StorageTopology)."""
    return str(Account.from_key(key).address)


def _hex_bytes(value: Any, length: int | None) -> bytes:
    raw = bytes.fromhex(str(value).removeprefix("0x"))
    if length is not None and len(raw) != length:
        raise ValueError(f"expected {length} bytes, got {len(raw)}")
    return raw
