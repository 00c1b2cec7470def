"""/m/<short id or media id>: the photo at a chosen size (or the video), the original to download, and the proof.

The proof panel shows what the indexer saw (sha256, CID, owner, time, block, each cluster's receipt); the verify
button asks MediaApp.proofOf through the browser's own connection and says whether the chain agrees.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError, MediaproofError, NotRegistered
from mediaproof.settings import Settings
from webapp import services
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout
from webapp.deployment import load_chain_config
from webapp.media_rows import human_size, kind_of, short_address, time_utc
from webapp.state import js_call

# A link shared right after its upload may be opened before the indexer has followed that block.
INDEX_WAIT_SECONDS = 15.0
INDEX_POLL_SECONDS = 0.5


class MediaState(rx.State):
    key: str = ""
    # "loading" | "indexing" | "found" | "missing" | "error"
    status: str = "loading"
    error: str = ""
    short_id: str = ""
    media_id: str = ""
    title: str = ""
    owner: str = ""
    owner_short: str = ""
    user_contract: str = ""
    time: str = ""
    block: int = 0
    tx: str = ""
    sha256: str = ""
    cid: str = ""
    media_type: str = ""
    kind: str = ""
    size_text: str = ""
    variant_names: list[str] = rx.field(default_factory=list)
    receipts: list[dict[str, str]] = rx.field(default_factory=list)
    size: str = "medium"
    download_base: str = ""
    # "" | "checking" | "verified" | "mismatch" | "unregistered" | "error"
    verify_status: str = ""
    verify_detail: str = ""

    @rx.var
    def image_url(self) -> str:
        if not self.short_id:
            return ""
        return f"{self.download_base}/m/{self.short_id}?size={self.size}"

    @rx.var
    def original_url(self) -> str:
        return f"{self.download_base}/m/{self.short_id}?size=original" if self.short_id else ""

    @rx.var
    def poster_url(self) -> str:
        """A video's poster frame from the download service, once the upload service has made one."""
        if not self.short_id or "poster" not in self.variant_names:
            return ""
        return f"{self.download_base}/m/{self.short_id}?size=poster"

    @rx.event
    def choose_size(self, size: str | list[str]):
        chosen = size if isinstance(size, str) else size[0]
        if chosen in services.SIZES:
            self.size = chosen

    @rx.event(background=True)
    async def load(self):
        async with self:
            key = str(self.router.page.params.get("media_key") or "")
            self.key, self.status, self.error, self.verify_status, self.verify_detail = key, "loading", "", "", ""
            self.short_id, self.size = "", "medium"
        settings = Settings()
        try:
            detail, short_id = await self._find(settings, key)
        except NotRegistered as exc:
            async with self:
                self.status, self.error = "missing", str(exc)
            return
        except MediaproofError as exc:
            async with self:
                self.status, self.error = "error", f"This media could not be loaded: {exc}"
            return
        try:
            cluster_status = {str(c["cluster_id"]): str(c["status"]).lower() for c in await services.clusters(settings)}
        except MediaproofError:
            cluster_status = {}
        async with self:
            self._show(detail, short_id, cluster_status, services.download_base(settings))

    async def _find(self, settings: Settings, key: str) -> tuple[dict[str, Any], str]:
        """The indexer's record and the short id, waiting a little for an indexer that is a block behind."""
        if services.is_media_key(key):
            lookup, short_id = key.lower(), ""
        elif services.is_short_id(key):
            lookup, short_id = await services.sha256_of_short_id(settings, key), key
        else:
            raise NotRegistered(f"{key!r} is not a Mediaproof link: links look like /m/<short id>")
        deadline = asyncio.get_running_loop().time() + INDEX_WAIT_SECONDS
        while True:
            try:
                detail = await services.media(settings, lookup)
                break
            except NotRegistered:
                if asyncio.get_running_loop().time() > deadline:
                    raise NotRegistered(
                        f"no registration of /m/{key} is indexed yet; if it was just uploaded, reload in a moment"
                    ) from None
                async with self:
                    self.status = "indexing"
                await asyncio.sleep(INDEX_POLL_SECONDS)
        if not short_id:
            short_id = services.known_links.short_id(detail)
        return detail, short_id

    def _show(self, detail: dict[str, Any], short_id: str, cluster_status: dict[str, str], base: str) -> None:
        self.short_id, self.download_base = short_id, base
        self.media_id = str(detail.get("id") or "")
        self.title = str(detail.get("title") or "(untitled)")
        self.owner = str(detail.get("owner") or "")
        self.owner_short = short_address(self.owner)
        self.user_contract = str(detail.get("user_contract") or "")
        self.time = time_utc(detail.get("time"))
        self.block = int(detail.get("block") or 0)
        self.tx = str(detail.get("tx_hash") or "")
        self.sha256 = str(detail.get("sha256") or "").lower().removeprefix("0x")
        self.cid = str(detail.get("cid") or "")
        self.media_type = str(detail.get("media_type") or "")
        self.kind = kind_of(self.media_type)
        self.size_text = human_size(detail.get("size"))
        self.variant_names = [str(v["name"]) for v in detail.get("variants") or []]
        self.receipts = [
            {
                "cluster": str(r["cluster_id"]),
                "signer": str(r["signer"]),
                "pinned": time_utc(r.get("pinned_at")),
                "status": cluster_status.get(str(r["cluster_id"]), "unknown"),
                "color": {"active": "green", "draining": "amber", "down": "red"}.get(
                    cluster_status.get(str(r["cluster_id"]), ""), "gray"
                ),
            }
            for r in detail.get("receipts") or []
        ]
        self.status = "found"

    @rx.event
    def verify(self):
        try:
            config = load_chain_config()
            calldata = config.proof_of_calldata(self.sha256)
        except (DeploymentError, InputError) as exc:
            self.verify_status, self.verify_detail = "error", str(exc)
            return
        self.verify_status, self.verify_detail = "checking", ""
        return rx.call_script(
            js_call("ethCall", config.media_app, calldata, config.chain_id_hex, config.rpc_url, self.sha256),
            callback=MediaState.verify_answered,
        )

    @rx.event
    def verify_answered(self, answer: dict[str, Any]):
        if answer.get("tag") != self.sha256:
            return
        if answer.get("error"):
            self.verify_status = "error"
            self.verify_detail = f"The chain could not be asked: {answer.get('message')}"
            return
        try:
            proof = load_chain_config().decode_proof(str(answer.get("result", "")))
        except DeploymentError as exc:
            self.verify_status, self.verify_detail = "error", str(exc)
            return
        via = "your wallet's connection" if answer.get("via") == "wallet" else "the chain's RPC URL"
        if not proof.registered:
            self.verify_status = "unregistered"
            self.verify_detail = f"MediaApp on chain knows no registration of these bytes (asked through {via})."
        elif proof.owner.lower() == self.owner.lower() and proof.block_number == self.block:
            self.verify_status = "verified"
            self.verify_detail = (
                f"MediaApp on chain confirms: these bytes were first registered by {proof.owner} "
                f"in block {proof.block_number} at {proof.time_utc} (asked through {via})."
            )
        else:
            self.verify_status = "mismatch"
            self.verify_detail = (
                f"The chain says these bytes were first registered by {proof.owner} in block "
                f"{proof.block_number}; this page shows a later registration of the same bytes."
            )


def _viewer() -> rx.Component:
    return rx.cond(
        MediaState.short_id == "",
        empty_state(
            "image-off",
            "No link to the bytes",
            "This record is on chain, but this app does not know its short link, so it cannot show the file.",
            id="media-no-link",
        ),
        rx.vstack(
            rx.cond(
                MediaState.kind == "video",
                # A plain <video>: the browser streams the original with range requests and shows the poster
                # frame until it plays.
                rx.el.video(
                    src=MediaState.original_url,
                    poster=MediaState.poster_url,
                    controls=True,
                    preload="metadata",
                    plays_inline=True,
                    style={"width": "100%"},  # the width attribute takes pixels only
                    max_height="75vh",
                    border_radius="8px",
                    background="black",
                    aria_label=MediaState.title,
                    id="media-video",
                ),
                rx.vstack(
                    rx.segmented_control.root(
                        rx.segmented_control.item("Small", value="small"),
                        rx.segmented_control.item("Medium", value="medium"),
                        rx.segmented_control.item("Large", value="large"),
                        rx.segmented_control.item("Original", value="original"),
                        value=MediaState.size,
                        on_change=MediaState.choose_size,
                        id="media-size",
                    ),
                    rx.image(
                        src=MediaState.image_url,
                        alt=MediaState.title,
                        max_width="100%",
                        max_height="75vh",
                        border_radius="8px",
                        id="media-image",
                    ),
                    width="100%",
                    align="center",
                ),
            ),
            rx.link(
                rx.button(rx.icon("download", size=16), "Download original", variant="soft"),
                href=MediaState.original_url,
                is_external=True,
                id="media-download",
            ),
            width="100%",
            align="center",
        ),
    )


def _fact(label: str, value: rx.Var | str, field_id: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label),
        rx.data_list.value(rx.code(value, id=field_id, word_break="break-all")),
    )


def _receipt(receipt: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.badge("cluster ", receipt["cluster"]),
        rx.badge(receipt["status"], color_scheme=receipt["color"], class_name="receipt-status"),
        rx.text(
            "signed by ", rx.code(receipt["signer"], word_break="break-all"), " · pinned ", receipt["pinned"], size="1"
        ),
        flex_wrap="wrap",
        align="center",
        spacing="2",
        class_name="media-receipt",
    )


def _verify_result() -> rx.Component:
    return rx.match(
        MediaState.verify_status,
        ("checking", rx.callout("Asking the chain…", icon="loader", id="media-verify-result", data_status="checking")),
        (
            "verified",
            rx.callout(
                MediaState.verify_detail,
                icon="badge-check",
                color_scheme="green",
                id="media-verify-result",
                data_status="verified",
            ),
        ),
        (
            "mismatch",
            rx.callout(
                MediaState.verify_detail,
                icon="circle-alert",
                color_scheme="amber",
                id="media-verify-result",
                data_status="mismatch",
            ),
        ),
        (
            "unregistered",
            rx.callout(
                MediaState.verify_detail,
                icon="circle-x",
                color_scheme="red",
                id="media-verify-result",
                data_status="unregistered",
            ),
        ),
        (
            "error",
            rx.callout(
                MediaState.verify_detail,
                icon="triangle-alert",
                color_scheme="red",
                id="media-verify-result",
                data_status="error",
            ),
        ),
        rx.fragment(),
    )


def _proof_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Proof", size="4"),
                rx.spacer(),
                rx.button(
                    rx.icon("shield-check", size=16),
                    "Verify on chain",
                    on_click=MediaState.verify,
                    loading=MediaState.verify_status == "checking",
                    id="media-verify",
                ),
                width="100%",
                align="center",
            ),
            _verify_result(),
            rx.data_list.root(
                _fact("SHA-256", MediaState.sha256, "media-sha256"),
                _fact("CID", MediaState.cid, "media-cid"),
                _fact("Owner", MediaState.owner, "media-owner"),
                _fact("Time", MediaState.time, "media-time"),
                _fact("Block", MediaState.block, "media-block"),
                _fact("Transaction", MediaState.tx, "media-tx"),
                _fact("Media id", MediaState.media_id, "media-id"),
                _fact("Type", MediaState.media_type + " · " + MediaState.size_text, "media-type"),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                width="100%",
            ),
            rx.text("Storage receipts", weight="medium"),
            rx.cond(
                MediaState.receipts.length() > 0,
                rx.vstack(rx.foreach(MediaState.receipts, _receipt), spacing="2", id="media-receipts"),
                rx.text("No receipts recorded.", size="2", color=rx.color("gray", 10)),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="media-proof",
    )


def media_page() -> rx.Component:
    return page_shell(
        "Media",
        rx.match(
            MediaState.status,
            ("loading", rx.skeleton(rx.box(height="20em", width="100%"), loading=True, id="media-loading")),
            (
                "indexing",
                rx.callout("Waiting for the indexer to see this registration…", icon="loader", id="media-indexing"),
            ),
            ("missing", empty_state("file-question", "No such media", MediaState.error, id="media-missing")),
            ("error", error_callout(MediaState.error, MediaState.load, id="media-error")),
            rx.vstack(
                rx.heading(MediaState.title, size="6", id="media-title"),
                rx.text(
                    "by ",
                    rx.link(MediaState.owner_short, href="/u/" + MediaState.owner, id="media-owner-link"),
                    " · ",
                    MediaState.time,
                    color=rx.color("gray", 11),
                ),
                _viewer(),
                _proof_panel(),
                width="100%",
                spacing="4",
            ),
        ),
    )
