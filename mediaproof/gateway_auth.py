"""Gateway-signed requests to storage clusters: the Authorization header, the text it signs, and its checks.

Pure: no network, disk or clock (callers pass `now`). A gateway signs, with EIP-191 `personal_sign`, the text

    mediaproof-cluster-request
    <cluster id>
    <METHOD>
    <path and query exactly as sent>
    <ts>
    <nonce>
    <sha256 hex of the body, or UNSIGNED-PAYLOAD for a streamed object body>

(lines joined by "\\n", no newline at the end) and sends

    Authorization: Mediaproof-Gateway signer=0x<40 hex>, ts=<unix seconds>, nonce=<32 hex>, sig=0x<130 hex>

`signer` names the key that claims to have signed: without it a signature over other text (another cluster,
an altered body) would recover to some stranger's address, and the cluster could not tell a tampered request
(401) from an honest request by a key that is not a gateway (403). Whether the signer is a gateway is the
cluster's question to StorageTopology (mediaproof.storage.gatekeeper), not this module's.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import secrets
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from mediaproof.errors import NotAuthenticated, StorageError

SCHEME = "Mediaproof-Gateway"
PREAMBLE = "mediaproof-cluster-request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = 60  # seconds a request's ts may differ from the cluster's clock, either way
NONCE_HEX = 32
SIGNATURE_BYTES = 65

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NONCE = re.compile(rf"[0-9a-fA-F]{{{NONCE_HEX}}}")
_SIGNATURE = re.compile(rf"0x[0-9a-fA-F]{{{2 * SIGNATURE_BYTES}}}")
_TS = re.compile(r"\d{1,12}")
_PARAMS = ("signer", "ts", "nonce", "sig")
_FORMAT_HINT = f"expected `{SCHEME} signer=0x<40 hex>, ts=<unix seconds>, nonce=<32 hex>, sig=0x<130 hex>`"


@dataclass(frozen=True)
class GatewayCredentials:
    """What one Authorization header says: who signed, when, a one-time nonce, and the signature."""

    signer: str  # checksummed
    ts: int
    nonce: str  # 32 lower-case hex digits
    signature: bytes

    def header(self) -> str:
        return f"{SCHEME} signer={self.signer}, ts={self.ts}, nonce={self.nonce}, sig=0x{self.signature.hex()}"


def body_hash(body: bytes) -> str:
    """The body line of the signed text for a body sent whole (an empty body too)."""
    return hashlib.sha256(body).hexdigest()


def request_text(cluster_id: int, method: str, target: str, ts: int, nonce: str, payload_hash: str) -> str:
    """The text a gateway signs for one request; `target` is the path and query exactly as sent."""
    return "\n".join([PREAMBLE, str(cluster_id), method.upper(), target, str(ts), nonce, payload_hash])


def new_nonce() -> str:
    return secrets.token_hex(NONCE_HEX // 2)


def sign_request(
    account: LocalAccount,
    cluster_id: int,
    method: str,
    target: str,
    payload_hash: str,
    ts: int,
    nonce: str | None = None,
) -> GatewayCredentials:
    """Credentials for one request, signed by the gateway's `account`."""
    nonce = nonce if nonce is not None else new_nonce()
    text = request_text(cluster_id, method, target, ts, nonce, payload_hash)
    signed = account.sign_message(encode_defunct(text=text))
    return GatewayCredentials(str(account.address), ts, nonce, bytes(signed.signature))


def parse_header(value: str | None) -> GatewayCredentials:
    """The credentials in an Authorization header; NotAuthenticated saying what is missing or malformed."""
    if not value or not value.strip():
        raise NotAuthenticated(
            f"this request carries no Authorization header: storage clusters serve only requests signed by a "
            f"gateway key that StorageTopology lists ({_FORMAT_HINT})"
        )
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SCHEME:
        raise NotAuthenticated(f"the Authorization scheme is {scheme!r}, not {SCHEME}: {_FORMAT_HINT}")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, text = part.strip().partition("=")
        if not sep or name not in _PARAMS or name in params:
            raise NotAuthenticated(f"the Authorization header has a bad or repeated part {part.strip()!r}: "
                                   f"{_FORMAT_HINT}")  # fmt: skip
        params[name] = text.strip()
    missing = [name for name in _PARAMS if name not in params]
    if missing:
        raise NotAuthenticated(f"the Authorization header lacks {', '.join(missing)}: {_FORMAT_HINT}")
    checks = (("signer", _HEX_ADDRESS), ("ts", _TS), ("nonce", _NONCE), ("sig", _SIGNATURE))
    for name, pattern in checks:
        if not pattern.fullmatch(params[name]):
            raise NotAuthenticated(f"the Authorization header's {name}={params[name]!r} is malformed: {_FORMAT_HINT}")
    return GatewayCredentials(
        signer=str(to_checksum_address(params["signer"])),
        ts=int(params["ts"]),
        nonce=params["nonce"].lower(),
        signature=bytes.fromhex(params["sig"][2:]),
    )


def check_fresh(credentials: GatewayCredentials, now: float) -> None:
    """Refuse a ts more than MAX_SKEW seconds from `now` (a stale header replayed, or a badly set clock)."""
    drift = credentials.ts - now
    if abs(drift) > MAX_SKEW:
        when = f"{-drift:.0f} s old" if drift < 0 else f"{drift:.0f} s in the future"
        raise NotAuthenticated(
            f"the request's ts={credentials.ts} is {when}; a signed request is good for {MAX_SKEW} s either way of "
            "the cluster's clock: sign it again now (and check the gateway's clock)"
        )


def check_signature(
    credentials: GatewayCredentials, cluster_id: int, method: str, target: str, payload_hash: str
) -> None:
    """Refuse a signature that is not `credentials.signer`'s over this very request to this cluster."""
    text = request_text(cluster_id, method, target, credentials.ts, credentials.nonce, payload_hash)
    try:
        recovered = str(Account.recover_message(encode_defunct(text=text), signature=credentials.signature))
    except Exception:  # eth_keys raises several unrelated types for a malformed (r, s, v)
        recovered = ""
    if recovered != credentials.signer:
        raise NotAuthenticated(
            f"the signature is not {credentials.signer}'s over this request to cluster {cluster_id} "
            f"({method.upper()} {target}, its ts, nonce and body): it was made for another cluster, path or "
            "body, or the request was altered after signing"
        )


class NonceWindow:
    """Nonces seen in the last MAX_SKEW-wide window, at most `capacity` of them (memory is bounded).

    A nonce need only be remembered until its ts leaves the window (check_fresh refuses it after that). When the
    window holds `capacity` live nonces, new requests are refused (StorageError, 503) rather than forgetting a
    live nonce, which would let its request be replayed.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._expiry: dict[str, int] = {}
        self._queue: list[tuple[int, str]] = []  # (expires at, nonce), a heap

    def __len__(self) -> int:
        return len(self._expiry)

    def check_unused(self, credentials: GatewayCredentials) -> None:
        """NotAuthenticated if the nonce was seen in the window (a replayed request)."""
        if credentials.nonce in self._expiry:
            raise NotAuthenticated(
                f"nonce {credentials.nonce} was already used: a signed request is good once; sign a new one"
            )

    def admit(self, credentials: GatewayCredentials, now: float) -> None:
        """Remember the nonce; NotAuthenticated if it was seen in the window (check and add in one step)."""
        self._forget_expired(now)
        self.check_unused(credentials)
        if len(self._expiry) >= self.capacity:
            raise StorageError(
                f"this cluster has taken {self.capacity} signed requests in the last {2 * MAX_SKEW} s and keeps no "
                "more nonces; try again in a few seconds"
            )
        expires = credentials.ts + MAX_SKEW + 1
        self._expiry[credentials.nonce] = expires
        heapq.heappush(self._queue, (expires, credentials.nonce))

    def _forget_expired(self, now: float) -> None:
        while self._queue and self._queue[0][0] < now:
            _, nonce = heapq.heappop(self._queue)
            self._expiry.pop(nonce, None)
