"""EIP-712 types Mediaproof signs: the owner's media record and delete order, a cluster's storage receipt.

Pure: builds typed-data dictionaries (the JSON `eth_signTypedData_v4` takes) and signs/recovers them with
eth_account. Every integer travels as a decimal string and every bytes value as 0x-hex, so JavaScript wallets
(MetaMask parses typed data with JSON.parse) never round a 256-bit nonce. These type strings are the ones the
contracts hash (contracts/libraries/MediaHashes.sol); a change here is a change there.

Records and delete orders are signed under MediaApp's domain, receipts under StorageTopology's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "Mediaproof"
DOMAIN_VERSION = "1"
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20

DOMAIN_FIELDS = [
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
    {"name": "owner", "type": "address"},
    {"name": "sha256", "type": "bytes32"},
    {"name": "cid", "type": "string"},
    {"name": "size", "type": "uint64"},
    {"name": "mediaType", "type": "string"},
    {"name": "title", "type": "string"},
    {"name": "variants", "type": "MediaVariant[]"},
    {"name": "parent", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
    {"name": "maxFee", "type": "uint256"},
]
STORAGE_RECEIPT_FIELDS = [
    {"name": "clusterId", "type": "uint32"},
    {"name": "sha256", "type": "bytes32"},
    {"name": "owner", "type": "address"},
    {"name": "mediaId", "type": "bytes32"},
    {"name": "issuedAt", "type": "uint64"},
]
DELETE_MEDIA_FIELDS = [
    {"name": "mediaId", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


@dataclass(frozen=True)
class MediaVariant:
    """A rendition made from the original (e.g. "small", "poster"), named by its own bytes."""

    name: str
    sha256: bytes
    cid: str
    size: int

    def message(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": hex32(self.sha256), "cid": self.cid, "size": str(self.size)}

    def as_tuple(self) -> tuple[str, bytes, str, int]:
        return (self.name, self.sha256, self.cid, self.size)

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> MediaVariant:
        return cls(str(m["name"]), _bytes32(m["sha256"]), str(m["cid"]), int(m["size"]))


@dataclass(frozen=True)
class MediaRecord:
    """What an owner signs to register media: the original's hash and CID, every variant, title, type, size.

    `nonce` is spent by a direct registration (UserMedia keeps a bitmap), `deadline` bounds when one may be sent,
    `max_fee` caps what a relayer may take from the owner's deposit for sending it (0 for batched records).
    """

    owner: str
    sha256: bytes
    cid: str
    size: int
    media_type: str
    title: str
    nonce: int
    deadline: int
    variants: tuple[MediaVariant, ...] = field(default_factory=tuple)
    parent: bytes = ZERO32
    max_fee: int = 0

    def message(self) -> dict[str, Any]:
        return {
            "owner": to_checksum_address(self.owner),
            "sha256": hex32(self.sha256),
            "cid": self.cid,
            "size": str(self.size),
            "mediaType": self.media_type,
            "title": self.title,
            "variants": [v.message() for v in self.variants],
            "parent": hex32(self.parent),
            "nonce": str(self.nonce),
            "deadline": str(self.deadline),
            "maxFee": str(self.max_fee),
        }

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> MediaRecord:
        """The record from its typed-data message (as `message()` writes it, or as a bundle carries it)."""
        return cls(
            owner=to_checksum_address(m["owner"]),
            sha256=_bytes32(m["sha256"]),
            cid=str(m["cid"]),
            size=int(m["size"]),
            media_type=str(m["mediaType"]),
            title=str(m["title"]),
            variants=tuple(MediaVariant.from_message(v) for v in m.get("variants", [])),
            parent=_bytes32(m.get("parent", hex32(ZERO32))),
            nonce=int(m["nonce"]),
            deadline=int(m["deadline"]),
            max_fee=int(m.get("maxFee", 0)),
        )

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple of the contracts' `MediaRecord` argument (field order of the struct)."""
        return (
            to_checksum_address(self.owner),
            self.sha256,
            self.cid,
            self.size,
            self.media_type,
            self.title,
            [v.as_tuple() for v in self.variants],
            self.parent,
            self.nonce,
            self.deadline,
            self.max_fee,
        )


@dataclass(frozen=True)
class StorageReceipt:
    """A cluster's word that it holds and has pinned, right now, the bytes of one owner's record."""

    cluster_id: int
    sha256: bytes
    owner: str
    media_id: bytes
    issued_at: int

    def message(self) -> dict[str, Any]:
        return {
            "clusterId": str(self.cluster_id),
            "sha256": hex32(self.sha256),
            "owner": to_checksum_address(self.owner),
            "mediaId": hex32(self.media_id),
            "issuedAt": str(self.issued_at),
        }


@dataclass(frozen=True)
class DeleteMedia:
    """An owner's order to tombstone one media record."""

    media_id: bytes
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        return {"mediaId": hex32(self.media_id), "nonce": str(self.nonce), "deadline": str(self.deadline)}

    def as_tuple(self) -> tuple[bytes, int, int]:
        return (self.media_id, self.nonce, self.deadline)


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": str(chain_id),
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def record_typed_data(record: MediaRecord, chain_id: int, media_app: str) -> dict[str, Any]:
    """Typed data for the owner's signature; the domain is MediaApp (for both the batched and direct paths)."""
    return {
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            "MediaRecord": MEDIA_RECORD_FIELDS,
            "MediaVariant": MEDIA_VARIANT_FIELDS,
        },
        "primaryType": "MediaRecord",
        "domain": domain(chain_id, media_app),
        "message": record.message(),
    }


def delete_typed_data(order: DeleteMedia, chain_id: int, media_app: str) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "DeleteMedia": DELETE_MEDIA_FIELDS},
        "primaryType": "DeleteMedia",
        "domain": domain(chain_id, media_app),
        "message": order.message(),
    }


def receipt_typed_data(receipt: StorageReceipt, chain_id: int, topology: str) -> dict[str, Any]:
    """Typed data for a cluster's receipt; the domain is the StorageTopology contract."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "StorageReceipt": STORAGE_RECEIPT_FIELDS},
        "primaryType": "StorageReceipt",
        "domain": domain(chain_id, topology),
        "message": receipt.message(),
    }


def digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 hash that is signed (for a MediaRecord this is also its media id)."""
    signable = encode_typed_data(full_message=typed_data)
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def media_id(record: MediaRecord, chain_id: int, media_app: str) -> bytes:
    return digest(record_typed_data(record, chain_id, media_app))


def sign(typed_data: dict[str, Any], private_key: str | bytes) -> bytes:
    """65-byte signature (r, s, v) as `eth_signTypedData_v4` returns it."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    return bytes(signed.signature)


def recover(typed_data: dict[str, Any], signature: bytes) -> str:
    """Checksummed address that made `signature` over `typed_data`."""
    return str(Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature))


def recover_digest(digest_: bytes, signature: bytes) -> str:
    """Checksummed address that signed the 32-byte EIP-712 `digest_` (as the contracts' ECDSA path does)."""
    return str(Account._recover_hash(digest_, signature=signature))


def _bytes32(value: Any) -> bytes:
    raw = bytes(value) if isinstance(value, bytes | bytearray) else bytes.fromhex(str(value).removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw
