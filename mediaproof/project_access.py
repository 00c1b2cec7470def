"""Who may read and write a project, as ProjectRegistry says: the one reader of its head and grants for the services.

Answers may be kept for `ttl` seconds (0: the chain is asked every time), so a revoke takes effect within that
time. The upload service asks afresh for every write; the download service keeps answers for
MEDIAPROOF_DOWNLOAD_RESOLVE_TTL seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from mediaproof.abis import load_abi
from mediaproof.errors import ChainError, InputError, NotRegistered

T = TypeVar("T")
CACHE_LIMIT = 100_000  # answers kept at most; the cache is emptied when full (entries are one eth_call each)


@dataclass(frozen=True)
class ProjectHead:
    owner: str
    is_private: bool
    version: int
    manifest_sha256: bytes
    manifest_cid: str


def parse_pid(value: object) -> str:
    """A project id as the services name it: 0x + 64 lowercase hex; InputError (422) otherwise."""
    if isinstance(value, str):
        text = value.lower().removeprefix("0x")
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
            return "0x" + text
    raise InputError(f"{str(value)[:80]!r} is not a project id: send 0x + 64 hex digits (ProjectRegistry's id)")


def parse_sha(value: object, what: str = "sha256") -> str:
    """A file's sha256 as the project routes name it: 64 hex digits, lowercased; InputError (422) otherwise."""
    if isinstance(value, str) and len(value) == 64:
        text = value.lower()
        if all(c in "0123456789abcdef" for c in text):
            return text
    raise InputError(f"{what} {str(value)[:80]!r} is not a sha256: send 64 hex digits")


class ProjectAccess:
    """`head`, `can_read`, `can_write` of ProjectRegistry at one address. Thread-safe."""

    def __init__(self, w3: Web3, address: str, ttl: float = 0.0) -> None:
        self.contract: Contract = w3.eth.contract(address=to_checksum_address(address), abi=load_abi("ProjectRegistry"))
        self.ttl = ttl
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def head(self, pid: str) -> ProjectHead:
        """The project's head; NotRegistered (404) when no such project exists."""
        head: ProjectHead | None = self._cached(("head", pid), lambda: self._head(pid))
        if head is None:
            raise NotRegistered(f"no project {pid} exists on chain: create it first (ProjectRegistry.createProject)")
        return head

    def can_read(self, pid: str, account: str) -> bool:
        return bool(self._cached(("read", pid, account), lambda: self._ask("canRead", pid, account)))

    def can_write(self, pid: str, account: str) -> bool:
        return bool(self._cached(("write", pid, account), lambda: self._ask("canWrite", pid, account)))

    def _head(self, pid: str) -> ProjectHead | None:
        try:
            raw = self.contract.functions.head(bytes.fromhex(pid[2:])).call()
        except ContractLogicError:  # ProjectUnknown
            return None
        except Exception as exc:
            raise ChainError(f"ProjectRegistry could not be read ({type(exc).__name__}): try again shortly") from exc
        owner, is_private, version, manifest_sha256, manifest_cid = raw
        return ProjectHead(str(owner), bool(is_private), int(version), bytes(manifest_sha256), str(manifest_cid))

    def _ask(self, function: str, pid: str, account: str) -> bool:
        try:
            return bool(self.contract.functions[function](bytes.fromhex(pid[2:]), account).call())
        except Exception as exc:
            raise ChainError(f"ProjectRegistry could not be read ({type(exc).__name__}): try again shortly") from exc

    def _cached(self, key: tuple[str, ...], ask: Callable[[], T]) -> T:
        if self.ttl <= 0:
            return ask()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
        value = ask()
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (now + self.ttl, value)
        return value
