"""The upload service's async client, for the web app's backend: sign-in on a page's behalf, what an upload holds,
its record to sign and its commit, a wallet's onboarding, and a project's manifest.

Unlike upload.py (the CLI's client, which signs with a key it holds), this one never signs: the browser's wallet
does, and each write carries the bearer token of that wallet's session. Paths come from upload_routes, answers
decode through clients.json_answer (the class the service raised), and no answer at all is a ServiceUnavailable.
Imports nothing heavier than httpx: the web app's environment has no Ape or web3.
"""

from __future__ import annotations

from typing import Any

import httpx

from mediaproof.clients import ServiceUnavailable, json_answer, upload_routes
from mediaproof.errors import InputError

WHAT = "upload service"
MODES = ("batched", "direct")


def bearer(token: str) -> dict[str, str]:
    """The header of a write: the wallet's session from `POST /auth/session`."""
    return {"authorization": f"Bearer {token}"}


def _on_behalf_of(client_ip: str) -> dict[str, str]:
    """The browser's address, for the upload service's per-address limits on sign-ins: believed only when its
    MEDIAPROOF_UPLOAD_TRUSTED_PROXIES names the caller's host (otherwise every sign-in counts against that host)."""
    return {"x-forwarded-for": client_ip} if client_ip else {}


class AsyncUploadClient:
    """`timeout` for quick calls; `slow_timeout` for prepare (waits for variants), commit (receipts and a mined
    transaction) and manifests (every file checked on the clusters)."""

    def __init__(self, url: str, timeout: float = 15.0, slow_timeout: float = 180.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.slow_timeout = slow_timeout

    async def _json(self, method: str, path: str, slow: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.slow_timeout if slow else self.timeout) as client:
                reply = await client.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the {WHAT} did not answer ({type(exc).__name__}): is it running?") from None
        return json_answer(reply, WHAT)

    # --- sign-in (Sign-In with Ethereum, the wallet signing in the browser) ---

    async def post_action(
        self, kind: str, message: dict[str, Any], signature: str, client_ip: str = ""
    ) -> dict[str, Any]:
        """`POST /actions`: a signed follow, like or comment (no session: the author's signature is the credential);
        `{action_id, kind, author, state}`, `pending` until its batch is anchored. `client_ip`: the browser's
        address, for the per-address limit (believed only from a trusted proxy)."""
        body = {"kind": kind, "message": message, "signature": signature}
        return await self._json("POST", upload_routes.ACTIONS, json=body, headers=_on_behalf_of(client_ip))

    async def sign_in_message(self, address: str, origin: str, client_ip: str = "") -> dict[str, Any]:
        """`POST /auth/nonce`: the EIP-4361 message for `address` to sign, naming the page's own `origin` (one of
        the service's MEDIAPROOF_UPLOAD_CORS_ORIGINS), with its nonce and expiry."""
        body = {"address": address, "origin": origin}
        return await self._json("POST", upload_routes.NONCE, json=body, headers=_on_behalf_of(client_ip))

    async def open_session(self, message: str, signature: str, client_ip: str = "") -> dict[str, Any]:
        """`POST /auth/session` with the signed message: `{token, address, expires_at}` of the wallet's session."""
        body = {"message": message, "signature": signature}
        return await self._json("POST", upload_routes.SESSION, json=body, headers=_on_behalf_of(client_ip))

    async def end_session(self, token: str) -> None:
        """`DELETE /auth/session`: the token stops working at once (signing out)."""
        await self._json("DELETE", upload_routes.SESSION, headers=bearer(token))

    # --- wallets ---

    async def wallet(self, address: str) -> dict[str, Any]:
        return await self._json("GET", upload_routes.user(address))

    async def onboarding(self, token: str) -> dict[str, Any]:
        """MediaApp.register() for the signed-in wallet to send (the service takes the owner from the session)."""
        return await self._json("POST", upload_routes.USERS, json={}, headers=bearer(token))

    # --- uploads (the browser sends the bytes itself; these are the calls around them) ---

    async def status(self, upload_id: str) -> dict[str, Any]:
        """What the service holds for an upload: sha256, cid, type, size, variants so far (and once committed, its
        link, batch and proof)."""
        return await self._json("GET", upload_routes.upload(upload_id))

    async def prepare(self, token: str, upload_id: str, title: str, mode: str = "batched") -> dict[str, Any]:
        """The record to sign: typed data whose integers are decimal strings, for eth_signTypedData_v4 as it is.
        Its owner is the signed-in wallet (the service takes it from the session)."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        body = {"title": title, "mode": mode}
        return await self._json("POST", upload_routes.prepare(upload_id), slow=True, json=body, headers=bearer(token))

    async def commit(self, token: str, upload_id: str, signature: str) -> dict[str, Any]:
        """Receipts, then the batch's anchor (up to the batch interval) or the direct registration: `state` is
        "committed" with the link, batch and proof bundle, or "anchoring" while its batch is still open."""
        body = {"signature": signature}
        return await self._json("POST", upload_routes.commit(upload_id), slow=True, json=body, headers=bearer(token))

    # --- projects ---

    async def post_manifest(
        self, token: str, project_id: str, manifest: str, possession: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """`POST /projects/{pid}/manifests`: the service checks every file is stored and readable by the wallet,
        stores the manifest and answers its `{cid, sha256, size}` for the commit."""
        body = {"manifest": manifest, "possession": possession or {}}
        path = upload_routes.project_manifests(project_id)
        return await self._json("POST", path, slow=True, json=body, headers=bearer(token))
