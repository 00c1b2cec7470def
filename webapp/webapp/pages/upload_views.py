"""The /upload page's steps before the record: how to prove it, the wallet's account for a direct proof, the file
being sent, held or waiting, and its review with a title."""

from __future__ import annotations

import reflex as rx

from webapp.pages.upload_state import UploadState
from webapp.state import AuthState


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


def mode_choice() -> rx.Component:
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


def account_step() -> rx.Component:
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


def first_proof_warning() -> rx.Component:
    """Before signing: these exact bytes are proven already, by whom and where, with the proofs one click away.
    Registering them again is allowed (a later registration); the user decides."""
    return rx.cond(
        UploadState.first_owner != "",
        rx.callout(
            rx.text(
                "These bytes were first proven by ",
                rx.link(
                    UploadState.first_owner_short, href="/u/" + UploadState.first_owner, title=UploadState.first_owner
                ),
                " in block ",
                rx.el.span(UploadState.first_block, id="upload-first-block"),
                ". ",
                rx.link("See their proof", href=UploadState.first_verify, id="upload-first-verify"),
                ". You can still register them: yours will be a later registration.",
            ),
            icon="history",
            color_scheme="amber",
            width="100%",
            id="upload-first-proof",
            data_owner=UploadState.first_owner,
        ),
    )


def review() -> rx.Component:
    return rx.card(
        rx.vstack(
            first_proof_warning(),
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


def sending() -> rx.Component:
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


def held() -> rx.Component:
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


def waiting() -> rx.Component:
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
