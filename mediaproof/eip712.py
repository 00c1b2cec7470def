"""EIP-712 types Mediaproof signs: the owner's media record, the owner's delete order, a cluster's storage receipt.

Pure: builds typed-data dictionaries (the JSON `eth_signTypedData_v4` takes) and signs/recovers them with
eth_account. These type strings are the ones the contracts hash (contracts/interfaces/IMediaTypes.sol); a change here
is a change there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "Mediaproof"
DOMAIN_VERSION = "1"

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
MEDIA_VARIANT_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "sha256", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "size", "type": "uint64"},
]
MEDIA_RECORD_FIELDS = [
    {"name": "sha256", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "size", "type": "uint64"},
    {"name": "mediaType", "type": "string"},
    {"name": "title", "type": "string"},
    {"name": "variants", "type": "MediaVariant[]"},
    {"name": "parent", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]
STORAGE_RECEIPT_FIELDS = [
    {"name": "clusterId", "type": "uint32"},
    {"name": "sha256", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "size", "type": "uint64"},
    {"name": "pinnedAt", "type": "uint64"},
]
DELETE_MEDIA_FIELDS = [
    {"name": "mediaId", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class MediaVariant:
    """A rendition made from the original (e.g. "small", "poster"), named by its own bytes."""

    name: str
    sha256: bytes
    cid: str
    size: int

    def message(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "cid": self.cid, "size": self.size}

    def as_tuple(self) -> tuple[str, bytes, str, int]:
        return (self.name, self.sha256, self.cid, self.size)


@dataclass(frozen=True)
class MediaRecord:
    """What an owner signs to register media: the original's hash and CID, every variant, title, type, size."""

    sha256: bytes
    cid: str
    size: int
    media_type: str
    title: str
    nonce: int
    deadline: int
    variants: tuple[MediaVariant, ...] = field(default_factory=tuple)
    parent: bytes = ZERO32

    def message(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "cid": self.cid,
            "size": self.size,
            "mediaType": self.media_type,
            "title": self.title,
            "variants": [v.message() for v in self.variants],
            "parent": self.parent,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for `UserMedia.registerMedia`'s `MediaRecord` argument (field order of the struct)."""
        return (
            self.sha256,
            self.cid,
            self.size,
            self.media_type,
            self.title,
            [v.as_tuple() for v in self.variants],
            self.parent,
            self.nonce,
            self.deadline,
        )


@dataclass(frozen=True)
class StorageReceipt:
    """A cluster's word that it holds and has pinned these bytes; signed with the cluster's registered key."""

    cluster_id: int
    sha256: bytes
    cid: str
    size: int
    pinned_at: int

    def message(self) -> dict[str, Any]:
        return {
            "clusterId": self.cluster_id,
            "sha256": self.sha256,
            "cid": self.cid,
            "size": self.size,
            "pinnedAt": self.pinned_at,
        }


@dataclass(frozen=True)
class DeleteMedia:
    """An owner's order to tombstone one media record."""

    media_id: bytes
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        return {"mediaId": self.media_id, "nonce": self.nonce, "deadline": self.deadline}


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }


def record_typed_data(record: MediaRecord, chain_id: int, user_contract: str) -> dict[str, Any]:
    """Typed data for the owner's signature; the domain is the owner's own UserMedia contract."""
    return {
        "types": {
            "EIP712Domain": _DOMAIN_FIELDS,
            "MediaRecord": MEDIA_RECORD_FIELDS,
            "MediaVariant": MEDIA_VARIANT_FIELDS,
        },
        "primaryType": "MediaRecord",
        "domain": domain(chain_id, user_contract),
        "message": record.message(),
    }


def delete_typed_data(order: DeleteMedia, chain_id: int, user_contract: str) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "DeleteMedia": DELETE_MEDIA_FIELDS},
        "primaryType": "DeleteMedia",
        "domain": domain(chain_id, user_contract),
        "message": order.message(),
    }


def receipt_typed_data(receipt: StorageReceipt, chain_id: int, topology: str) -> dict[str, Any]:
    """Typed data for a cluster's receipt; the domain is the StorageTopology contract."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "StorageReceipt": STORAGE_RECEIPT_FIELDS},
        "primaryType": "StorageReceipt",
        "domain": domain(chain_id, topology),
        "message": receipt.message(),
    }


def digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 hash that is signed (for a MediaRecord this is also its media id)."""
    signable = encode_typed_data(full_message=typed_data)
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def sign(typed_data: dict[str, Any], private_key: str | bytes) -> bytes:
    """65-byte signature (r, s, v) as `eth_signTypedData_v4` returns it."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    return bytes(signed.signature)


def recover(typed_data: dict[str, Any], signature: bytes) -> str:
    """Checksummed address that made `signature` over `typed_data`."""
    return str(Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature))


def to_json(typed_data: dict[str, Any]) -> dict[str, Any]:
    """The same typed data with bytes as 0x-hex strings, for a browser wallet or an HTTP answer."""

    def convert(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return dict(convert(typed_data))
