"""Signing in to an upload service in tests, as the CLI does (SIWE with the account's key), once per wallet."""

from __future__ import annotations

from typing import Any

from mediaproof.clients.upload import UploadClient

_tokens: dict[tuple[str, str], str] = {}


def sign_in(url: str, account: Any) -> str:
    """A fresh session's bearer token for `account` at the upload service `url`."""
    with UploadClient(url, account=account) as client:
        return client.sign_in()


def auth(url: str, account: Any) -> dict[str, str]:
    """The Authorization header of `account`'s session at `url` (signed in on first use; sessions live in the
    gateway database, so they outlast a restarted upload service)."""
    key = (url, account.address)
    if key not in _tokens:
        _tokens[key] = sign_in(url, account)
    return {"authorization": f"Bearer {_tokens[key]}"}
