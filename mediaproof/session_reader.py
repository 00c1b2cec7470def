"""The one reader of sign-in sessions: an `Authorization: Bearer <token>` header to the wallet whose live session it
is. The upload service issues sessions (mediaproof.upload.sessions) into the gateway database; it and the download
service (private projects) both read them here. Tokens are stored hashed, so the database never holds one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mediaproof import gateway_db
from mediaproof.errors import NotAuthenticated

SIGN_IN_HINT = "sign in: POST /auth/nonce with {address}, sign its message, POST /auth/session with it"


def iso(unix: float) -> str:
    """EIP-4361's date-time: RFC 3339 in UTC with milliseconds, as the siwe libraries write it."""
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(header: str | None, needs: str = "writing to the upload service") -> str:
    """The token of an `Authorization: Bearer <token>` header; NotAuthenticated with a sentence otherwise."""
    if not header or not header.strip():
        raise NotAuthenticated(f"{needs} needs a signed-in wallet: {SIGN_IN_HINT}, then send "
                               "Authorization: Bearer <token>")  # fmt: skip
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise NotAuthenticated(
            f"the Authorization header must be `Bearer <token>` from POST /auth/session; {SIGN_IN_HINT}"
        )
    return token


def session_wallet(
    db: Callable[[], gateway_db.GatewayDatabase], token: str, now: float | None = None
) -> tuple[str, float]:
    """(address, expires_at) of the live session `token` names; NotAuthenticated for an unknown or expired one."""
    now = time.time() if now is None else now
    try:
        row = (
            db()
            .execute("SELECT address, expires_at FROM auth_sessions WHERE token_hash = ?", (token_hash(token),))
            .fetchone()
        )
    except gateway_db.MissingTable:  # a read-only reader before the upload service made the table: no sessions
        row = None
    if row is None:
        raise NotAuthenticated(f"the bearer token is not a session of this service (or was signed out): {SIGN_IN_HINT}")
    if row[1] <= now:
        raise NotAuthenticated(f"the session expired at {iso(row[1])}: {SIGN_IN_HINT}")
    return str(row[0]), float(row[1])
