"""/m/<short id or media id>: the photo at a chosen size (or the video), the original to download, and its proof.

The page shows that link's own record, asked of the indexer by the short id itself (never by the bytes' sha256,
which names the first proof of those bytes), and says plainly when the record is a later registration of bytes
someone proved first. The proof panel shows how it is proven (batched or direct, batch, transaction, block and time),
each storage receipt with its cluster and signer, whether MediaApp.proofOf names it, and the bundle to download; its
button checks that bundle against the chain in the browser (assets/proofcheck.js), as /verify does.
"""

from __future__ import annotations

import asyncio
import time as clock
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, MediaproofError, NotRegistered
from mediaproof.safe_text import printable
from mediaproof.settings import Settings
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.bar_chart import column_chart, row_chart
from webapp.components.copyable import Kind, copyable
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout, time_ago
from webapp.components.non_urgent import BELOW_THE_FOLD, non_urgent
from webapp.components.proof_check import ProofCheck, check_call
from webapp.components.proof_report import proof_report_card, todays_signer_note
from webapp.deployment import load_chain_config, proof_check_config
from webapp.media_rows import human_size, kind_of, relative_time, short_address
from webapp.pages.media_social import COMMENTS_PAGE, MediaSocialState
from webapp.pages.media_social_view import social_panel
from webapp.proof_reports import ProofReport, bundle_data_url, reports_from, utc_seconds
from webapp.state import AuthState
from webapp.verify_links import embed
from webapp.views_chart import day_bars, day_span, size_bars

# A link shared right after its upload may be opened before the indexer has followed that block.
INDEX_WAIT_SECONDS = 15.0
INDEX_POLL_SECONDS = 0.5
STATUS_COLORS = {"active": "green", "draining": "amber", "down": "red"}


class MediaState(rx.State):
    # "loading" | "indexing" | "found" | "missing" | "error"
    status: str = "loading"
    error: str = ""
    short_id: str = ""
    media_id: str = ""
    title: str = ""
    owner: str = ""
    owner_short: str = ""
    time: str = ""
    time_ago: str = ""
    block: int = 0
    tx: str = ""
    sha256: str = ""
    cid: str = ""
    media_type: str = ""
    kind: str = ""  # image · video · file: how the page shows the bytes
    size_text: str = ""
    variant_names: rx.Field[list[str]] = rx.field(default_factory=list)
    # The embed badge: the verify page of these bytes, the badge's image (the indexer draws it), the snippet.
    verify_url: str = ""
    badge_url: str = ""
    embed_snippet: str = ""
    # the proof
    proof_kind: str = ""  # batched · direct
    batch: int = 0
    proven_where: str = ""  # "in batch 123 (block 123)" · "directly in block 123"
    revealed: str = ""  # what MediaApp.proofOf says of this record, in words
    manifest_cid: str = ""
    is_first: bool = True
    first_owner: str = ""
    first_block: int = 0
    first_link: str = ""
    receipts: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    bundle_url: str = ""  # data: URL of the proof bundle (mediaproof-proof-v1)
    bundle_name: str = ""
    bundle_error: str = ""
    size: str = "medium"
    download_base: str = ""
    # "" | "checking" | "proven" | "failed" | "error"
    verify_status: str = ""
    verify_detail: str = ""
    verify_reports: rx.Field[list[ProofReport]] = rx.field(default_factory=list)
    # Views through this record's links, from the indexer's analytics (webapp.views_chart draws them).
    views_total: int = 0
    views_by_day: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    views_by_size: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    views_error: str = ""
    views_span: rx.Field[list[str]] = rx.field(default_factory=lambda: ["", ""])  # the first and last day drawn

    _bundle: dict[str, Any] = {}  # noqa: RUF012
    _tag: str = ""
    _key: str = ""  # the link being opened: a backend var, so setting it sends nothing

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
        """Everything the page shows, likes and comments included, set at once when it has all arrived: one state
        delta and one render after hydration instead of one per reader (a phone's Total Blocking Time)."""
        async with self:
            key = str(self.router.page.params.get("media_key") or "")
            social = await self.get_state(MediaSocialState)
            # Only a page showing something (another media, a failure, a reload) is cleared: clearing the empty
            # first state would send a delta of defaults and re-render for nothing.
            self._key = key
            if self.status != "loading" or self.short_id:
                self.status, self.error = "loading", ""
                self.verify_status, self.verify_detail, self.verify_reports = "", "", []
                self.short_id, self.size, self.bundle_url, self.bundle_error, self._bundle = "", "medium", "", "", {}
            social.clear(key)
            auth = await self.get_state(AuthState)
            viewer = auth.address if auth.signed_in else ""
        settings = app_settings()
        try:
            detail = await self._find(settings, key, viewer)
        except NotRegistered as exc:
            async with self:
                self.status, self.error = "missing", str(exc)
            return
        except MediaproofError as exc:
            async with self:
                self.status, self.error = "error", f"This media could not be loaded: {exc}"
            return
        media_id = str(detail["id"])
        # Asked together, not one after another: the page draws once all are in, and a phone waits for it.
        clusters_got, views_got, bundle_got, comments_got = await asyncio.gather(
            services.clusters(settings),
            services.analytics(settings, media_id),
            services.media_proof(settings, media_id),
            services.comments(settings, media_id, COMMENTS_PAGE),
            return_exceptions=True,
        )
        clusters = {}  # without them, receipts show their cluster ids alone
        if isinstance(clusters_got, BaseException):
            _refusal(clusters_got)
        else:
            clusters = {str(c["cluster_id"]): c for c in clusters_got}
        views, views_error = {}, ""
        if isinstance(views_got, BaseException):
            views_error = f"Views could not be read from the indexer: {_refusal(views_got)}"
        else:
            views = views_got
        bundle, bundle_error = {}, ""
        if isinstance(bundle_got, BaseException):
            bundle_error = f"The proof bundle could not be fetched from the indexer: {_refusal(bundle_got)}"
        else:
            bundle = bundle_got
        async with self:
            if self._key != key:
                return  # another media page was opened meanwhile
            self._show(detail, key, clusters, services.download_base(settings))
            embedded = embed(
                settings.webapp_url or self.router.url.origin, settings.resolved_public_indexer_url(), self.sha256
            )
            self.verify_url, self.badge_url = embedded["verify_url"], embedded["badge_url"]
            self.embed_snippet = embedded["snippet"]
            self._bundle, self.bundle_error = bundle, bundle_error
            self.views_total = int(views.get("views") or 0)
            self.views_by_day = day_bars(list(views.get("per_day") or []))
            self.views_by_size = size_bars(list(views.get("per_size") or []))
            self.views_error = views_error
            self.views_span = day_span(self.views_by_day)
            self.bundle_url = bundle_data_url(bundle) if bundle else ""
            self.bundle_name = f"{self.short_id or self.media_id[:12]}.proof.json"
            social = await self.get_state(MediaSocialState)
            if isinstance(comments_got, BaseException):
                social.failed(key, f"Likes and comments could not be read: {_refusal(comments_got)}")
            else:
                social.show(key, media_id, detail, comments_got, viewer)

    async def _find(self, settings: Settings, key: str, viewer: str) -> dict[str, Any]:
        """The indexer's record of this very link (or media id), with whether `viewer` likes it, waiting a little
        for an indexer a block behind."""
        if not (services.is_media_key(key) or services.is_short_id(key)):
            raise NotRegistered(f"{key!r} is not a Mediaproof link: links look like /m/<short id>")
        deadline = asyncio.get_running_loop().time() + INDEX_WAIT_SECONDS
        while True:
            try:
                return await services.media(settings, key.lower() if services.is_media_key(key) else key, viewer)
            except NotRegistered:
                if asyncio.get_running_loop().time() > deadline:
                    raise NotRegistered(
                        f"no registration of /m/{key} is indexed yet; if it was just uploaded, reload in a moment"
                    ) from None
                async with self:
                    self.status = "indexing"
                await asyncio.sleep(INDEX_POLL_SECONDS)

    def _show(self, detail: dict[str, Any], key: str, clusters: dict[str, dict[str, Any]], base: str) -> None:
        self.download_base = base
        self.short_id = str(detail.get("short_id") or "") or (key if services.is_short_id(key) else "")
        self.short_id = self.short_id or services.known_links.short_id(detail)
        self.media_id = str(detail.get("id") or "")
        self.title = printable(str(detail.get("title") or "(untitled)"))  # from the chain: escaped
        self.owner = str(detail.get("owner") or "")
        self.owner_short = short_address(self.owner)
        self.time = utc_seconds(detail.get("time"))
        self.time_ago = relative_time(detail.get("time"), int(clock.time()))
        self.block = int(detail.get("block") or 0)
        self.tx = str(detail.get("tx_hash") or "")
        self.sha256 = str(detail.get("sha256") or "").lower().removeprefix("0x")
        self.cid = str(detail.get("cid") or "")
        self.media_type = str(detail.get("media_type") or "")
        self.kind = kind_of(self.media_type)
        self.size_text = human_size(detail.get("size"))
        self.variant_names = [str(v["name"]) for v in detail.get("variants") or []]
        self.proof_kind = str(detail.get("kind") or "direct")
        self.batch = int(detail.get("batch") or 0)
        if self.proof_kind == "batched":
            self.proven_where = f"in batch {self.batch} (block {self.block})"
            self.revealed = (
                "Yes: MediaApp.proofOf names this record for these bytes."
                if detail.get("revealed")
                else "Not revealed: MediaApp.proofOf does not name it; its proof is the bundle (anyone may reveal it)."
            )
        else:
            self.proven_where = f"directly in block {self.block}"
            self.revealed = "Direct registrations are written to MediaApp.proofOf when they are the first proof."
        self.manifest_cid = str(detail.get("manifest_cid") or "")
        first = detail.get("first_registration") or {}
        self.is_first = bool(detail.get("is_first_proof", True))
        self.first_owner = str(first.get("owner") or "")
        self.first_block = int(first.get("block") or 0)
        first_key = str(first.get("short_id") or first.get("media_id") or "")
        self.first_link = f"/m/{first_key}" if first_key else ""
        self.receipts = [_receipt_row(r, clusters.get(str(r["cluster_id"]))) for r in detail.get("receipts") or []]
        self.status = "found"

    @rx.event
    def verify(self):
        """Checks this record's bundle against the chain in the browser (the same check /verify makes)."""
        if not self._bundle:
            self.verify_status = "error"
            self.verify_detail = self.bundle_error or "There is no proof bundle to check: reload the page."
            return None
        try:
            config = proof_check_config(load_chain_config())
        except DeploymentError as exc:
            self.verify_status, self.verify_detail = "error", str(exc)
            return None
        self.verify_status, self.verify_detail, self.verify_reports = "checking", "", []
        self._tag = f"{self.media_id}:{self.sha256}"
        return rx.call_script(
            check_call(config, [self._bundle], self.sha256, "page", self._tag), callback=MediaState.verify_answered
        )

    @rx.event
    def verify_answered(self, answer: dict[str, Any]):
        if answer.get("tag") != self._tag:
            return
        if answer.get("error"):
            self.verify_status = "error"
            self.verify_detail = f"The chain could not be asked: {answer.get('message')}"
            return
        via = "your wallet's connection" if answer.get("via") == "wallet" else "the chain's RPC URL"
        self.verify_reports = reports_from(answer)
        proven = bool(self.verify_reports) and self.verify_reports[0].proven
        self.verify_status = "proven" if proven else "failed"
        self.verify_detail = (
            f"Proven: every check below passed in this browser, asked through {via}."
            if proven
            else f"This proof failed the checks below (asked through {via})."
        )


def _refusal(error: BaseException) -> MediaproofError:
    """A service's refusal as the page words it; anything else is a bug and raised as it was."""
    if isinstance(error, MediaproofError):
        return error
    raise error


def _receipt_row(receipt: dict[str, Any], cluster: dict[str, Any] | None) -> dict[str, str]:
    """One storage receipt as the indexer has it, beside its cluster as StorageTopology lists it now."""
    status = str((cluster or {}).get("status") or "unknown").lower()
    signer = str(receipt.get("signer") or "")
    cluster_signer = str((cluster or {}).get("signer") or "")
    if not signer:
        key = "its signature recovers to no address"
    elif cluster_signer and signer.lower() == cluster_signer.lower():
        key = "the cluster's signer today"
    elif cluster_signer:
        key = f"not the cluster's signer today ({short_address(cluster_signer)})"
    else:
        key = "cluster unknown to the indexer"
    return {
        "cluster": str(receipt["cluster_id"]),
        "signer": signer or "—",
        "key": key,
        "issued": utc_seconds(receipt.get("issued_at")),
        "status": status,
        "color": STATUS_COLORS.get(status, "gray"),
    }


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
                    # A frame of fixed proportions holds the photo's place before it arrives (the indexer knows
                    # no pixel sizes), so nothing below it jumps when it loads (layout shift).
                    rx.box(
                        rx.image(
                            src=MediaState.image_url,
                            alt=MediaState.title,
                            width="100%",
                            height="100%",
                            object_fit="contain",
                            border_radius="8px",
                            id="media-image",
                        ),
                        width="100%",
                        aspect_ratio="4 / 3",
                        max_height="75vh",
                        id="media-frame",
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


def _fact(label: str, value: rx.Var | str | int, field_id: str, copy: Kind | None = None) -> rx.Component:
    """`copy`: the value is a hash, address or transaction, with a copy button (and an explorer link)."""
    shown = (
        copyable(rx.Var.create(value).to(str), copy, id=field_id)
        if copy
        else rx.code(value, id=field_id, word_break="break-all")
    )
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(shown))


def _embed_panel() -> rx.Component:
    """The badge others can put next to this media, linked to the verify page of its bytes."""
    return rx.cond(
        MediaState.embed_snippet != "",
        rx.vstack(
            rx.text("Embed", weight="medium"),
            rx.link(
                rx.image(src=MediaState.badge_url, alt="Mediaproof proof badge", height="20px", width="auto"),
                href=MediaState.verify_url,
                id="media-badge",
            ),
            rx.text(
                "Put this badge next to the media elsewhere: it links to the verify page of these bytes.",
                size="1",
                color=rx.color("gray", 11),
            ),
            copyable(MediaState.embed_snippet, id="media-embed-snippet"),
            spacing="2",
            width="100%",
        ),
    )


def _text_fact(label: str, value: rx.Var | str, field_id: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label),
        rx.data_list.value(rx.text(value, id=field_id, size="2")),
    )


def _receipt(receipt: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.badge("cluster ", receipt["cluster"]),
        rx.badge(receipt["status"], color_scheme=receipt["color"], class_name="receipt-status"),
        rx.text(
            "signed by ",
            copyable(receipt["signer"], "address", class_name="receipt-signer"),
            " (",
            receipt["key"],
            ") · issued ",
            receipt["issued"],
            size="1",
        ),
        flex_wrap="wrap",
        align="center",
        spacing="2",
        class_name="media-receipt",
    )


def _verify_result() -> rx.Component:
    return rx.fragment(
        rx.match(
            MediaState.verify_status,
            (
                "checking",
                rx.callout(
                    "Checking the proof against the chain in your browser…",
                    icon="loader",
                    id="media-verify-result",
                    data_status="checking",
                ),
            ),
            (
                "proven",
                rx.callout(
                    MediaState.verify_detail,
                    icon="badge-check",
                    color_scheme="green",
                    id="media-verify-result",
                    data_status="proven",
                ),
            ),
            (
                "failed",
                rx.callout(
                    MediaState.verify_detail,
                    icon="circle-x",
                    color_scheme="red",
                    id="media-verify-result",
                    data_status="failed",
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
        ),
        rx.foreach(MediaState.verify_reports, proof_report_card),
        rx.cond(MediaState.verify_reports.length() > 0, todays_signer_note()),
    )


def _later_registration() -> rx.Component:
    """Said plainly, above everything else: someone else proved these bytes first."""
    return rx.cond(
        ~MediaState.is_first,
        rx.callout(
            rx.text(
                "A later registration. First proven by ",
                rx.link(MediaState.first_owner, href="/u/" + MediaState.first_owner, word_break="break-all"),
                " in block ",
                MediaState.first_block,
                ".",
                rx.cond(
                    MediaState.first_link != "",
                    rx.fragment(" ", rx.link("See the first registration.", href=MediaState.first_link)),
                ),
            ),
            icon="history",
            color_scheme="amber",
            id="media-first-proof",
            width="100%",
        ),
    )


def _proof_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Proof", size="4", as_="h2"),
                rx.badge(MediaState.proof_kind, id="media-proof-kind", size="2"),
                align="center",
            ),
            rx.text(
                "Proven ",
                rx.el.span(MediaState.proven_where, id="media-proven-where"),
                " at ",
                MediaState.time,
                ".",
                weight="medium",
            ),
            rx.data_list.root(
                _text_fact(
                    "Kind",
                    rx.cond(
                        MediaState.proof_kind == "batched",
                        "Batched: one Merkle root anchored for many files; this file's leaf and path are in its bundle",
                        "Direct: its own registration transaction, receipts checked on chain",
                    ),
                    "media-kind",
                ),
                rx.cond(MediaState.proof_kind == "batched", _fact("Batch", MediaState.batch, "media-batch")),
                _fact("Block", MediaState.block, "media-block"),
                _fact("Time", MediaState.time, "media-time"),
                _fact("Transaction", MediaState.tx, "media-tx", "tx"),
                _text_fact("In MediaApp.proofOf", MediaState.revealed, "media-revealed"),
                _fact("Owner", MediaState.owner, "media-owner", "address"),
                _fact("SHA-256", MediaState.sha256, "media-sha256", "hash"),
                _fact("CID", MediaState.cid, "media-cid", "hash"),
                _fact("Media id", MediaState.media_id, "media-id", "hash"),
                rx.cond(
                    MediaState.manifest_cid != "",
                    _fact("Batch manifest", MediaState.manifest_cid, "media-manifest", "hash"),
                ),
                _fact("Type", MediaState.media_type + " · " + MediaState.size_text, "media-type"),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                width="100%",
            ),
            rx.text("Storage receipts", weight="medium"),
            rx.cond(
                MediaState.receipts.length() > 0,
                rx.vstack(rx.foreach(MediaState.receipts, _receipt), spacing="2", id="media-receipts"),
                rx.text("No receipts recorded.", size="2", color=rx.color("gray", 11)),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("shield-check", size=16),
                    "Verify in this browser",
                    on_click=MediaState.verify,
                    loading=MediaState.verify_status == "checking",
                    id="media-verify",
                ),
                rx.cond(
                    MediaState.bundle_url != "",
                    rx.link(
                        rx.button(rx.icon("file-json", size=16), "Download proof bundle", variant="soft"),
                        href=MediaState.bundle_url,
                        custom_attrs={"download": MediaState.bundle_name},
                        id="media-proof-download",
                    ),
                ),
                flex_wrap="wrap",
                spacing="2",
            ),
            rx.cond(
                MediaState.bundle_error != "",
                rx.text(MediaState.bundle_error, size="2", color=rx.color("red", 11), id="media-proof-missing"),
            ),
            rx.text(
                "Verifying checks this record's proof bundle against the chain from your browser: the signed record, "
                "the owner's signature, its inclusion in its batch (or its registration), the storage receipts. The "
                "bundle is everything a verifier needs besides the file and an Ethereum RPC endpoint: check it on the "
                "Verify page too, or with `mediaproof verify FILE --proof BUNDLE --rpc URL`.",
                size="1",
                color=rx.color("gray", 11),
            ),
            _verify_result(),
            _embed_panel(),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="media-proof",
        **BELOW_THE_FOLD,
    )


def _views_panel() -> rx.Component:
    """How often the file was opened through its links: per UTC day and per size asked for."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Views", size="4", as_="h2"),
                rx.badge(MediaState.views_total, " total", id="media-views-total", data_views=MediaState.views_total),
                align="center",
            ),
            rx.cond(
                MediaState.views_error != "",
                rx.text(MediaState.views_error, size="2", color=rx.color("gray", 10), id="media-views-error"),
                rx.cond(
                    MediaState.views_total == 0,
                    rx.text("No views yet.", size="2", color=rx.color("gray", 10), id="media-views-none"),
                    rx.grid(
                        column_chart(
                            "Views per day (UTC)",
                            MediaState.views_by_day,
                            MediaState.views_span[0],
                            MediaState.views_span[1],
                            id="media-views-per-day",
                        ),
                        row_chart("Views per size", MediaState.views_by_size, id="media-views-per-size"),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="5",
                        width="100%",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="media-views",
        **BELOW_THE_FOLD,
    )


def media_page() -> rx.Component:
    return page_shell(
        None,
        # The proof checker (ethers, the page's largest script) is fetched once a check is asked for, not while the
        # photo loads on a phone's narrow link; the check waits for it (check_call).
        rx.cond(MediaState.verify_status != "", ProofCheck.create()),
        rx.match(
            MediaState.status,
            (
                "loading",
                rx.vstack(
                    rx.heading("Media", size="7"),
                    rx.skeleton(rx.box(height="20em", width="100%"), loading=True, id="media-loading"),
                    width="100%",
                ),
            ),
            (
                "indexing",
                rx.vstack(
                    rx.heading("Media", size="7"),
                    rx.callout("Waiting for the indexer to see this registration…", icon="loader", id="media-indexing"),
                    width="100%",
                ),
            ),
            (
                "missing",
                rx.vstack(
                    rx.heading("Media", size="7"),
                    empty_state("file-question", "No such media", MediaState.error, id="media-missing"),
                    width="100%",
                ),
            ),
            (
                "error",
                rx.vstack(
                    rx.heading("Media", size="7"),
                    error_callout(MediaState.error, MediaState.load, id="media-error"),
                    width="100%",
                ),
            ),
            rx.vstack(
                rx.heading(MediaState.title, size="7", id="media-title"),
                rx.text(
                    "by ",
                    rx.link(
                        MediaState.owner_short, href="/u/" + MediaState.owner, id="media-owner-link", underline="always"
                    ),
                    " · ",
                    time_ago(MediaState.time_ago, MediaState.time, id="media-time-ago"),
                    color=rx.color("gray", 11),
                ),
                _later_registration(),
                _viewer(),
                # Below the photo on a phone: mounted after it, in slices, not in the task that shows the photo.
                non_urgent(social_panel(), _views_panel(), _proof_panel()),
                width="100%",
                spacing="4",
            ),
        ),
    )
