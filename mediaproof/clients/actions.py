"""The upload service's social actions over async HTTP, for the web app: `POST /actions` (a signed follow, like or
comment).

No session is needed: the author's EIP-712 signature is the authentication. An error answer is the class the
service raised (mediaproof.problems), whose message is its `detail`; no answer is a ServiceUnavailable.
"""

from __future__ import annotations

from typing import Any

import httpx

from mediaproof.clients import ServiceUnavailable, json_answer


async def _call(method: str, url: str, timeout: float, **kwargs: Any) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            reply = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the upload service did not answer ({type(exc).__name__}): is it running?") from None
    return json_answer(reply, "upload service")


async def post_action(
    upload_url: str,
    kind: str,
    message: dict[str, Any],
    signature: str,
    timeout: float = 15.0,
    on_behalf_of: str = "",
) -> dict[str, Any]:
    """Hands a signed action to the upload service: `{action_id, kind, author, state}` (`pending` until its batch is
    anchored). `on_behalf_of`: the browser's address, for the per-address limit (believed only from a trusted proxy)."""
    body = {"kind": kind, "message": message, "signature": signature}
    headers = {"x-forwarded-for": on_behalf_of} if on_behalf_of else {}
    return await _call("POST", upload_url.rstrip("/") + "/actions", timeout, json=body, headers=headers)
