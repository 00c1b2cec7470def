"""Sign-In with Ethereum (EIP-4361): the message the server issues and the check of the wallet's signature.

Pure: the caller passes the nonce, the clock and the origin; nothing here touches the network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from eth_utils import is_address, to_checksum_address

from mediaproof.errors import InputError

with warnings.catch_warnings():
    # siwe 4.4's grammar restates RFC 5234's core rules; abnf 2.7 warns about each at import. Harmless.
    warnings.filterwarnings("ignore", message=r"rule '\w+' redefines")
    import siwe

STATEMENT = "Sign in to Mediaproof. This signature costs nothing and sends no transaction."
# How long a signed-in session lasts; the message carries it as its Expiration Time.
SESSION_LIFETIME = timedelta(hours=8)
# A signature must come back this soon after the message was issued, so a stale prompt cannot be replayed.
SIGNATURE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class SignInChallenge:
    """A message issued to one browser session, remembered by the server until the signature comes back."""

    message: str
    address: str
    nonce: str
    domain: str
    chain_id: int
    issued_at: datetime
    expires_at: datetime


def issue_challenge(*, address: str, chain_id: int, origin: str, nonce: str, now: datetime) -> SignInChallenge:
    """The EIP-4361 message for `address` to sign at `origin` (e.g. http://127.0.0.1:3000)."""
    if not is_address(address):
        raise InputError(f"the wallet returned {address!r}, which is not an Ethereum address")
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        raise InputError(f"cannot sign in from origin {origin!r}: open the app at its http(s) address")
    expires_at = now + SESSION_LIFETIME
    message = siwe.SiweMessage(
        domain=parts.netloc,
        address=to_checksum_address(address),
        statement=STATEMENT,
        uri=f"{parts.scheme}://{parts.netloc}/",
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=_iso(now),
        expiration_time=_iso(expires_at),
    ).prepare_message()
    return SignInChallenge(
        message=message,
        address=to_checksum_address(address),
        nonce=nonce,
        domain=parts.netloc,
        chain_id=chain_id,
        issued_at=now,
        expires_at=expires_at,
    )


def check_signature(challenge: SignInChallenge, signed_message: str, signature: str, now: datetime) -> str:
    """The signer's checksummed address when `signature` signs exactly the issued message in time.

    Raises InputError naming what failed: another message, a late answer, an expired session or a signature by
    another key.
    """
    if signed_message != challenge.message:
        raise InputError("the wallet signed a different message than the one issued: sign in again")
    if now - challenge.issued_at > SIGNATURE_WINDOW:
        raise InputError("the signature came too late (the sign-in request expired): sign in again")
    parsed = siwe.SiweMessage.from_message(signed_message)
    try:
        parsed.verify(signature, domain=challenge.domain, nonce=challenge.nonce, timestamp=now)
    except siwe.ExpiredMessage:
        raise InputError("this sign-in message has expired: sign in again") from None
    except siwe.VerificationError as exc:
        raise InputError(
            f"the signature does not match {challenge.address} ({type(exc).__name__}): sign in again"
        ) from None
    if parsed.chain_id != challenge.chain_id:
        raise InputError(f"the message names chain {parsed.chain_id}, not {challenge.chain_id}: sign in again")
    return challenge.address


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
