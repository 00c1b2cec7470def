"""Signing and checking StorageReceipts off chain: what a cluster signs after pinning, and who signed one.

Pure: no network, disk or clock. The typed data comes from mediaproof.eip712, so these signatures are the ones
StorageTopology.checkReceipts accepts.
"""

from __future__ import annotations

from eth_account import Account
from eth_utils import is_address, to_checksum_address

from mediaproof import eip712
from mediaproof.eip712 import StorageReceipt
from mediaproof.errors import InputError, ReceiptError

SIGNATURE_LENGTH = 65


def _checked_topology(topology: str) -> str:
    if not is_address(topology):
        raise InputError(f"StorageTopology address {topology!r} is not a 20-byte hex address: pass 0x + 40 hex digits")
    return to_checksum_address(topology)


def _checked_receipt(receipt: StorageReceipt) -> None:
    if len(receipt.sha256) != 32:
        raise InputError(f"receipt sha256 must be 32 bytes, got {len(receipt.sha256)}")
    if not 0 < receipt.cluster_id < 2**32:
        raise InputError(f"receipt cluster id {receipt.cluster_id} is outside 1..2^32-1")
    if not 0 <= receipt.size < 2**64 or not 0 <= receipt.pinned_at < 2**64:
        raise InputError("receipt size and pinned_at must fit in uint64")


def sign_receipt(receipt: StorageReceipt, key: str | bytes, chain_id: int, topology: str) -> bytes:
    """The 65-byte signature (r, s, v) a cluster attaches to `receipt` under StorageTopology's domain."""
    _checked_receipt(receipt)
    return eip712.sign(eip712.receipt_typed_data(receipt, chain_id, _checked_topology(topology)), key)


def receipt_signer(receipt: StorageReceipt, signature: bytes, chain_id: int, topology: str) -> str:
    """Checksummed address that signed `receipt`; compare it with the cluster's signer in StorageTopology."""
    _checked_receipt(receipt)
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
