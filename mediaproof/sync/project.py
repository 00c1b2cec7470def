"""A project's id, as ProjectRegistry derives it: known before the project exists on chain, so a device can name a
project offline and a retried create can never make a second one."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

ROLES = {"read": 1, "write": 2}  # ProjectRegistry's ProjectRole: None = 0, Read = 1, Write = 2


def project_id(owner: str, name: str) -> bytes:
    """keccak256(abi.encode(owner, name)), what `ProjectRegistry.projectIdOf(owner, name)` returns."""
    return keccak(encode(["address", "string"], [to_checksum_address(owner), name]))
