"""/verify: hash any file in the browser and check, in the browser, every proof of those bytes against the chain.

The file never leaves the device: WebCrypto hashes it in the page. The proof bundles come from the indexer's
/proofs/0x<sha256> (an untrusted source) or from a bundle file the user gives; assets/proofcheck.js then checks each
one against the chain through the browser's wallet (or straight to the chain's RPC URL): the record's media id, the
owner's signature, the Merkle inclusion in its batch (or the direct registration), every storage receipt against its
cluster's signer, and whether MediaApp.proofDetail names an earlier proof.

/verify/<sha256> makes the same check for the bytes a shared link names, with no file; /verify?tx=<hash> shows what
one transaction registered (pages/verify_tx.py).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, MediaproofError, NotRegistered
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.copyable import copyable
from webapp.components.layout import page_shell
from webapp.components.proof_check import ProofCheck, check_call, read_bundle_call
from webapp.components.proof_report import proof_report_card, todays_signer_note
from webapp.deployment import load_chain_config, proof_check_config
from webapp.pages.verify_tx import TxVerifyState, transaction_view
from webapp.proof_reports import ProofReport, reports_from, verdict
from webapp.state import js_call
from webapp.verify_links import quoted, sha256_from_link

FILE_INPUT_ID = "verify-file"
BUNDLE_INPUT_ID = "verify-bundle-file"


class VerifyState(rx.State):
    """One file's check; `status` drives what the page shows."""

    # "idle" | "hashing" | "fetching" | "checking" | "proven" | "failed" | "chain_only" | "not_proven" | "error"
    # | "malformed" (a /verify/<sha256> link that names no sha256)
    status: str = "idle"
    headline: str = ""
    error: str = ""
    file_name: str = ""
    file_size: int = 0
    sha256: str = ""
    source_note: str = ""
    checked_via: str = ""
    media_app: str = ""
    chain_id: int = 0
    config_error: str = ""
    bundle_file: str = ""  # the name of the bundle file the user gave, if any
    bundle_error: str = ""
    reports: rx.Field[list[ProofReport]] = rx.field(default_factory=list)
    # Whether the page has asked for the browser's proof checker (ethers, the page's largest script): /verify
    # fetches it once a file or bundle is chosen, not while a phone paints the page.
    wants_checker: bool = False

    _file_bundles: list[dict[str, Any]] = []  # noqa: RUF012
    _tag: str = ""
    _checks: int = 0

    @rx.event
    def load_config(self):
        self._load_config()

    def _load_config(self) -> None:
        try:
            config = load_chain_config()
        except DeploymentError as exc:
            self.config_error = str(exc)
            return
        self.config_error = ""
        self.media_app, self.chain_id = config.media_app, config.chain_id

    @rx.event
    def clear(self):
        """A fresh page: nothing left over from a link or a file checked before."""
        self.reset()

    @rx.event
    async def load_digest(self):
        """/verify/<sha256>: the check of the bytes the link names, as if their file had been dropped here."""
        self.reset()
        self._load_config()
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        digest = sha256_from_link(raw)
        if digest is None:
            self.status = "malformed"
            self.error = (
                f"“{quoted(raw)}” is not a SHA-256: a verify link is /verify/ followed by the 64 hex digits of the "
                "bytes' SHA-256."
            )
            return None
        self.sha256 = digest
        return await self._check()

    @rx.event
    def file_chosen(self, _value: str):
        self.wants_checker = True
        self.status, self.error, self.sha256, self.reports, self.checked_via = "hashing", "", "", [], ""
        return rx.call_script(js_call("hashChosenFile", FILE_INPUT_ID), callback=VerifyState.file_hashed)

    @rx.event
    async def file_hashed(self, answer: dict[str, Any]):
        if answer.get("error"):
            self.status, self.error = "error", f"Could not read the file: {answer.get('message')}"
            return
        self.file_name = str(answer.get("name", ""))
        self.file_size = int(answer.get("size") or 0)
        self.sha256 = str(answer.get("sha256", ""))
        return await self._check()

    async def _check(self):
        """Gathers the bundles (the user's file, else the indexer's) and hands them to the browser's check."""
        try:
            config = proof_check_config(load_chain_config())
        except DeploymentError as exc:
            self.status, self.error = "error", str(exc)
            return None
        if self._file_bundles:
            bundles = self._file_bundles
            self.source_note = f"Checked the proof bundle file {self.bundle_file} you gave."
        else:
            self.status = "fetching"
            try:
                bundles = await services.proofs(app_settings(), self.sha256)
                count = "one proof bundle" if len(bundles) == 1 else f"{len(bundles)} proof bundles"
                self.source_note = f"The indexer gave {count} for these bytes; each was checked here, not believed."
            except NotRegistered:
                bundles = []
                self.source_note = "The indexer knows no proof bundle of these bytes; the chain was asked directly."
            except MediaproofError as exc:
                bundles = []
                self.source_note = f"The indexer could not be asked ({exc}); the chain was asked directly."
        self.status = "checking"
        self._checks += 1
        self._tag = f"{self.sha256}:{self._checks}"
        return rx.call_script(check_call(config, bundles, self.sha256, "file", self._tag), callback=VerifyState.checked)

    @rx.event
    def checked(self, answer: dict[str, Any]):
        if answer.get("tag") != self._tag:
            return  # the answer for a file the user has since replaced
        if answer.get("error"):
            self.status = "error"
            self.error = f"The chain could not be asked: {answer.get('message')}"
            return
        self.checked_via = "your wallet's connection" if answer.get("via") == "wallet" else "the chain's RPC URL"
        self.reports = reports_from(answer)
        self.status, self.headline = verdict(self.reports, answer.get("proof_of"))

    @rx.event
    def bundle_chosen(self, _value: str):
        self.wants_checker = True
        self.bundle_error = ""
        return rx.call_script(read_bundle_call(BUNDLE_INPUT_ID), callback=VerifyState.bundle_read)

    @rx.event
    async def bundle_read(self, answer: dict[str, Any]):
        if answer.get("error"):
            self.bundle_error = f"That bundle file could not be read: {answer.get('message')}"
            return None
        bundles = [b for b in answer.get("bundles") or [] if isinstance(b, dict)]
        if not bundles:
            self.bundle_error = "That file holds no proof bundle."
            return None
        self._file_bundles, self.bundle_file = bundles, str(answer.get("name") or "bundle")
        if self.sha256:
            return await self._check()
        return None

    @rx.event
    async def forget_bundle(self):
        self._file_bundles, self.bundle_file, self.bundle_error = [], "", ""
        if self.sha256:
            return await self._check()
        return None


def _drop_zone() -> rx.Component:
    return rx.el.label(
        rx.vstack(
            rx.icon("file-search", size=36, color=rx.color("accent", 9)),
            rx.text("Drop any file here, or tap to choose one", weight="medium"),
            rx.text(
                "It is hashed (SHA-256) in this browser; the file itself is never uploaded.",
                size="2",
                color=rx.color("gray", 11),
            ),
            align="center",
            spacing="2",
        ),
        rx.el.input(
            type="file",
            id=FILE_INPUT_ID,
            on_change=VerifyState.file_chosen,
            style={"display": "none"},
        ),
        html_for=FILE_INPUT_ID,
        custom_attrs={"data-drop-for": FILE_INPUT_ID},
        id="verify-drop",
        style={
            "display": "block",
            "width": "100%",
            "cursor": "pointer",
            "padding": "2.5em 1em",
            "border": f"2px dashed {rx.color('accent', 7)}",
            "borderRadius": "12px",
            "&[data-dragging]": {"background": rx.color("accent", 3)},
        },
    )


def _bundle_picker() -> rx.Component:
    return rx.vstack(
        rx.cond(
            VerifyState.bundle_file != "",
            rx.hstack(
                rx.icon("file-json", size=16),
                rx.text("Using the proof bundle file ", rx.code(VerifyState.bundle_file), size="2", id="verify-bundle"),
                rx.button("Ask the indexer instead", on_click=VerifyState.forget_bundle, size="1", variant="soft"),
                align="center",
                flex_wrap="wrap",
                spacing="2",
            ),
        ),
        rx.el.label(
            rx.hstack(
                rx.icon("file-json", size=16),
                rx.text(
                    rx.cond(
                        VerifyState.bundle_file != "",
                        "Choose another proof bundle file.",
                        "Have the file's proof bundle (.json)? Choose it to check that bundle instead of asking the "
                        "indexer.",
                    ),
                    size="2",
                    text_decoration="underline",
                ),
                align="center",
                spacing="2",
            ),
            rx.el.input(
                type="file",
                accept=".json,application/json",
                id=BUNDLE_INPUT_ID,
                on_change=VerifyState.bundle_chosen,
                style={"display": "none"},
            ),
            html_for=BUNDLE_INPUT_ID,
            style={"cursor": "pointer"},
        ),
        rx.cond(
            VerifyState.bundle_error != "",
            rx.text(VerifyState.bundle_error, size="2", color=rx.color("red", 11), id="verify-bundle-error"),
        ),
        spacing="1",
        width="100%",
    )


def _callout(icon: str, color: str, status: str) -> rx.Component:
    return rx.callout(
        VerifyState.headline, icon=icon, color_scheme=color, id="verify-result", data_status=status, width="100%"
    )


def _result() -> rx.Component:
    return rx.match(
        VerifyState.status,
        ("hashing", rx.callout("Hashing the file in your browser…", icon="loader", id="verify-result")),
        ("fetching", rx.callout("Asking the indexer for proofs of these bytes…", icon="loader", id="verify-result")),
        (
            "checking",
            rx.callout("Checking every proof against the chain in your browser…", icon="loader", id="verify-result"),
        ),
        ("proven", _callout("badge-check", "green", "proven")),
        ("failed", _callout("circle-x", "red", "failed")),
        ("chain_only", _callout("circle-alert", "amber", "chain_only")),
        ("not_proven", _callout("circle-help", "amber", "not_proven")),
        (
            "error",
            rx.callout(
                VerifyState.error, icon="triangle-alert", color_scheme="red", id="verify-result", data_status="error"
            ),
        ),
        (
            "malformed",
            rx.callout(
                VerifyState.error,
                icon="triangle-alert",
                color_scheme="amber",
                id="verify-result",
                data_status="malformed",
            ),
        ),
        rx.fragment(),
    )


def _file_facts() -> rx.Component:
    return rx.cond(
        VerifyState.sha256 != "",
        rx.vstack(
            rx.text(VerifyState.file_name, " · ", VerifyState.file_size, " bytes", size="2"),
            rx.text("SHA-256 ", copyable(VerifyState.sha256, id="verify-sha256"), size="2"),
            rx.cond(
                VerifyState.checked_via != "",
                rx.text(
                    VerifyState.source_note,
                    " Checked through ",
                    VerifyState.checked_via,
                    ".",
                    size="1",
                    color=rx.color("gray", 11),
                    id="verify-source",
                ),
            ),
            spacing="1",
            width="100%",
        ),
    )


def _config_line() -> rx.Component:
    return rx.cond(
        VerifyState.config_error != "",
        rx.callout(VerifyState.config_error, icon="triangle-alert", color_scheme="red", id="config-error"),
        rx.text(
            "Checks MediaApp ",
            copyable(VerifyState.media_app, "address"),
            " on chain ",
            VerifyState.chain_id,
            ".",
            size="1",
            color=rx.color("gray", 11),
        ),
    )


def _reports() -> rx.Component:
    return rx.fragment(
        rx.vstack(rx.foreach(VerifyState.reports, proof_report_card), spacing="3", width="100%", id="verify-reports"),
        rx.cond(VerifyState.reports.length() > 0, todays_signer_note()),
    )


def _file_check() -> rx.Component:
    return rx.vstack(
        rx.heading("Verify a file", size="7"),
        rx.text(
            "Find out whether a file was proven on Mediaproof, by whom and when — without uploading it. Every proof "
            "is checked in this browser against the chain: the signed record, the owner's signature, its inclusion "
            "in its batch, and the storage receipts.",
            color=rx.color("gray", 11),
        ),
        _drop_zone(),
        _bundle_picker(),
        # Under the drop zone, not above it: the line grows when the deployment arrives over the websocket, and
        # above it would push the drop zone down as the page settles (layout shift).
        _config_line(),
        _file_facts(),
        _result(),
        _reports(),
        spacing="4",
        width="100%",
    )


def verify_page() -> rx.Component:
    """/verify: a file's check, or with ?tx= what one transaction registered."""
    return page_shell(
        None,
        rx.cond(VerifyState.wants_checker, ProofCheck.create()),
        rx.cond(TxVerifyState.asked, transaction_view(), _file_check()),
    )


def verify_digest_page() -> rx.Component:
    """/verify/<sha256>: a shareable proof (or disproof) of some bytes, checked in the reader's browser."""
    return page_shell(
        "Verify these bytes",
        ProofCheck.create(),
        rx.text(
            "What the chain says about the bytes with this SHA-256 — who proved them first, when, how, and which "
            "storage clusters vouched for holding them — checked in this browser against the chain. No file is "
            "needed: share this page's address.",
            color=rx.color("gray", 11),
        ),
        _config_line(),
        rx.cond(
            VerifyState.sha256 != "", rx.text("SHA-256 ", copyable(VerifyState.sha256, id="verify-sha256"), size="2")
        ),
        _result(),
        rx.cond(
            VerifyState.checked_via != "",
            rx.text(
                VerifyState.source_note,
                " Checked through ",
                VerifyState.checked_via,
                ".",
                size="1",
                color=rx.color("gray", 11),
                id="verify-source",
            ),
        ),
        _reports(),
        rx.link("Check a file instead", href="/verify", id="verify-file-link"),
    )
