"""Sign-In with Ethereum (EIP-4361) for the upload service: nonces, the message a wallet signs, its checks, and the
bearer sessions that follow, all kept in the gateway's SQLite database so that every upload-service process sharing
it knows every session.

    POST /auth/nonce    {address, origin?}     → {nonce, message, …}: the EIP-4361 message for that wallet to sign
    POST /auth/session  {message, signature}   → {token, address, expires_at}
    then every write:   Authorization: Bearer <token>

The message is parsed by the `siwe` library (its ABNF grammar) and must be in canonical form (re-serialised, it is
the very text that was signed). A sign-in is accepted only when the nonce is one this service issued for that
address, unused and unexpired; the domain is the one the nonce was issued for (the upload service's own, or an
allowed web app origin); the URI is on that domain; the chain id is this chain's; the message's own times hold; and
the signature is the address's: ECDSA over the EIP-191 text, or for a contract wallet EIP-1271
`isValidSignature(EIP-191 hash, signature)` answering 0x1626ba7e. The nonce is spent only by a sign-in that passed
every check (in one statement, so two processes cannot both spend it). Tokens are stored hashed.
"""

from __future__ import annotations

import secrets
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from eth_abi import encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_utils import function_signature_to_4byte_selector

from mediaproof import gateway_db
from mediaproof.errors import InputError, NotAuthenticated
from mediaproof.session_reader import SIGN_IN_HINT, iso, session_wallet, token_hash

# siwe 4.4 redefines core ABNF rules in its grammar; abnf 2.7 warns about it once per rule at the first parse.
warnings.filterwarnings("ignore", message=r"rule '\w+' redefines", module=r"abnf")

STATEMENT = "Sign in to Mediaproof to upload and register media with this wallet."
MAX_SKEW = 60  # seconds an Issued At may lie ahead of this service's clock
MAX_MESSAGE = 4096  # characters: a sign-in message is a few hundred
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
_IS_VALID_SIGNATURE = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)")
SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_nonces (
    nonce      TEXT PRIMARY KEY,          -- 32 hex digits, in the message the wallet signs
    address    TEXT NOT NULL,             -- the checksummed wallet it was issued for
    domain     TEXT NOT NULL,             -- host[:port] the message names
    issued_at  REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at    REAL                       -- set once, by the sign-in that spent it
);
CREATE INDEX IF NOT EXISTS auth_nonces_expiry ON auth_nonces (expires_at);
CREATE TABLE IF NOT EXISTS auth_sessions (
    token_hash TEXT PRIMARY KEY,          -- sha256 hex of the bearer token (the token itself is never stored)
    address    TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_sessions_expiry ON auth_sessions (expires_at);
"""


@dataclass(frozen=True)
class Issued:
    nonce: str
    address: str
    domain: str
    uri: str
    chain_id: int
    issued_at: float
    expires_at: float
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "nonce": self.nonce,
            "message": self.message,
            "address": self.address,
            "domain": self.domain,
            "uri": self.uri,
            "chain_id": self.chain_id,
            "issued_at": iso(self.issued_at),
            "expires_at": int(self.expires_at),
        }


@dataclass(frozen=True)
class Session:
    token: str
    address: str
    expires_at: float

    def as_json(self) -> dict[str, Any]:
        return {"token": self.token, "address": self.address, "expires_at": int(self.expires_at)}


def origin_of(url: str) -> tuple[str, str]:
    """(domain, uri) of a service or page URL: the host[:port] a wallet shows, and the origin itself."""
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r} is not an http(s) origin such as https://app.example")
    return parts.netloc, f"{parts.scheme}://{parts.netloc}"


def build_message(domain: str, address: str, uri: str, chain_id: int, nonce: str, issued: float, expires: float) -> str:
    from siwe import SiweMessage  # imports web3: only once a sign-in is asked for

    try:
        message = SiweMessage(
            domain=domain,
            address=address,
            statement=STATEMENT,
            uri=uri,
            version="1",
            chain_id=chain_id,
            nonce=nonce,
            issued_at=iso(issued),
            expiration_time=iso(expires),
        )
    except ValueError as exc:  # pydantic's ValidationError: a domain or URI no wallet would accept
        raise InputError(
            f"cannot write a sign-in message for {domain!r} / {uri!r}: {str(exc).splitlines()[0]}"
        ) from None
    return message.prepare_message()


@dataclass(frozen=True)
class SignIn:
    """The fields of a sign-in message this service checks."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: float
    expiration: float | None
    not_before: float | None
    statement: str | None


def parse_message(text: object) -> SignIn:
    """The checked fields of an EIP-4361 message; NotAuthenticated with a sentence when it is not one, or not in
    canonical form (the text must be exactly what the siwe grammar writes back)."""
    from siwe import SiweMessage

    if not isinstance(text, str) or not text:
        raise NotAuthenticated(f"message must be the EIP-4361 text the wallet signed; {SIGN_IN_HINT}")
    if len(text) > MAX_MESSAGE:
        raise NotAuthenticated(f"the sign-in message is over {MAX_MESSAGE} characters: it is no EIP-4361 message")
    try:
        parsed = SiweMessage.from_message(text)
        canonical = parsed.prepare_message()
    except Exception as exc:  # the grammar raises ValueError; pydantic a ValidationError per bad field
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "it does not follow the grammar"
        raise NotAuthenticated(f"the sign-in message is not a valid EIP-4361 message ({reason})") from None
    if canonical != text:
        raise NotAuthenticated(
            "the sign-in message is not in canonical EIP-4361 form (spacing, line ends or field order differ): "
            "sign the message exactly as POST /auth/nonce gave it"
        )

    def when(value: Any) -> float | None:
        return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()

    issued = when(parsed.issued_at)
    assert issued is not None
    return SignIn(
        domain=parsed.domain,
        address=str(parsed.address),
        uri=str(parsed.uri),
        chain_id=int(parsed.chain_id),
        nonce=parsed.nonce,
        issued_at=issued,
        expiration=when(parsed.expiration_time),
        not_before=when(parsed.not_before),
        statement=parsed.statement,
    )


def check_times(sign_in: SignIn, now: float) -> None:
    if sign_in.expiration is not None and sign_in.expiration <= now:
        raise NotAuthenticated(
            f"the sign-in message expired at {iso(sign_in.expiration)}: ask POST /auth/nonce for a new one"
        )
    if sign_in.not_before is not None and sign_in.not_before > now:
        raise NotAuthenticated(f"the sign-in message is not valid before {iso(sign_in.not_before)}")
    if sign_in.issued_at > now + MAX_SKEW:
        raise NotAuthenticated(
            f"the sign-in message says it was issued at {iso(sign_in.issued_at)}, in the future: check the clock"
        )


def ecdsa_signer(text: str, signature: bytes) -> str | None:
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # eth_keys raises several unrelated types for a malformed (r, s, v)
        return None


def erc1271_call(address: str, text: str, signature: bytes) -> dict[str, str]:
    """The eth_call of `isValidSignature(EIP-191 hash of text, signature)` on a contract wallet."""
    digest = _hash_eip191_message(encode_defunct(text=text))
    data = _IS_VALID_SIGNATURE + encode(["bytes32", "bytes"], [digest, signature])
    return {"to": address, "data": "0x" + data.hex()}


MAX_SIGNATURE_BYTES = 8192  # a contract wallet's signature may be long (multisig); a key's is 65 bytes


def parse_signature_hex(
    value: object,
    refused: type[InputError] = NotAuthenticated,
    says: str = "signature must be the 0x-hex string the wallet's personal_sign returned",
) -> bytes:
    """Any 0x-hex signature: 65 bytes from a key, any length up to MAX_SIGNATURE_BYTES from a contract wallet
    (EIP-1271); otherwise `refused(says)`."""
    if isinstance(value, str) and value.startswith("0x") and len(value) <= 2 + 2 * MAX_SIGNATURE_BYTES:
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = b""
        if raw:
            return raw
    raise refused(says)


class SessionStore:
    """Nonces and sessions in the gateway database. Thread-safe: one connection per thread."""

    def __init__(self, path: gateway_db.Target, nonce_lifetime: float, session_lifetime: float) -> None:
        self.path = path
        self.nonce_lifetime = nonce_lifetime
        self.session_lifetime = session_lifetime
        self._db = gateway_db.ThreadConnections(path, SCHEMA)

    def issue(self, address: str, domain: str, uri: str, chain_id: int, now: float | None = None) -> Issued:
        now = time.time() if now is None else now
        nonce = secrets.token_hex(16)
        expires = now + self.nonce_lifetime
        message = build_message(domain, address, uri, chain_id, nonce, now, expires)
        db = self._db()
        db.execute("DELETE FROM auth_nonces WHERE expires_at < ?", (now - 3600,))  # spent or not, long gone
        db.execute(
            "INSERT INTO auth_nonces (nonce, address, domain, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (nonce, address, domain, now, expires),
        )
        return Issued(nonce, address, domain, uri, chain_id, now, expires, message)

    def sign_in(
        self, message: object, signature: object, chain_id: int, contract_says: Any, now: float | None = None
    ) -> Session:
        """Check a signed message (see the module's doc) and open a session for its address.

        `contract_says(call) -> bytes` runs an eth_call (a contract wallet's EIP-1271 answer); `None` when the
        address has no code."""
        now = time.time() if now is None else now
        sign_in = parse_message(message)
        raw = parse_signature_hex(signature)
        assert isinstance(message, str)
        row = (
            self._db()
            .execute("SELECT address, domain, expires_at, used_at FROM auth_nonces WHERE nonce = ?", (sign_in.nonce,))
            .fetchone()
        )
        if row is None:
            raise NotAuthenticated(f"nonce {sign_in.nonce} was not issued by this service: {SIGN_IN_HINT}")
        address, domain, expires_at, used_at = row
        if used_at is not None:
            raise NotAuthenticated(f"nonce {sign_in.nonce} was already used to sign in: a nonce is good once; "
                                   "ask POST /auth/nonce for a new one")  # fmt: skip
        if expires_at <= now:
            raise NotAuthenticated(
                f"nonce {sign_in.nonce} expired at {iso(expires_at)}: ask POST /auth/nonce for a new one"
            )
        if sign_in.address != address:
            raise NotAuthenticated(f"nonce {sign_in.nonce} was issued for {address}, not {sign_in.address}")
        if sign_in.domain != domain:
            raise NotAuthenticated(
                f"the message signs in to {sign_in.domain!r}, but this nonce was issued for {domain!r}: a message "
                "for another site does not sign in here"
            )
        uri = urlsplit(sign_in.uri)
        if uri.scheme not in ("http", "https") or uri.netloc != domain:
            raise NotAuthenticated(f"the message's URI {sign_in.uri} is not on its domain {domain}")
        if sign_in.chain_id != chain_id:
            raise NotAuthenticated(
                f"the message is for chain {sign_in.chain_id}, but this service is on chain {chain_id}"
            )
        check_times(sign_in, now)
        if ecdsa_signer(message, raw) != address and not contract_accepts(contract_says, address, message, raw):
            raise NotAuthenticated(
                f"the signature is not {address}'s over this message (neither its key's nor, for a contract wallet, "
                "EIP-1271 isValidSignature's): sign the message with that wallet"
            )
        db = self._db()
        spent = db.execute(
            "UPDATE auth_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL", (now, sign_in.nonce)
        ).rowcount
        if spent != 1:
            raise NotAuthenticated(f"nonce {sign_in.nonce} was already used to sign in: a nonce is good once")
        token = secrets.token_urlsafe(32)
        expires = now + self.session_lifetime
        db.execute("DELETE FROM auth_sessions WHERE expires_at < ?", (now,))
        db.execute(
            "INSERT INTO auth_sessions (token_hash, address, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (token_hash(token), address, now, expires),
        )
        return Session(token, address, expires)

    def wallet(self, token: str, now: float | None = None) -> tuple[str, float]:
        """(address, expires_at) of a live session; NotAuthenticated for an unknown or expired token."""
        return session_wallet(self._db, token, now)

    def end(self, token: str) -> bool:
        return self._db().execute("DELETE FROM auth_sessions WHERE token_hash = ?", (token_hash(token),)).rowcount == 1


def contract_accepts(contract_says: Any, address: str, text: str, signature: bytes) -> bool:
    if contract_says is None:
        return False
    try:
        answer = contract_says(erc1271_call(address, text, signature))
    except Exception:  # no code, a revert, an odd return: not a yes
        return False
    return answer is not None and bytes(answer[:4]) == ERC1271_MAGIC
