"""Sign-In with Ethereum (EIP-4361): the web app's own check of the message the wallet signs.

One signature signs the user in twice: the upload service issues the message (`POST /auth/nonce` with the page's
origin, so the message names this web app's domain and URI), the wallet signs it once, this module checks it as the
web app's own sign-in, and the upload service turns the same signature into its bearer session (`POST /auth/session`).
Before the wallet is asked, the message is checked to be one this page may show: its domain, URI, address, chain
and nonce (the upload service is a server the web app trusts, but a wallet prompt naming another site must never
come from this page).

Pure: the caller passes the service's answer, the clock and the origin; nothing here touches the network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from eth_utils import is_address, to_checksum_address

from mediaproof.errors import InputError

with warnings.catch_warnings():
    # siwe 4.4's grammar restates RFC 5234's core rules; abnf 2.7 warns about each at import. Harmless.
    warnings.filterwarnings("ignore", message=r"rule '\w+' redefines")
    import siwe

# How far the message's Issued At may lie ahead of this server's clock (the upload service's clock issued it).
CLOCK_SKEW = timedelta(seconds=60)
# A message that would stay signable longer than this is not one to sign in with (the service gives 5 minutes).
LONGEST_VALIDITY = timedelta(minutes=30)


@dataclass(frozen=True)
class SignInChallenge:
    """A message issued for one browser session, remembered by the server until the signature comes back."""

    message: str
    address: str
    nonce: str
    domain: str
    chain_id: int
    issued_at: datetime
    expires_at: datetime


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def page_origin(origin: str) -> tuple[str, str]:
    """(domain, origin) of the page: what the upload service is asked to name in the message."""
    parts = urlsplit(origin or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"cannot sign in from origin {origin!r}: open the app at its http(s) address")
    return parts.netloc, f"{parts.scheme}://{parts.netloc}"


def challenge_from(
    issued: dict[str, Any], *, address: str, chain_id: int, origin: str, now: datetime
) -> SignInChallenge:
    """The upload service's answer to `POST /auth/nonce`, checked before the wallet sees it: an EIP-4361 message in
    canonical form for this page's domain and URI, the connected address, this chain, the nonce the service
    answered, issued now and not yet expired. InputError with a sentence otherwise."""
    if not is_address(address):
        raise InputError(f"the wallet returned {address!r}, which is not an Ethereum address")
    domain, page = page_origin(origin)
    text, nonce = issued.get("message"), issued.get("nonce")
    if not isinstance(text, str) or not text or not isinstance(nonce, str) or not nonce:
        raise InputError("the upload service answered no sign-in message to sign: sign in again")
    try:
        parsed = siwe.SiweMessage.from_message(text)
        canonical = parsed.prepare_message()
    except Exception as exc:  # the grammar raises ValueError; pydantic a ValidationError per bad field
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "it does not follow the grammar"
        raise InputError(f"the upload service's sign-in message is not an EIP-4361 message ({reason})") from None
    problem = ""
    if canonical != text:
        problem = "it is not in canonical EIP-4361 form"
    elif parsed.domain != domain or urlsplit(str(parsed.uri)).netloc != domain:
        problem = f"it names {parsed.domain!r} ({parsed.uri}), not this page's {domain!r} ({page})"
    elif str(parsed.address) != to_checksum_address(address):
        problem = f"it names {parsed.address}, not your wallet's {to_checksum_address(address)}"
    elif int(parsed.chain_id) != chain_id:
        problem = f"it names chain {parsed.chain_id}, not {chain_id}"
    elif parsed.nonce != nonce:
        problem = "its nonce is not the one the service answered"
    issued_at, expires_at = _when(parsed.issued_at), _when(parsed.expiration_time)
    if not problem and (issued_at is None or issued_at > now + CLOCK_SKEW):
        problem = f"it says it was issued at {parsed.issued_at}, in the future (check the clocks)"
    if not problem and (expires_at is None or expires_at <= now or expires_at > now + LONGEST_VALIDITY):
        problem = f"its expiration time {parsed.expiration_time} is not within the next {LONGEST_VALIDITY}"
    if problem:
        raise InputError(f"the upload service's sign-in message cannot be signed here: {problem}. Sign in again.")
    assert issued_at is not None and expires_at is not None
    return SignInChallenge(
        message=text,
        address=to_checksum_address(address),
        nonce=nonce,
        domain=domain,
        chain_id=chain_id,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def check_signature(challenge: SignInChallenge, signed_message: str, signature: str, now: datetime) -> str:
    """The signer's checksummed address when `signature` signs exactly the issued message in time.

    Raises InputError naming what failed: another message, an expired message or a signature by another key.
    """
    if signed_message != challenge.message:
        raise InputError("the wallet signed a different message than the one issued: sign in again")
    parsed = siwe.SiweMessage.from_message(signed_message)
    try:
        parsed.verify(signature, domain=challenge.domain, nonce=challenge.nonce, timestamp=now)
    except siwe.ExpiredMessage:
        raise InputError(
            "the signature came too late: the sign-in message expired (it is good for a few minutes). Sign in again."
        ) from None
    except siwe.VerificationError as exc:
        raise InputError(
            f"the signature does not match {challenge.address} ({type(exc).__name__}): sign in again"
        ) from None
    if parsed.chain_id != challenge.chain_id:
        raise InputError(f"the message names chain {parsed.chain_id}, not {challenge.chain_id}: sign in again")
    return challenge.address
