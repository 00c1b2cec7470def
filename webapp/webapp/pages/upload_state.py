"""The /upload page's state (UploadState): the held file sent and its refusals waited out, the wallet's account for a
direct proof, then the record prepared, signed in the wallet and committed until it is proven. The sentences come
from upload_refusals, what is shown of the record and the result from upload_answers; every call to the upload
service goes through webapp.services (mediaproof.clients.upload_async)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import reflex as rx

from mediaproof.errors import MediaproofError, NotRegistered, RateLimited
from webapp import services
from webapp.app_settings import app_settings
from webapp.media_rows import ether, human_size, kind_of, short_address
from webapp.pages.upload_answers import record_to_show, result_to_show
from webapp.pages.upload_refusals import rejection_message, upload_refusal
from webapp.state import AuthState, js_call, upload_service_problem

# A commit answers once its batch is anchored; if the batch was still open, GET /uploads/{id} says when it is.
ANCHOR_POLL_SECONDS = 1.0
ANCHOR_WAIT_SECONDS = 120.0


class UploadState(rx.State):
    # "pick" | "sending" | "held" (not taken: send again) | "waiting" (for Retry-After, then sent again) | "review" |
    # "preparing" | "record" | "signing" | "registering" | "anchoring" | "done"
    stage: str = "pick"
    mode: str = "batched"  # how it is proven: "batched" (default) | "direct"
    progress: int = 0
    error: str = ""
    file_name: str = ""
    preview_url: str = ""  # an object URL of the file in the page (blob:…): the preview never leaves the browser
    kind: str = ""
    media_type: str = ""
    size_text: str = ""
    dimensions: str = ""
    sha256: str = ""
    deduplicated: bool = False
    # Who proved these bytes first, asked of the indexer as soon as the sha256 is known, before anything is signed:
    # "" when nobody did (or the indexer could not say). The user may still register them.
    first_owner: str = ""
    first_owner_short: str = ""
    first_block: int = 0
    first_verify: str = ""  # /verify/0x<sha256>: the proofs of those bytes
    title: str = ""
    record: dict[str, str] = rx.field(default_factory=dict)  # type: ignore[assignment]
    result: dict[str, str] = rx.field(default_factory=dict)  # type: ignore[assignment]
    # the signed-in wallet's Mediaproof account: "" (not asked) | "checking" | "none" | "registering" | "ready"
    account: str = ""
    account_detail: str = ""
    deposit: str = ""
    max_bytes: int = 0
    # While waiting as the upload service asked (429/503): why, the seconds it asked for, and the seconds left.
    wait_reason: str = ""
    wait_seconds: int = 0
    wait_left: int = 0

    _upload_id: str = ""
    _typed_json: str = ""
    _wait_round: int = 0  # a countdown stops when a newer wait, a resend or a start over moved on

    async def _token(self) -> str:
        """The signed-in wallet's bearer token for the upload service ("" when signed out)."""
        return (await self.get_state(AuthState))._token()

    async def _explain(self, exc: MediaproofError, doing: str, then: str) -> str:
        """A sentence for a failed call to the upload service while `doing`; a 401 also signs out (the session
        is over), and the sentence says to sign in again and then `then`."""
        if exc.status == 401:
            (await self.get_state(AuthState))._session_ended()
            return (
                f"Your sign-in has ended (signed out or expired), so the upload service would not {doing}. "
                f"Sign in again (top right), then {then}."
            )
        if isinstance(exc, RateLimited) and exc.status == 503:
            return f"The upload service is busy and could not {doing}: {exc}. Try again in {exc.retry_after} s."
        return upload_service_problem(exc, doing)

    @rx.var
    def max_size_text(self) -> str:
        return human_size(self.max_bytes)

    @rx.event
    async def load(self):
        self.max_bytes = app_settings().max_upload_bytes
        yield  # the drop zone knows the limit at once, not after the wallet's account is looked up
        await self._check_account()

    async def _check_account(self) -> None:
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.account = ""
            return
        self.account = "checking"
        try:
            wallet = await services.wallet(app_settings(), auth.address)
        except MediaproofError as exc:
            self.account, self.account_detail = "", f"The upload service could not be asked about your wallet: {exc}"
            return
        self.account = "ready" if wallet.get("registered") else "none"
        self.deposit = ether(wallet.get("deposit_wei"))
        self.account_detail = ""

    @rx.event
    async def recheck_account(self):
        await self._check_account()

    # --- first visit: the wallet registers with its deposit ---

    @rx.event
    async def register_account(self):
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.account_detail = "Sign in first."
            return
        try:
            onboarding = await services.onboarding(app_settings(), auth._token())
        except MediaproofError as exc:
            self.account_detail = await self._explain(exc, "start your registration", "create the account")
            return
        if onboarding.get("registered"):
            self.account = "ready"
            return
        tx = onboarding["transaction"]
        self.account, self.account_detail = (
            "registering",
            "Confirm in your wallet: one transaction that creates your account and deposits "
            f"{ether(int(tx['value'], 16))}.",
        )
        wallet_tx = {k: tx[k] for k in ("from", "to", "data", "value")}
        return rx.call_script(js_call("sendTransaction", wallet_tx, 120_000), callback=UploadState.registered)

    @rx.event
    async def registered(self, answer: dict[str, Any]):
        if answer.get("error") == "refused":
            self.account, self.account_detail = "none", "You declined the registration; nothing was sent."
            return
        if answer.get("error") or answer.get("status") != 1:
            self.account = "none"
            self.account_detail = f"The registration failed: {answer.get('message') or 'the transaction reverted'}."
            return
        await self._check_account()

    # --- the file ---

    @rx.event
    def rejected(self, files: list[dict[str, Any]]):
        self.stage, self.progress = "pick", 0
        self.error = rejection_message(files, self.max_bytes or app_settings().max_upload_bytes)

    @rx.event
    def sending_progress(self, percent: int):
        # Reports travel over the websocket, the bytes over their own HTTP request: a late report must not move a
        # page that has already gone on to the review.
        if self.stage == "sending":
            self.progress = max(0, min(100, int(percent or 0)))

    @rx.event
    async def picked(self, file: dict[str, Any]):
        """The drop zone accepted a file and the page holds it; the page sends it on to the upload service."""
        settings = app_settings()
        self.error, self.result, self.record = "", {}, {}
        self.first_owner, self.first_owner_short, self.first_block, self.first_verify = "", "", 0, ""
        name = str(file.get("name") or "the file")
        size = int(file.get("size") or 0)
        if size > settings.max_upload_bytes:  # react-dropzone's check, again (the service checks while streaming)
            self.stage = "pick"
            limit = human_size(settings.max_upload_bytes)
            self.error = f"{name} is too large: {human_size(size)}, over the limit of {limit}."
            return
        if size == 0:
            self.stage, self.error = "pick", f"{name} is empty."
            return
        self.file_name = name
        return await self._send()

    async def _send(self):
        """The page sends the held file with the wallet's bearer token; its answer comes to `stored`."""
        token = await self._token()
        if not token:
            self.stage = "held"
            self.error = f"Sign in with your wallet first (top right), then send {self.file_name}."
            return None
        self._wait_round += 1
        self.stage, self.progress, self.error = "sending", 0, ""
        settings = app_settings()
        # Over the CLI's threshold the page sends by tus too (assets/resumable_upload.js), in the CLI's chunks.
        send = js_call(
            "sendHeldFile",
            services.upload_base(settings),
            token,
            settings.upload_resumable_above,
            settings.upload_chunk_bytes,
        )
        return rx.call_script(send, callback=UploadState.stored)

    @rx.event
    async def resend(self):
        """Send the held file again: after signing in again, after a stall, or once a wait is over."""
        if self.stage in ("held", "waiting"):
            return await self._send()

    @rx.event(background=True)
    async def count_down(self, round_: int):
        """Counts the wait the upload service asked for, then sends the file again (unless the page moved on)."""
        loop = asyncio.get_running_loop()
        async with self:
            deadline = loop.time() + self.wait_seconds
        while True:
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
            async with self:
                if self.stage != "waiting" or self._wait_round != round_:
                    return
                self.wait_left = max(0, math.ceil(deadline - loop.time()))
                if self.wait_left == 0:
                    break
        yield UploadState.resend

    @rx.event
    async def stored(self, sent: dict[str, Any]):
        """The upload service's answer to the page's POST /uploads (or why there is none)."""
        if self.stage != "sending":  # started over meanwhile
            return
        error = sent.get("error")
        if error in ("rejected", "unreachable"):
            status = int(sent.get("status") or 0) if error == "rejected" else 0
            refusal = upload_refusal(self.file_name, status, str(sent.get("message") or ""), sent.get("retryAfter"))
            if refusal.kind == "signed_out":
                (await self.get_state(AuthState))._session_ended()
            if refusal.kind == "wait":
                self._wait_round += 1
                self.stage, self.error = "waiting", ""
                self.wait_reason, self.wait_seconds, self.wait_left = refusal.sentence, refusal.wait, refusal.wait
                return UploadState.count_down(self._wait_round)  # type: ignore[misc]
            self.stage = "pick" if refusal.kind == "refused" else "held"
            self.error = refusal.sentence
            return
        if error == "no_file":
            self.stage, self.error = "pick", f"This page no longer holds {self.file_name}: choose it again."
            return
        if error:
            self.stage, self.error = "pick", f"{self.file_name} was not uploaded: {sent.get('message') or error}."
            return
        answer = sent.get("answer")
        if not isinstance(answer, dict):
            answer = {}
        try:
            # The service's own record of it, not the page's word: what prepare will put in the signed record.
            stored = await services.upload(app_settings(), str(answer.get("upload_id") or ""))
        except MediaproofError as exc:
            self.stage, self.error = "pick", f"The upload service lost track of {self.file_name}: {exc}"
            return
        preview = str(sent.get("preview") or "")
        self.preview_url = preview if preview.startswith("blob:") else ""
        self._upload_id = str(stored["upload_id"])
        self.media_type = str(stored.get("media_type") or "")
        self.kind = kind_of(self.media_type)
        self.size_text = human_size(stored.get("size"))
        self.dimensions = f"{stored['width']}×{stored['height']}" if stored.get("width") else ""
        self.sha256 = str(stored.get("sha256") or "")
        self.deduplicated = bool(answer.get("deduplicated"))
        await self._first_proof()
        if not self.title:
            self.title = Path(self.file_name).stem.replace("_", " ").replace("-", " ")[:200]
        self.stage = "review"

    async def _first_proof(self) -> None:
        """Whether these exact bytes are proven already, so the page can say so before the user signs."""
        self.first_owner, self.first_owner_short, self.first_block, self.first_verify = "", "", 0, ""
        try:
            first = await services.first_proof(app_settings(), self.sha256)
        except NotRegistered:
            return
        except MediaproofError:
            return  # advisory: an indexer that cannot answer must not stop an upload
        self.first_owner = str(first.get("owner") or "")
        self.first_owner_short = short_address(self.first_owner)
        self.first_block = int(first.get("block") or 0)
        self.first_verify = f"/verify/0x{self.sha256.lower().removeprefix('0x')}"

    @rx.event
    def set_title(self, title: str):
        self.title = title

    @rx.event
    def set_mode(self, mode: str | list[str]):
        chosen = mode if isinstance(mode, str) else mode[0]
        if chosen in services.MODES:
            self.mode = chosen

    @rx.event
    def start_over(self):
        self.stage, self.progress, self.error, self.title, self.preview_url = "pick", 0, "", "", ""
        self.record, self.result, self._upload_id, self._typed_json = {}, {}, "", ""
        self.first_owner, self.first_owner_short, self.first_block, self.first_verify = "", "", 0, ""
        self.wait_reason, self.wait_seconds, self.wait_left = "", 0, 0
        self._wait_round += 1
        return rx.call_script(js_call("forgetHeldFile"))

    # --- the record: prepared by the service, read by the user, signed in the wallet ---

    @rx.event
    async def prepare(self):
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.error = "Sign in with your wallet first (top right): the record is signed by your address."
            return
        if self.mode == "direct" and self.account != "ready":
            self.error = (
                "Create your Mediaproof account first (the step above): a direct registration is paid from its "
                "deposit. A batched proof needs no account."
            )
            return
        if not self.title.strip():
            self.error = "Give it a title: the title is part of the signed record and how people find it."
            return
        self.stage, self.error = "preparing", ""
        yield
        try:
            prepared = await services.prepare(
                app_settings(), auth._token(), self._upload_id, self.title.strip(), self.mode
            )
        except MediaproofError as exc:
            then = "press Continue again: the file is still stored"
            self.stage, self.error = "review", await self._explain(exc, "prepare the record", then)
            return
        # As the service gave it: its integers are decimal strings, so the wallet's JSON.parse rounds nothing.
        self._typed_json = json.dumps(prepared["typed_data"])
        self.record = record_to_show(prepared, self.mode)
        self.stage = "record"

    @rx.event
    async def sign(self):
        auth = await self.get_state(AuthState)
        if not self._typed_json or not auth.signed_in:
            self.error = "Nothing to sign: prepare the record again."
            return
        self.stage, self.error = "signing", ""
        return rx.call_script(js_call("signTypedData", auth.address, self._typed_json), callback=UploadState.signed)

    @rx.event
    async def signed(self, answer: dict[str, Any]):
        if answer.get("error") == "refused":
            self.stage = "record"
            self.error = "You declined to sign, so nothing was registered. Sign again, or start over."
            return
        if answer.get("error"):
            self.stage, self.error = (
                "record",
                f"Your wallet could not sign: {answer.get('message')}. Nothing was registered.",
            )
            return
        self.stage = "registering"
        yield
        settings = app_settings()
        try:
            done = await services.commit(settings, await self._token(), self._upload_id, str(answer.get("signature")))
        except MediaproofError as exc:
            if services.refused(exc):
                then = "sign the record again (nothing was registered)"
                self.stage, self.error = "record", await self._explain(exc, "register it", then)
            else:
                self.stage, self.error = "record", f"The registration failed, nothing was registered: {exc}"
            return
        if done.get("state") == "anchoring":
            # Signed and holding its receipts; its batch was still open when the commit stopped waiting.
            self.stage = "anchoring"
            yield
            deadline = asyncio.get_running_loop().time() + ANCHOR_WAIT_SECONDS
            while done.get("state") != "committed":
                if asyncio.get_running_loop().time() > deadline:
                    self.error = (
                        "Signed and stored, but its batch is not anchored yet. Its link appears on your profile once "
                        "it is; nothing needs signing again."
                    )
                    return
                await asyncio.sleep(ANCHOR_POLL_SECONDS)
                try:
                    done = await services.upload(settings, self._upload_id)
                except MediaproofError:
                    continue  # asked again on the next round
        self._finish(done)
        await self._check_account()

    def _finish(self, done: dict[str, Any]) -> None:
        services.known_links.learn(str(done["short_id"]), str(done["media_id"]), str(done["sha256"]))
        self.result = result_to_show(done, self.mode)
        self.stage, self._typed_json = "done", ""
