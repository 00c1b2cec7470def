"""/verify: hash any file in the browser and ask MediaApp.proofOf who registered those bytes, and when.

The file never leaves the device: WebCrypto hashes it in the page and the eth_call goes out through the
browser's wallet (or straight to the chain's RPC URL); the backend sees only the digest and the chain's answer.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError
from webapp.components.layout import page_shell
from webapp.deployment import load_chain_config
from webapp.state import js_call

FILE_INPUT_ID = "verify-file"


class VerifyState(rx.State):
    """One file's check; `status` drives what the page shows."""

    # "idle" | "hashing" | "checking" | "proven" | "unknown" | "error"
    status: str = "idle"
    error: str = ""
    file_name: str = ""
    file_size: int = 0
    sha256: str = ""
    owner: str = ""
    user_contract: str = ""
    block_number: int = 0
    time_utc: str = ""
    checked_via: str = ""
    media_app: str = ""
    chain_id: int = 0
    config_error: str = ""

    @rx.event
    def load_config(self):
        try:
            config = load_chain_config()
        except DeploymentError as exc:
            self.config_error = str(exc)
            return
        self.config_error = ""
        self.media_app, self.chain_id = config.media_app, config.chain_id

    @rx.event
    def file_chosen(self, _value: str):
        self.status, self.error, self.sha256 = "hashing", "", ""
        return rx.call_script(js_call("hashChosenFile", FILE_INPUT_ID), callback=VerifyState.file_hashed)

    @rx.event
    def file_hashed(self, answer: dict[str, Any]):
        if answer.get("error"):
            self.status, self.error = "error", f"Could not read the file: {answer.get('message')}"
            return
        self.file_name = str(answer.get("name", ""))
        self.file_size = int(answer.get("size") or 0)
        self.sha256 = str(answer.get("sha256", ""))
        try:
            config = load_chain_config()
            calldata = config.proof_of_calldata(self.sha256)
        except (DeploymentError, InputError) as exc:
            self.status, self.error = "error", str(exc)
            return
        self.status = "checking"
        return rx.call_script(
            js_call("ethCall", config.media_app, calldata, config.chain_id_hex, config.rpc_url, self.sha256),
            callback=VerifyState.chain_answered,
        )

    @rx.event
    def chain_answered(self, answer: dict[str, Any]):
        if answer.get("tag") != self.sha256:
            return  # the answer for a file the user has since replaced
        if answer.get("error"):
            self.status = "error"
            self.error = f"The chain could not be asked: {answer.get('message')}"
            return
        try:
            proof = load_chain_config().decode_proof(str(answer.get("result", "")))
        except DeploymentError as exc:
            self.status, self.error = "error", str(exc)
            return
        self.checked_via = "your wallet's connection" if answer.get("via") == "wallet" else "the chain's RPC URL"
        if not proof.registered:
            self.status = "unknown"
            return
        self.status = "proven"
        self.owner, self.user_contract = proof.owner, proof.user_contract
        self.block_number, self.time_utc = proof.block_number, proof.time_utc


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


def _field(label: str, value: rx.Var, field_id: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label),
        rx.data_list.value(rx.code(value, id=field_id, word_break="break-all")),
    )


def _result() -> rx.Component:
    return rx.match(
        VerifyState.status,
        ("hashing", rx.callout("Hashing the file in your browser…", icon="loader", id="verify-result")),
        ("checking", rx.callout("Asking the chain who registered these bytes…", icon="loader", id="verify-result")),
        (
            "proven",
            rx.callout(
                rx.vstack(
                    rx.text("Registered on chain. These exact bytes were first registered by:", weight="bold"),
                    rx.data_list.root(
                        _field("Owner", VerifyState.owner, "proof-owner"),
                        _field("Time", VerifyState.time_utc, "proof-time"),
                        _field("Block", VerifyState.block_number, "proof-block"),
                        _field("User contract", VerifyState.user_contract, "proof-user-contract"),
                        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                    ),
                    spacing="2",
                ),
                icon="badge-check",
                color_scheme="green",
                id="verify-result",
                data_status="proven",
            ),
        ),
        (
            "unknown",
            rx.callout(
                "Not registered: nobody has registered these exact bytes on this chain. "
                "(A copy that differs by even one byte has a different hash.)",
                icon="circle-help",
                color_scheme="amber",
                id="verify-result",
                data_status="unknown",
            ),
        ),
        (
            "error",
            rx.callout(
                VerifyState.error, icon="triangle-alert", color_scheme="red", id="verify-result", data_status="error"
            ),
        ),
        rx.fragment(),
    )


def _file_facts() -> rx.Component:
    return rx.cond(
        VerifyState.sha256 != "",
        rx.vstack(
            rx.text(VerifyState.file_name, " · ", VerifyState.file_size, " bytes", size="2"),
            rx.text("SHA-256 ", rx.code(VerifyState.sha256, id="verify-sha256", word_break="break-all"), size="2"),
            rx.cond(
                VerifyState.checked_via != "",
                rx.text("Checked through ", VerifyState.checked_via, ".", size="1", color=rx.color("gray", 10)),
            ),
            spacing="1",
            width="100%",
        ),
    )


def verify_page() -> rx.Component:
    return page_shell(
        "Verify a file",
        rx.text(
            "Find out whether a file was registered on Mediaproof, by whom and when — without uploading it.",
            color=rx.color("gray", 11),
        ),
        rx.cond(
            VerifyState.config_error != "",
            rx.callout(VerifyState.config_error, icon="triangle-alert", color_scheme="red", id="config-error"),
            rx.text(
                "Checks MediaApp ",
                rx.code(VerifyState.media_app, word_break="break-all"),
                " on chain ",
                VerifyState.chain_id,
                ".",
                size="1",
                color=rx.color("gray", 10),
            ),
        ),
        _drop_zone(),
        _file_facts(),
        _result(),
    )
