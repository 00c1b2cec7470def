"""The steps every social action takes from a page, shared by the profile's follow button and the media page's likes
and comments: build the action for this deployment, have the wallet sign its typed data (eth_signTypedData_v4, as
the upload page signs a record), hand it to the upload service, then watch the indexer until it shows it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import reflex as rx

from mediaproof import social
from mediaproof.errors import MediaproofError, RateLimited
from webapp import services
from webapp.app_settings import app_settings
from webapp.deployment import load_chain_config
from webapp.social_rows import typed_json
from webapp.state import js_call

# Until the indexer shows an accepted action: its batch closes within the batch interval, then a block or two.
INDEX_WAIT_SECONDS = 180.0
INDEX_POLL_SECONDS = 1.0
NEEDS_WALLET = "Connect your wallet (Sign in, top right): the action is signed by it."
PENDING = "Signed and accepted: pending anchoring (it shows here once its batch is on chain)."
NOT_YET = "Accepted, but not anchored yet: it shows here once its batch is on chain; nothing needs signing again."


def now() -> int:
    return int(time.time())


def nonce() -> bytes:
    """Each action's random nonce: two likes of one media are two messages; a replay has an id seen before."""
    return os.urandom(32)


def sign_request(author: str, action: social.Action, callback: Any) -> tuple[str, Any]:
    """The typed data to sign (JSON) and the script that asks the wallet for its signature, answered to `callback`
    with `{signature}` or `{error, message}`."""
    config = load_chain_config()
    typed = typed_json(action, config.chain_id, config.media_app)
    return typed, rx.call_script(js_call("signTypedData", author, typed), callback=callback)


def wallet_refusal(answer: dict[str, Any]) -> str:
    """ "" when the wallet signed; else what to tell the user (nothing was sent)."""
    if answer.get("error") == "refused":
        return "You declined to sign, so nothing was sent."
    if answer.get("error"):
        return f"Your wallet could not sign: {answer.get('message') or answer.get('error')}. Nothing was sent."
    if not str(answer.get("signature") or "").startswith("0x"):
        return "Your wallet answered without a signature. Nothing was sent."
    return ""


async def send(typed: str, signature: str, client_ip: str) -> dict[str, Any]:
    """POST /actions with the signed message, on behalf of the browser at `client_ip`: `{action_id, kind, author,
    state}`."""
    data = json.loads(typed)
    return await services.post_action(app_settings(), str(data["primaryType"]), data["message"], signature, client_ip)


def problem(exc: MediaproofError) -> str:
    """A refusal's own sentence (the service's `detail`), or what failed."""
    if isinstance(exc, RateLimited) and exc.status == 429:
        return f"Too many actions at once: {exc}. Try again in {exc.retry_after} s."
    if services.refused(exc):
        return f"Refused: {exc}"
    return f"Could not send it: {exc}"
