"""Who is signed in: the wallet connection and Sign-In with Ethereum, shared by every page.

One wallet prompt signs the user in to the web app and to the upload service at once: the backend asks the upload
service for a sign-in message naming this page's origin (`POST /auth/nonce`), the browser has the wallet sign it
(assets/mediaproof.js), the backend checks the signature as the web app's own sign-in (webapp.signin) and hands it
to the upload service (`POST /auth/session`), whose bearer token it keeps here, server-side, for this browser
session. Every write to the upload service sends it; when the service no longer knows it (signed out elsewhere,
expired) the user is signed out here too and asked to sign in again. Imports only the app's non-UI modules.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, tzinfo
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError, MediaproofError, RateLimited
from webapp import services
from webapp.app_settings import app_settings
from webapp.deployment import load_chain_config
from webapp.signin import SignInChallenge, challenge_from, check_signature
from webapp.timeline import viewer_zone, zone_name
from webapp.wallet_choice import wallet_choices


class ExplorerState(rx.State):
    """The block explorer every hash, address and transaction links to (MEDIAPROOF_EXPLORER_URL); "" for none."""

    @rx.var(cache=True)
    def explorer_url(self) -> str:
        return app_settings().explorer_url.rstrip("/")


# The cookie assets/mediaproof.js (viewerZone) keeps the browser's time zone in, for a year.
ZONE_COOKIE = "mediaproof_tz"
ZONE_COOKIE_SECONDS = 365 * 24 * 3600


class ViewerZoneState(rx.State):
    """The viewer's time zone as their browser names it (IANA): grids head their dates by the viewer's days
    (webapp.timeline.viewer_zone checks the name; anything unusable is UTC). It comes with the app's hydration when
    the cookie holds it, and from the browser itself when a grid asks (ask_viewer_zone)."""

    zone: str = rx.Cookie("", name=ZONE_COOKIE, same_site="lax", max_age=ZONE_COOKIE_SECONDS)

    def _reported(self, name: Any) -> tzinfo | None:
        """Keeps the zone a browser reported (outside input: checked by viewer_zone); the zone to head the grids by
        when it is not the one they were headed by, else None."""
        zone = viewer_zone(str(name or "")[:64])
        changed = zone_name(zone) != zone_name(viewer_zone(self.zone))
        if zone_name(zone) != self.zone:
            self.zone = zone_name(zone)
        return zone if changed else None


def ask_viewer_zone(callback: Any) -> Any:
    """Asks the browser for its time zone (assets/mediaproof.js viewerZone, which also writes the cookie), answering
    `callback`: a grid reached from a page that did not look it up, or in a zone changed since the cookie was
    written, is headed again by it."""
    return rx.call_script(js_call("viewerZone"), callback=callback)


def js_call(function: str, *args: Any) -> str:
    """A call of one of window.mediaproof's helpers with JSON-encoded arguments (never pasted into JS as text)."""
    return f"window.mediaproof.{function}({', '.join(json.dumps(arg) for arg in args)})"


SESSION_ENDED = "Your sign-in has ended (signed out elsewhere, or expired): sign in again."


def upload_service_problem(exc: MediaproofError, doing: str) -> str:
    """A sentence for a failed call to the upload service while `doing` (e.g. "sign in")."""
    if isinstance(exc, RateLimited) and exc.status == 429:
        return (
            f"The upload service asks you to wait before you {doing} again ({exc}): try again in {exc.retry_after} s."
        )
    if services.refused(exc):
        return f"The upload service refused to let you {doing}: {exc}"
    return f"Could not {doing}: {exc}"


class AuthState(rx.State):
    """The wallet's address once it has proven it by signing; the reason when it has not."""

    address: str = ""
    signed_in: bool = False
    # "" | "busy" | "choose" | "no_wallet" | "refused" | "wrong_chain" | "ended" | "error": what the wallet panel
    # explains
    problem: str = ""
    # The wallets the browser announced (EIP-6963) when there are several to choose from: uuid, name, icon, rdns.
    wallets: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    detail: str = ""
    wallet_chain_id: int = 0
    expected_chain_id: int = 0

    _challenge: SignInChallenge | None = None
    _session_expires_at: datetime | None = None
    # The upload service's bearer token for this wallet (POST /auth/session). Never sent to the page's state: the
    # page gets it only for the one request it sends itself (its XMLHttpRequest of a file's bytes).
    _upload_token: str = ""

    @rx.var
    def short_address(self) -> str:
        return f"{self.address[:6]}…{self.address[-4:]}" if self.address else ""

    def _fail(self, problem: str, detail: str) -> None:
        self.problem, self.detail = problem, detail
        self.wallets = []
        self.signed_in = False
        self._challenge = None
        self._upload_token, self._session_expires_at = "", None

    def _client_ip(self) -> str:
        return str(self.router.session.client_ip or "")

    # Helpers for the pages' states (reached with `await self.get_state(AuthState)`): underscored, because Reflex
    # makes every public method of a state an event handler.
    def _token(self) -> str:
        """The bearer token of a signed-in session ("" when signed out); for the pages' calls to the upload service."""
        return self._upload_token if self.signed_in else ""

    def _session_ended(self, detail: str = SESSION_ENDED) -> None:
        """The upload service answered 401: the session is over here too, and the wallet panel says so."""
        address = self.address
        self.reset()
        self._fail("ended", detail)
        self.address = address  # the panel may still name whose sign-in ended

    @rx.event
    def connect(self):
        """Ask the wallet for an account and its chain; the answer arrives in `wallet_answered`."""
        self.problem, self.detail = "busy", "Waiting for your wallet…"
        return rx.call_script(js_call("connect"), callback=AuthState.wallet_answered)

    @rx.event
    def connect_with(self, uuid: str):
        """The user chose one of the announced wallets: use it from now on, and ask it as `connect` does."""
        if not any(wallet["uuid"] == uuid for wallet in self.wallets):
            return self._fail("error", "That wallet is not one this browser announced: press Sign in again.")
        self.wallets = []
        self.problem, self.detail = "busy", "Waiting for your wallet…"
        return rx.call_script(js_call("connect", uuid), callback=AuthState.wallet_answered)

    @rx.event
    async def wallet_answered(self, answer: dict[str, Any]):
        error = answer.get("error")
        if error == "choose":
            self._fail("choose", "Several wallets are installed in this browser: choose the one to sign in with.")
            self.wallets = wallet_choices(answer.get("wallets"))
            return None
        if error == "no_wallet":
            return self._fail(
                "no_wallet",
                "No Ethereum wallet found in this browser, so you cannot sign in or upload yet; the feed, "
                "search, profiles and verifying a file all work without one. To sign in, install a wallet "
                "extension, reload this page and press Sign in again.",
            )
        if error == "refused":
            return self._fail("refused", "You declined to connect your wallet. Press Sign in to try again.")
        if error:
            return self._fail("error", f"The wallet failed: {answer.get('message', error)}")
        try:
            config = load_chain_config()
        except DeploymentError as exc:
            return self._fail("error", str(exc))
        self.address = str(answer.get("address", ""))
        self.wallet_chain_id = int(answer.get("chainId") or 0)
        self.expected_chain_id = config.chain_id
        if self.wallet_chain_id != config.chain_id:
            return self._fail(
                "wrong_chain",
                f"Your wallet is on chain {self.wallet_chain_id}; Mediaproof runs on chain {config.chain_id}.",
            )
        origin = self.router.headers.origin
        try:
            # The message comes from the upload service, naming this page's origin: the one signature then signs
            # in here (the same EIP-4361 check as ever) and there (a bearer session for the uploads).
            issued = await services.sign_in_message(app_settings(), self.address, origin, self._client_ip())
            challenge = challenge_from(
                issued, address=self.address, chain_id=config.chain_id, origin=origin, now=datetime.now(UTC)
            )
        except MediaproofError as exc:  # the service's refusal (its 4xx), a failure, or a message not for here
            return self._fail("error", upload_service_problem(exc, "sign in"))
        self._challenge = challenge
        self.address = challenge.address
        self.problem, self.detail = "busy", "Sign the message in your wallet to prove this address is yours."
        return rx.call_script(
            js_call("personalSign", challenge.address, challenge.message), callback=AuthState.signature_answered
        )

    @rx.event
    async def signature_answered(self, answer: dict[str, Any]):
        challenge = self._challenge
        if challenge is None:
            return self._fail("error", "No sign-in was in progress: press Sign in again.")
        error = answer.get("error")
        if error == "refused":
            return self._fail("refused", "You declined to sign the sign-in message, so you are not signed in.")
        if error:
            return self._fail("error", f"The wallet failed to sign: {answer.get('message', error)}")
        message, signature = str(answer.get("message", "")), str(answer.get("signature", ""))
        try:
            address = check_signature(challenge, message, signature, datetime.now(UTC))
            session = await services.open_session(app_settings(), message, signature, self._client_ip())
        except MediaproofError as exc:
            refused_locally = isinstance(exc, InputError) and not services.refused(exc)  # a bad signature
            return self._fail("error", str(exc) if refused_locally else upload_service_problem(exc, "sign in"))
        if str(session.get("address", "")).lower() != address.lower() or not session.get("token"):
            return self._fail("error", "The upload service opened a session for another address: sign in again.")
        self._challenge = None
        self._upload_token = str(session["token"])
        # The web app's sign-in lasts as long as the upload service's session (the message itself expires in minutes).
        self._session_expires_at = datetime.fromtimestamp(int(session["expires_at"]), UTC)
        self.address = address
        self.signed_in = True
        self.problem, self.detail = "", ""

    @rx.event
    def switch_chain(self):
        """Ask the wallet to move to the deployment's chain (adding it first if the wallet lacks it)."""
        try:
            config = load_chain_config()
        except DeploymentError as exc:
            return self._fail("error", str(exc))
        self.problem, self.detail = "busy", f"Asking your wallet to switch to chain {config.chain_id}…"
        return rx.call_script(
            js_call("switchChain", config.chain_id_hex, config.rpc_url), callback=AuthState.switch_answered
        )

    @rx.event
    def switch_answered(self, answer: dict[str, Any]):
        if answer.get("error") == "refused":
            return self._fail(
                "wrong_chain",
                f"You declined to switch chains; Mediaproof runs on chain {self.expected_chain_id}.",
            )
        if answer.get("error"):
            return self._fail("wrong_chain", f"The wallet could not switch chains: {answer.get('message')}")
        return AuthState.connect

    @rx.event
    def wallet_changed(self):
        """The wallet reported another account or chain; a signed-in session checks it still holds."""
        if self.signed_in:
            return rx.call_script(js_call("currentAccount"), callback=AuthState.still_signed_in)

    @rx.event
    async def still_signed_in(self, answer: dict[str, Any]):
        address = str(answer.get("address") or "")
        chain_id = int(answer.get("chainId") or 0)
        if address.lower() == self.address.lower() and chain_id == self.expected_chain_id:
            return
        await self._end_upload_session()
        self.reset()
        self._fail("error", "Your wallet switched to another account or chain, so you were signed out: sign in again.")

    async def _end_upload_session(self) -> None:
        """Signing out here signs out at the upload service too: the token stops working at once."""
        token, self._upload_token = self._upload_token, ""
        if token:
            # Already ended there (401), or the service is away: the token is forgotten here either way.
            with contextlib.suppress(MediaproofError):
                await services.end_session(app_settings(), token)

    @rx.event
    async def sign_out(self):
        await self._end_upload_session()
        self.reset()
        self._fail("", "")

    @rx.event
    def expire_session(self):
        """Run on every page load: a session ends when the upload service's session does."""
        if self.signed_in and (self._session_expires_at is None or datetime.now(UTC) >= self._session_expires_at):
            self.reset()
            self._fail("ended", "Your sign-in has expired: sign in again.")
