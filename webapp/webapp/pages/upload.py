"""/upload: pick or drop a photo or video, see it, title it, sign its record in the wallet, get its link and proof.

The page sends the file's bytes itself, straight to the upload service (assets/mediaproof.js, XMLHttpRequest, so the
progress bar follows the real transfer; over MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE by tus in chunks, with retries that
resume a dropped connection: assets/resumable_upload.js); the service hashes it, checks its type and size by content
and stores it on the clusters, and its answer comes back here. Nothing is proven until the owner's signature comes
back; a refused signature leaves only stored bytes that no record points to.

Batched (the default) needs nothing but a signature: the service anchors the record with others in its next batch
(within the batch interval, 2 s by default) and answers the link, the batch and the proof bundle. Direct registers it
in its own transaction, paid from the wallet's deposit, so it needs a Mediaproof account first.

Every write (the page's POST /uploads, and this backend's prepare, commit and POST /users) carries the signed-in
wallet's bearer token. The service's refusals each get their sentence: 401, the sign-in ended (sign in again, the
file is still held, send it again); 403, not this wallet's or not from this origin; 429 and 503, wait as its
Retry-After asks (the page counts down and sends the file again by itself); 408, the transfer stalled (send again).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reflex as rx
from reflex.event import EventSpec, parse_args_spec
from reflex_components_core.core.upload import Upload

from mediaproof.errors import MediaproofError, RateLimited
from mediaproof.settings import Settings
from webapp import services
from webapp.components.layout import page_shell
from webapp.media_rows import ether, human_size, kind_of, short_address, time_utc
from webapp.proof_reports import bundle_data_url, where_proven
from webapp.state import AuthState, js_call, upload_service_problem

UPLOAD_ID = "media-upload"
# A commit answers once its batch is anchored; if the batch was still open, GET /uploads/{id} says when it is.
ANCHOR_POLL_SECONDS = 1.0
ANCHOR_WAIT_SECONDS = 120.0
# What the upload service accepts (it checks by content; this only filters the browser's file picker).
ACCEPT = {
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "image/gif": [".gif"],
    "image/webp": [".webp"],
    "image/heic": [".heic"],
    "image/heif": [".heif"],
    "image/avif": [".avif"],
    "video/mp4": [".mp4", ".m4v"],
    "video/quicktime": [".mov"],
    "video/webm": [".webm"],
}


# Seconds to wait on a 429/503 that names no Retry-After (the upload service always names one).
DEFAULT_WAIT_SECONDS = 10
# The service's own "…: try again in N s[, or …]": the page says when it sends again itself.
_TRY_AGAIN = re.compile(r"\s*[:;,.]?\s*try again in \d+ s\b.*$", re.DOTALL)


@dataclass(frozen=True)
class Refusal:
    """What the page does when the upload service did not take a file: `kind` is "signed_out" (sign in again, then
    send it again), "wait" (send it again by itself after `wait` seconds), "stalled" or "failed" or "unreachable"
    (the file stays held: send it again), or "refused" (choose another file)."""

    kind: str
    sentence: str
    wait: int = 0


def upload_refusal(name: str, status: int, detail: str, retry_after: object = None) -> Refusal:
    """The words and the next step for the upload service's answer `status` (0: it could not be reached) to the
    page's POST /uploads of the file `name`."""
    detail = detail.strip().rstrip(".") or "no explanation"
    if status == 0:
        return Refusal("unreachable", f"{name} was not uploaded: {detail}. Send it again once the service is back.")
    if status == 401:
        return Refusal(
            "signed_out",
            f"{name} was not uploaded: your sign-in has ended (signed out or expired). Sign in again (top right), "
            "then send it again: the file is still here.",
        )
    if status in (429, 503):
        reason = _TRY_AGAIN.sub("", detail) or "it takes no more uploads from you right now"
        opening = "The upload service asks you to wait" if status == 429 else "The upload service is busy"
        wait = services.retry_after(retry_after) or DEFAULT_WAIT_SECONDS
        return Refusal("wait", f"{opening}: {reason}.", wait)
    if status == 408:
        return Refusal(
            "stalled",
            f"The upload of {name} stalled, so the upload service stopped waiting for it ({detail}). Send it again.",
        )
    if status == 403:
        return Refusal("refused", f"The upload service refused {name}: {detail}.")
    if status >= 500:
        return Refusal("failed", f"The upload service could not store {name} ({status}: {detail}). Send it again.")
    return Refusal("refused", f"The upload service did not accept {name}: {detail}.")


def _rejection_message(rejected: list[dict[str, Any]], limit: int) -> str:
    """Words for react-dropzone's rejection codes (the browser-side checks)."""
    reasons = []
    for item in rejected if isinstance(rejected, list) else []:
        item = item if isinstance(item, dict) else {}
        # The browser's File object reaches the backend as whatever JSON made of it: a dict with `path`, or less.
        file = item.get("file")
        name = str((file.get("path") or file.get("name") or "") if isinstance(file, dict) else "") or "the file"
        name = name.removeprefix("./")
        errors = item.get("errors")
        codes = {str(e.get("code")) for e in (errors if isinstance(errors, list) else []) if isinstance(e, dict)}
        if "file-too-large" in codes:
            reasons.append(f"{name} is too large: the limit is {human_size(limit)}.")
        elif "file-invalid-type" in codes:
            reasons.append(
                f"{name} is not a photo or video this service accepts (JPEG, PNG, GIF, WebP, HEIC, MP4, MOV, WebM)."
            )
        elif "too-many-files" in codes:
            reasons.append("Drop one file at a time.")
        else:
            reasons.append(f"{name} was not accepted.")
    return " ".join(dict.fromkeys(reasons)) or "That file was not accepted."


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
        self.max_bytes = Settings().max_upload_bytes
        yield  # the drop zone knows the limit at once, not after the wallet's account is looked up
        await self._check_account()

    async def _check_account(self) -> None:
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.account = ""
            return
        self.account = "checking"
        try:
            wallet = await services.wallet(Settings(), auth.address)
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
            onboarding = await services.onboarding(Settings(), auth._token())
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
        self.error = _rejection_message(files, self.max_bytes or Settings().max_upload_bytes)

    @rx.event
    def sending_progress(self, percent: int):
        # Reports travel over the websocket, the bytes over their own HTTP request: a late report must not move a
        # page that has already gone on to the review.
        if self.stage == "sending":
            self.progress = max(0, min(100, int(percent or 0)))

    @rx.event
    async def picked(self, file: dict[str, Any]):
        """The drop zone accepted a file and the page holds it; the page sends it on to the upload service."""
        settings = Settings()
        self.error, self.result, self.record = "", {}, {}
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
        settings = Settings()
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
            stored = await services.upload(Settings(), str(answer.get("upload_id") or ""))
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
        if not self.title:
            self.title = Path(self.file_name).stem.replace("_", " ").replace("-", " ")[:200]
        self.stage = "review"

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
            prepared = await services.prepare(Settings(), auth._token(), self._upload_id, self.title.strip(), self.mode)
        except MediaproofError as exc:
            then = "press Continue again: the file is still stored"
            self.stage, self.error = "review", await self._explain(exc, "prepare the record", then)
            return
        typed = prepared["typed_data"]
        message = typed["message"]
        # As the service gave it: its integers are decimal strings, so the wallet's JSON.parse rounds nothing.
        self._typed_json = json.dumps(typed)
        mode = str(prepared.get("mode") or self.mode)
        fee = int(prepared.get("max_fee_wei") or 0)
        self.record = {
            "title": str(message["title"]),
            "media_type": str(message["mediaType"]),
            "size": human_size(int(message["size"])),
            "sha256": str(message["sha256"]),
            "cid": str(message["cid"]),
            "variants": ", ".join(v["name"] for v in message["variants"]) or "none yet (only the original)",
            "mode": mode,
            "how": (
                "Batched: anchored with other files in the next batch, within seconds. Costs you nothing."
                if mode == "batched"
                else f"Direct: its own transaction, sent for you; a fee of at most {ether(fee)} from your deposit."
            ),
            "chain": str(typed["domain"]["chainId"]),
            "expires": time_utc(int(message["deadline"])),
            "owner": str(prepared["owner"]),
            "owner_short": short_address(str(prepared["owner"])),
        }
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
        settings = Settings()
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
        mode = str(done.get("mode") or self.mode)
        batch, block = int(done.get("batch") or 0), int(done.get("block") or 0)
        bundle = done.get("proof") if isinstance(done.get("proof"), dict) else {}
        self.result = {
            "short_id": str(done["short_id"]),
            "link": str(done["link"]),
            "tx": str(done["tx"]),
            "block": str(block),
            "batch": str(batch),
            "mode": mode,
            "proven": f"Proven {where_proven(mode, batch, block)}.",
            "media_id": str(done["media_id"]),
            "proof_url": bundle_data_url(bundle) if bundle else "",
            "proof_name": f"{done['short_id']}.proof.json",
        }
        self.stage, self._typed_json = "done", ""


# --- the page ---


def _mode_item(value: str, label: str, explanation: str) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.radio_group.item(value=value, id=f"upload-mode-{value}"),
            rx.vstack(
                rx.text(label, weight="medium", size="2"),
                rx.text(explanation, size="1", color=rx.color("gray", 11)),
                spacing="0",
            ),
            align="start",
            spacing="2",
        ),
        style={"cursor": "pointer"},
    )


def _mode_choice() -> rx.Component:
    """How the file is proven; fixed once its record is prepared (the record says it)."""
    return rx.vstack(
        rx.text("How to prove it", weight="medium", size="2"),
        rx.radio_group.root(
            rx.flex(
                _mode_item(
                    "batched",
                    "Batched (recommended)",
                    "Anchored with other files in the next batch, within seconds. Free: only your signature.",
                ),
                _mode_item(
                    "direct",
                    "Direct",
                    "Its own transaction, paid from your Mediaproof deposit; MediaApp.proofOf knows it at once.",
                ),
                direction=rx.breakpoints(initial="column", sm="row"),
                gap="4",
            ),
            value=UploadState.mode,
            on_change=UploadState.set_mode,
            disabled=~rx.Var.create(["pick", "sending", "review"]).contains(UploadState.stage),
            id="upload-mode",
        ),
        spacing="2",
        width="100%",
    )


def _account_step() -> rx.Component:
    return rx.match(
        UploadState.account,
        ("checking", rx.callout("Checking your wallet's Mediaproof account…", icon="loader")),
        (
            "none",
            rx.card(
                rx.vstack(
                    rx.heading("First, create your Mediaproof account", size="4", as_="h2"),
                    rx.text(
                        "A direct proof is paid from a deposit. One transaction creates your account contract and "
                        "deposits a little ETH that pays for registering your media; you can withdraw what is left. "
                        "(A batched proof needs none of this.)",
                    ),
                    rx.button(
                        "Create account with deposit", on_click=UploadState.register_account, id="register-account"
                    ),
                    rx.cond(
                        UploadState.account_detail != "",
                        rx.text(UploadState.account_detail, size="2", id="account-detail"),
                    ),
                    spacing="3",
                    align="start",
                ),
                width="100%",
                id="account-step",
            ),
        ),
        (
            "registering",
            rx.callout(UploadState.account_detail, icon="loader", id="account-registering"),
        ),
        (
            "ready",
            rx.text(
                "Account ready · deposit ",
                UploadState.deposit,
                size="2",
                color=rx.color("gray", 11),
                id="account-ready",
            ),
        ),
        rx.cond(UploadState.account_detail != "", rx.callout(UploadState.account_detail, color_scheme="red")),
    )


def _rejections_as_plain_data(rejected: rx.Var) -> EventSpec:
    """Only names and reason codes go to the backend: the rejected File itself would travel over the websocket as a
    binary attachment (megabytes, for a file refused as too large)."""
    plain = (
        rejected.to(list)
        .to(rx.vars.ArrayVar)
        .map(
            lambda item: rx.Var.create(
                {
                    "file": {"path": item.to(dict).to(rx.vars.ObjectVar)["file"].to(rx.vars.ObjectVar)["path"]},
                    "errors": item.to(dict).to(rx.vars.ObjectVar)["errors"].to(rx.vars.ArrayVar)
                    .map(lambda error: rx.Var.create({"code": error.to(dict).to(rx.vars.ObjectVar)["code"]})),
                }
            )
        )
    )  # fmt: skip
    return UploadState.rejected(plain)  # type: ignore[operator]


def _hold_in_page() -> EventSpec:
    """The accepted file stays in the page (mediaproof.js holds it for its XMLHttpRequest); only its name, size and
    type reach the backend."""
    # Reflex 0.10.1 nests the events of a lambda given to rx.upload's on_drop one list too deep, so the handler is
    # called here on the Var that names the dropped files in the compiled drop handler.
    drop_spec = Upload.get_event_triggers()["on_drop"]
    files = parse_args_spec(drop_spec[0] if isinstance(drop_spec, tuple) else drop_spec)[0][0]
    held: rx.Var = rx.Var(
        _js_expr=f"window.mediaproof.holdFile({files!s})", _var_type=dict, _var_data=files._get_all_var_data()
    )
    return UploadState.picked(held)  # type: ignore[operator]


def _progress_report() -> rx.Component:
    """Clicked by mediaproof.js on each progress report of the transfer it runs: reads the percentage from there."""
    return rx.el.button(
        on_click=UploadState.sending_progress(  # type: ignore[operator]
            rx.Var(_js_expr="window.mediaproof.uploadProgress()", _var_type=int)
        ),
        id="upload-progress-report",
        type="button",
        hidden=True,
        aria_hidden="true",
        tab_index=-1,
    )


def _drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("image-up", size=36, color=rx.color("accent", 9)),
            rx.text("Drop a photo or video here, or tap to choose one", weight="medium"),
            rx.text(
                "JPEG, PNG, GIF, WebP, HEIC, MP4, MOV or WebM · up to ",
                UploadState.max_size_text,
                size="2",
                color=rx.color("gray", 11),
            ),
            align="center",
            spacing="2",
        ),
        id=UPLOAD_ID,
        accept=ACCEPT,
        max_files=1,
        multiple=False,
        # 0 until the page has loaded: no browser-side limit then (picked() and the service still check the size).
        max_size=rx.cond(UploadState.max_bytes > 0, UploadState.max_bytes, None),
        on_drop=_hold_in_page(),
        on_drop_rejected=_rejections_as_plain_data,
        border=f"2px dashed {rx.color('accent', 7)}",
        border_radius="12px",
        padding="2.5em 1em",
        width="100%",
        cursor="pointer",
        drag_active_style={"background": rx.color("accent", 3)},
    )


def _preview() -> rx.Component:
    return rx.cond(
        UploadState.kind == "video",
        rx.el.video(
            src=UploadState.preview_url,
            controls=True,
            muted=True,
            plays_inline=True,
            preload="metadata",
            style={"width": "100%"},  # the width attribute takes pixels only
            max_height="50vh",
            border_radius="8px",
            id="upload-preview",
        ),
        rx.image(
            src=UploadState.preview_url,
            alt=UploadState.title,
            max_height="50vh",
            max_width="100%",
            border_radius="8px",
            id="upload-preview",
        ),
    )


def _review() -> rx.Component:
    return rx.card(
        rx.vstack(
            _preview(),
            rx.text(
                UploadState.file_name,
                " · ",
                UploadState.media_type,
                " · ",
                UploadState.size_text,
                " ",
                UploadState.dimensions,
                size="2",
                color=rx.color("gray", 11),
                id="upload-facts",
            ),
            rx.cond(
                UploadState.deduplicated,
                rx.text("These bytes were already stored; nothing was copied again.", size="1"),
            ),
            rx.text("Title", weight="medium"),
            rx.input(
                value=UploadState.title,
                on_change=UploadState.set_title,
                id="upload-title",
                width="100%",
                max_length=200,
                placeholder="What is it?",
            ),
            rx.hstack(
                rx.button(
                    "Continue: show the record to sign",
                    on_click=UploadState.prepare,
                    loading=UploadState.stage == "preparing",
                    id="upload-prepare",
                ),
                rx.button("Start over", on_click=UploadState.start_over, variant="soft", color_scheme="gray"),
                flex_wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _record_row(label: str, key: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label),
        rx.data_list.value(rx.text(UploadState.record[key], word_break="break-all", id=f"record-{key}")),
    )


def _record() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("The record you are about to sign", size="4", as_="h2"),
            rx.text(
                "You, ",
                rx.code(UploadState.record["owner_short"]),
                ", declare that you register the file with this title and these exact bytes. Signing costs nothing.",
                size="2",
            ),
            rx.data_list.root(
                _record_row("Title", "title"),
                _record_row("Type", "media_type"),
                _record_row("Size", "size"),
                _record_row("SHA-256", "sha256"),
                _record_row("CID", "cid"),
                _record_row("Variants", "variants"),
                _record_row("Proof", "how"),
                _record_row("Chain", "chain"),
                _record_row("Signature valid until", "expires"),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                width="100%",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("pen-line", size=16),
                    "Sign in wallet and register",
                    on_click=UploadState.sign,
                    loading=rx.Var.create(["signing", "registering", "anchoring"]).contains(UploadState.stage),
                    id="upload-sign",
                ),
                rx.button("Start over", on_click=UploadState.start_over, variant="soft", color_scheme="gray"),
                flex_wrap="wrap",
            ),
            rx.match(
                UploadState.stage,
                (
                    "registering",
                    rx.hstack(
                        rx.spinner(size="1"),
                        rx.text(
                            rx.cond(
                                UploadState.mode == "batched",
                                "Collecting the storage clusters' receipts, then waiting for the next batch to be "
                                "anchored on chain (a few seconds)…",
                                "Collecting the storage clusters' receipts and registering on chain…",
                            ),
                            size="2",
                        ),
                        align="center",
                        id="upload-registering",
                    ),
                ),
                (
                    "anchoring",
                    rx.hstack(
                        rx.spinner(size="1"),
                        rx.text("Signed and stored; waiting for its batch to be anchored on chain…", size="2"),
                        align="center",
                        id="upload-anchoring",
                    ),
                ),
                rx.fragment(),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="upload-record",
    )


def _result() -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(UploadState.result["proven"], weight="bold", id="upload-proven"),
            rx.text("Link: ", rx.link(UploadState.result["link"], href=UploadState.result["link"], id="upload-link")),
            rx.text("Transaction ", rx.code(UploadState.result["tx"], word_break="break-all", id="upload-tx")),
            rx.text(
                "Block ",
                rx.code(UploadState.result["block"], id="upload-block"),
                rx.cond(
                    UploadState.result["mode"] == "batched",
                    rx.fragment(" · batch ", rx.code(UploadState.result["batch"], id="upload-batch")),
                ),
            ),
            rx.hstack(
                rx.cond(
                    UploadState.result["proof_url"] != "",
                    rx.link(
                        rx.button(rx.icon("file-json", size=16), "Download proof", size="2"),
                        href=UploadState.result["proof_url"],
                        custom_attrs={"download": UploadState.result["proof_name"]},
                        id="upload-proof",
                    ),
                ),
                rx.button("Upload another", on_click=UploadState.start_over, variant="soft", size="2"),
                flex_wrap="wrap",
                spacing="2",
            ),
            rx.text(
                "The proof bundle is everything anyone needs, besides the file and an Ethereum RPC endpoint, to check "
                "this proof: keep it with the file.",
                size="1",
            ),
            spacing="2",
            align="start",
        ),
        icon="badge-check",
        color_scheme="green",
        id="upload-result",
        width="100%",
    )


def _sending() -> rx.Component:
    return rx.vstack(
        rx.text("Uploading ", UploadState.file_name, "… ", UploadState.progress, "%", id="upload-progress-text"),
        rx.progress(
            value=UploadState.progress, max=100, width="100%", id="upload-progress", data_progress=UploadState.progress
        ),
        rx.cond(
            UploadState.progress < 100,
            rx.text("Then it is checked, hashed and stored on the storage clusters.", size="1"),
            rx.hstack(
                rx.spinner(size="1"),
                rx.text("All bytes sent. The upload service is checking, hashing and storing it…", size="1"),
                align="center",
                id="upload-storing",
            ),
        ),
        width="100%",
    )


def _held() -> rx.Component:
    """A file the page still holds after the service did not take it (the reason is in the error above it)."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("file-up", size=18, color=rx.color("accent", 9)),
                rx.text(UploadState.file_name, weight="medium"),
                rx.text("is still in this page, not uploaded yet.", size="2", color=rx.color("gray", 11)),
                align="center",
                spacing="2",
                flex_wrap="wrap",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("upload", size=16),
                    "Send ",
                    UploadState.file_name,
                    on_click=UploadState.resend,
                    disabled=~AuthState.signed_in,
                    id="upload-resend",
                ),
                rx.button("Choose another file", on_click=UploadState.start_over, variant="soft", color_scheme="gray"),
                flex_wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="upload-held",
    )


def _waiting() -> rx.Component:
    """The wait the upload service asked for (429/503 with Retry-After), counted down; then the page sends again."""
    return rx.callout(
        rx.vstack(
            rx.text(UploadState.wait_reason, id="upload-wait-reason"),
            rx.hstack(
                rx.spinner(size="1"),
                rx.text(
                    UploadState.file_name,
                    " is sent again by itself in ",
                    UploadState.wait_left,
                    " s.",
                    id="upload-wait-left",
                ),
                align="center",
                spacing="2",
            ),
            rx.button("Cancel", on_click=UploadState.start_over, variant="soft", color_scheme="gray", size="1"),
            spacing="2",
            align="start",
        ),
        icon="clock",
        color_scheme="amber",
        id="upload-wait",
        data_wait=UploadState.wait_seconds,
        width="100%",
    )


def upload_page() -> rx.Component:
    return page_shell(
        "Upload",
        _progress_report(),
        rx.cond(
            AuthState.signed_in,
            rx.vstack(
                _mode_choice(),
                rx.cond(UploadState.mode == "direct", _account_step()),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                UploadState.stage != "held",  # a held file's error already says to sign in
                rx.callout(
                    "Sign in with your wallet (top right) to upload and register media.",
                    icon="wallet",
                    id="upload-signed-out",
                ),
            ),
        ),
        rx.cond(
            UploadState.error != "",
            rx.callout(UploadState.error, icon="triangle-alert", color_scheme="red", id="upload-error", width="100%"),
        ),
        rx.match(
            UploadState.stage,
            ("pick", _drop_zone()),
            ("sending", _sending()),
            ("held", _held()),
            ("waiting", _waiting()),
            ("review", _review()),
            ("preparing", _review()),
            ("done", _result()),
            _record(),
        ),
    )
