"""Who is signed in: the wallet connection and Sign-In with Ethereum, shared by every page.

The browser talks to the wallet (assets/mediaproof.js); this backend issues the EIP-4361 message with its own
nonce and checks the signature before it believes an address. Imports only the app's non-UI modules.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError
from webapp.deployment import load_chain_config
from webapp.signin import SignInChallenge, check_signature, issue_challenge


def js_call(function: str, *args: Any) -> str:
    """A call of one of window.mediaproof's helpers with JSON-encoded arguments (never pasted into JS as text)."""
    return f"window.mediaproof.{function}({', '.join(json.dumps(arg) for arg in args)})"


class AuthState(rx.State):
    """The wallet's address once it has proven it by signing; the reason when it has not."""

    address: str = ""
    signed_in: bool = False
    # "" | "busy" | "no_wallet" | "refused" | "wrong_chain" | "error": what the wallet panel explains
    problem: str = ""
    detail: str = ""
    wallet_chain_id: int = 0
    expected_chain_id: int = 0

    _challenge: SignInChallenge | None = None
    _session_expires_at: datetime | None = None

    @rx.var
    def short_address(self) -> str:
        return f"{self.address[:6]}…{self.address[-4:]}" if self.address else ""

    def _fail(self, problem: str, detail: str) -> None:
        self.problem, self.detail = problem, detail
        self.signed_in = False
        self._challenge = None

    @rx.event
    def connect(self):
        """Ask the wallet for an account and its chain; the answer arrives in `wallet_answered`."""
        self.problem, self.detail = "busy", "Waiting for your wallet…"
        return rx.call_script(js_call("connect"), callback=AuthState.wallet_answered)

    @rx.event
    def wallet_answered(self, answer: dict[str, Any]):
        error = answer.get("error")
        if error == "no_wallet":
            return self._fail(
                "no_wallet",
                "No Ethereum wallet found in this browser. Install a wallet extension (for example MetaMask), "
                "reload this page and press Sign in again.",
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
        try:
            challenge = issue_challenge(
                address=self.address,
                chain_id=config.chain_id,
                origin=self.router.headers.origin,
                nonce=secrets.token_hex(12),
                now=datetime.now(UTC),
            )
        except InputError as exc:
            return self._fail("error", str(exc))
        self._challenge = challenge
        self.address = challenge.address
        self.problem, self.detail = "busy", "Sign the message in your wallet to prove this address is yours."
        return rx.call_script(
            js_call("personalSign", challenge.address, challenge.message), callback=AuthState.signature_answered
        )

    @rx.event
    def signature_answered(self, answer: dict[str, Any]):
        challenge = self._challenge
        if challenge is None:
            return self._fail("error", "No sign-in was in progress: press Sign in again.")
        error = answer.get("error")
        if error == "refused":
            return self._fail("refused", "You declined to sign the sign-in message, so you are not signed in.")
        if error:
            return self._fail("error", f"The wallet failed to sign: {answer.get('message', error)}")
        try:
            self.address = check_signature(
                challenge, str(answer.get("message", "")), str(answer.get("signature", "")), datetime.now(UTC)
            )
        except InputError as exc:
            return self._fail("error", str(exc))
        self._challenge = None
        self._session_expires_at = challenge.expires_at
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
    def still_signed_in(self, answer: dict[str, Any]):
        address = str(answer.get("address") or "")
        chain_id = int(answer.get("chainId") or 0)
        if address.lower() == self.address.lower() and chain_id == self.expected_chain_id:
            return
        self.reset()
        self.problem = "error"
        self.detail = "Your wallet switched to another account or chain, so you were signed out: sign in again."

    @rx.event
    def sign_out(self):
        self.reset()

    @rx.event
    def expire_session(self):
        """Run on every page load: a session ends at the expiry the user signed."""
        if self.signed_in and (self._session_expires_at is None or datetime.now(UTC) >= self._session_expires_at):
            self.reset()
            self.problem, self.detail = "error", "Your sign-in has expired: sign in again."
