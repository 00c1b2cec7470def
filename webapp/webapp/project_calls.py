"""The ProjectRegistry calls the project page has the wallet send (commit, grant, revoke) and the reads the backend
makes before it asks (versionOf, canWrite): calldata and answers only. Pure: no I/O.

Selectors and argument types come from the exported ABI (mediaproof/abi/ProjectRegistry.json, the one every tool
reads); the backend builds the data so the page never assembles a transaction from text it was given.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode, encode
from eth_utils import is_address, keccak, to_checksum_address

from mediaproof.abis import load_abi
from mediaproof.errors import InputError
from mediaproof.sync.project import ROLES

ZERO_ADDRESS = "0x" + "00" * 20


def _call(name: str, args: list[Any]) -> str:
    """Calldata of ProjectRegistry's function `name`, its selector and argument types read from the ABI."""
    item = next(i for i in load_abi("ProjectRegistry") if i.get("type") == "function" and i["name"] == name)
    types = [str(i["type"]) for i in item["inputs"]]
    return "0x" + (keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, args)).hex()


def _pid(project_id: str) -> bytes:
    raw = project_id.removeprefix("0x")
    if len(raw) != 64:
        raise InputError(f"{project_id!r} is not a project id (0x and 64 hex digits)")
    return bytes.fromhex(raw)


def commit_data(project_id: str, expected_version: int, manifest_sha256_hex: str, manifest_cid: str) -> str:
    """commit(pid, expectedVersion, manifestSha256, manifestCid): compare-and-swap from `expected_version`."""
    sha = bytes.fromhex(manifest_sha256_hex.removeprefix("0x"))
    if len(sha) != 32 or not manifest_cid:
        raise InputError("that version names no manifest (sha256 and CID) to restore")
    return _call("commit", [_pid(project_id), expected_version, sha, manifest_cid])


def grant_data(project_id: str, grantee: str, role: str) -> str:
    if role not in ROLES:
        raise InputError(f"the role must be read or write, not {role!r}")
    return _call("grant", [_pid(project_id), grantee, ROLES[role]])


def revoke_data(project_id: str, grantee: str) -> str:
    return _call("revoke", [_pid(project_id), grantee])


def version_of_data(project_id: str) -> str:
    return _call("versionOf", [_pid(project_id)])


def can_write_data(project_id: str, wallet: str) -> str:
    return _call("canWrite", [_pid(project_id), wallet])


def decode_uint(answer: str) -> int:
    return int(decode(["uint256"], bytes.fromhex(answer.removeprefix("0x")))[0])


def grantee_address(text: str, owner: str) -> str:
    """The checksummed address a share names; InputError with a sentence for anything else, before the wallet is
    asked (the chain would refuse the zero address and the owner too, but only after a wallet prompt and gas)."""
    value = text.strip()
    if not value:
        raise InputError("Enter the wallet address to share with (0x and 40 hex digits).")
    if not is_address(value):
        raise InputError(f"{value[:60]!r} is not a wallet address: it must be 0x and 40 hex digits.")
    if value.lower() == ZERO_ADDRESS:
        raise InputError("The zero address is nobody's wallet: enter the address of the wallet to share with.")
    if value.lower() == owner.lower():
        raise InputError("That is the owner's own address: the owner can always read and commit.")
    return to_checksum_address(value)


def transaction(sender: str, to: str, data: str) -> dict[str, str]:
    """What eth_sendTransaction gets: no value, the wallet fills in gas and fees."""
    return {"from": sender, "to": to, "data": data, "value": "0x0"}
