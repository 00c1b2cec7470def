"""A hash, address or transaction as every page shows one: the value (breaking rather than overflowing a phone), a
button that copies it, and a link to the block explorer when MEDIAPROOF_EXPLORER_URL names one."""

from __future__ import annotations

from typing import Literal

import reflex as rx

from webapp.state import ExplorerState

# What a value is to the explorer: transactions and addresses have pages there; other hashes (sha256, media ids,
# CIDs) do not, so they get the copy button alone.
Kind = Literal["tx", "address", "hash"]


def copyable(value: rx.Var | str, kind: Kind = "hash", **props) -> rx.Component:
    """`props` (id, class_name) go to the value itself, so tests and scripts find it as before."""
    explorer = ExplorerState.explorer_url
    return rx.el.span(
        rx.code(value, word_break="break-all", **props),
        rx.icon_button(
            rx.icon("copy", size=14),
            on_click=rx.set_clipboard(value),
            size="1",
            variant="ghost",
            type="button",
            aria_label="Copy",
            title="Copy to the clipboard",
            class_name="copy-button",
            # 24 px square at least (WCAG 2.5.8 target size): a finger must not hit the explorer link instead.
            min_width="24px",
            min_height="24px",
            custom_attrs={"data-copy": value},
        ),
        *(
            [
                rx.cond(
                    explorer != "",
                    rx.link(
                        rx.icon("external-link", size=14),
                        href=f"{explorer}/{kind}/{value}",
                        is_external=True,
                        aria_label="Open in the block explorer",
                        title="Open in the block explorer",
                        class_name="explorer-link",
                        display="inline-flex",
                        align_items="center",
                        justify_content="center",
                        min_width="24px",
                        min_height="24px",
                    ),
                )
            ]
            if kind != "hash"
            else []
        ),
        class_name="copyable",
        style={"display": "inline-flex", "alignItems": "center", "gap": "0.5em", "flexWrap": "wrap", "minWidth": 0},
    )
