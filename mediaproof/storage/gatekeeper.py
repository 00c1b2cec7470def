"""Who may call a storage cluster: a request's gateway signature is checked, and StorageTopology asked about its signer.

The header and the signed text are mediaproof.gateway_auth's; this module adds what needs I/O: the request as the
ASGI server received it, a bounded read of its body, and `isGateway` over RPC (answers kept a few seconds, so a
burst of requests costs one call, and a gateway the admin removes is refused within that time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import Request
from web3 import Web3

from mediaproof.abis import load_abi
from mediaproof.errors import ChainError, MediaTooLarge, SignatureRefused
from mediaproof.gateway_auth import (
    UNSIGNED_PAYLOAD,
    NonceWindow,
    body_hash,
    check_fresh,
    check_signature,
    parse_header,
)

MAX_SIGNED_BODY = 1 << 20  # a receipt request is one record: kilobytes; bigger bodies are refused before hashing
RPC_TIMEOUT = 5.0
DIRECTORY_CAPACITY = 10_000  # cached answers; each costs a stranger a fresh key and a signature, so bound them


class GatewayDirectory:
    """`StorageTopology.isGateway` over RPC, each answer kept `ttl` seconds. Blocking: call it from a worker thread.

    When the chain cannot be asked (and no answer younger than `ttl` is kept) it raises ChainError: a cluster never
    lets a request through on a guess.
    """

    def __init__(self, rpc_url: str, topology: str, chain_id: int, ttl: float) -> None:
        self.rpc_url = rpc_url
        self.topology = Web3.to_checksum_address(topology)
        self.chain_id = chain_id
        self.ttl = ttl
        self._w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))
        self._contract = self._w3.eth.contract(address=self.topology, abi=load_abi("StorageTopology"))
        self._answers: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()
        self._chain_checked = False

    def is_gateway(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(address)
        if kept is not None and kept[1] > now:
            return kept[0]
        try:
            self._check_chain()
            answer = bool(self._contract.functions.isGateway(address).call())
        except ChainError:
            raise
        except Exception as exc:  # web3 raises connection, timeout and decoding errors of many types
            raise ChainError(
                f"cannot ask StorageTopology {self.topology} at {self.rpc_url} whether {address} is a gateway "
                f"({type(exc).__name__}: {exc}); the request was not served: try again once the chain answers"
            ) from exc
        with self._lock:
            if len(self._answers) >= DIRECTORY_CAPACITY:
                self._answers = {a: kept for a, kept in self._answers.items() if kept[1] > now}
                if len(self._answers) >= DIRECTORY_CAPACITY:
                    self._answers.clear()
            self._answers[address] = (answer, now + self.ttl)
        return answer

    def _check_chain(self) -> None:
        """Once: the node must be the chain the receipts are signed for, or every answer would be about another."""
        if self._chain_checked:
            return
        chain_id = int(self._w3.eth.chain_id)
        if chain_id != self.chain_id:
            raise ChainError(
                f"the node at {self.rpc_url} is chain {chain_id}, but this cluster signs for chain {self.chain_id}: "
                "start the cluster with the matching --rpc-url"
            )
        self._chain_checked = True


@dataclass(frozen=True)
class Authorized:
    """A request a gateway signed: who signed it, and its body (empty for a streamed PUT, read by its handler)."""

    gateway: str
    body: bytes


def request_target(scope: Mapping[str, Any]) -> str:
    """The path and query as the client sent them (before any percent-decoding): what the gateway signed."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


class Gatekeeper:
    """Checks one request: header, freshness, one-time nonce, body hash, signature, then the signer's gateway role."""

    def __init__(self, cluster_id: int, directory: GatewayDirectory, clock: Callable[[], float] = time.time) -> None:
        self.cluster_id = cluster_id
        self.directory = directory
        self.nonces = NonceWindow()
        self._clock = clock

    async def check(self, request: Request) -> Authorized:
        credentials = parse_header(request.headers.get("authorization"))
        check_fresh(credentials, self._clock())
        self.nonces.check_unused(credentials)  # early, before any work; admit() below decides for good
        # Object bodies stream into IPFS and are held to their sha256 by the upload's own checks; nothing else is
        # sent with PUT.
        streamed = request.method == "PUT"
        body = b"" if streamed else await _read_body(request)
        payload = UNSIGNED_PAYLOAD if streamed else body_hash(body)
        check_signature(credentials, self.cluster_id, request.method, request_target(request.scope), payload)
        if not await anyio.to_thread.run_sync(self.directory.is_gateway, credentials.signer):
            raise SignatureRefused(
                f"{credentials.signer} signed this request, but StorageTopology {self.directory.topology} does not "
                "list it as a gateway: storage clusters serve only gateways (the admin approves one with setGateway)"
            )
        # Check and remember in one step (no await between), so two copies of one request cannot both pass.
        self.nonces.admit(credentials, self._clock())
        return Authorized(credentials.signer, body)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_SIGNED_BODY:
        raise MediaTooLarge(f"a signed request body may be at most {MAX_SIGNED_BODY} bytes; this one says {declared}")
    parts = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_SIGNED_BODY:
            raise MediaTooLarge(f"a signed request body may be at most {MAX_SIGNED_BODY} bytes")
        parts.append(chunk)
    return b"".join(parts)
