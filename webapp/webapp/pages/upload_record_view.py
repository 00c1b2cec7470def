"""The /upload page's last steps: the record to sign, read before the wallet signs it, and the proven result with
its link and proof bundle."""

from __future__ import annotations

import reflex as rx

from webapp.pages.upload_state import UploadState
from webapp.pages.upload_views import first_proof_warning


def _record_row(label: str, key: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label),
        rx.data_list.value(rx.text(UploadState.record[key], word_break="break-all", id=f"record-{key}")),
    )


def record_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("The record you are about to sign", size="4", as_="h2"),
            first_proof_warning(),
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


def result_card() -> rx.Component:
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
