"""/verify?tx=<hash>: what one transaction registered, without a file — the batch it anchored (or the direct
registration it carried) and every file it proved, each linking to its own verify page and media page."""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import MediaproofError, NotRegistered
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.copyable import copyable
from webapp.verify_links import batch_row, media_row, quoted, transaction_summary, tx_from_link


class TxVerifyState(rx.State):
    asked: bool = False  # the address carries ?tx=
    # "loading" | "found" | "unknown" | "malformed" | "error"
    status: str = ""
    message: str = ""
    tx: str = ""
    batches: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    files: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)

    @rx.event
    async def load(self):
        raw = self.router.url.query_parameters.get("tx")
        self.reset()
        if raw is None:
            return
        self.asked = True
        tx = tx_from_link(raw)
        if tx is None:
            self.status = "malformed"
            self.message = (
                f"“{quoted(raw)}” is not a transaction hash: a transaction link is /verify?tx=0x followed by 64 hex "
                "digits."
            )
            return
        self.tx, self.status = tx, "loading"
        yield
        try:
            found = await services.transaction(app_settings(), tx)
        except NotRegistered:
            self.status = "unknown"
            self.message = (
                "Not a Mediaproof registration: no batch or file proven by this transaction is known (or the indexer "
                "has not reached its block yet)."
            )
            return
        except MediaproofError as exc:
            self.status, self.message = "error", f"The indexer could not be asked about this transaction: {exc}"
            return
        self.message = transaction_summary(found)
        self.batches = [batch_row(b) for b in found.get("batches") or []]
        self.files = [media_row(m, services.known_links.short_id(m)) for m in found.get("media") or []]
        self.status = "found"


def _batch(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Batch ", rx.code(row["batch"]), " · ", row["files"], weight="medium", size="2"),
            rx.text("Merkle root ", copyable(row["root"]), size="2"),
            rx.text("Sequencer ", copyable(row["sequencer"], "address"), size="2"),
            rx.cond(row["manifest_cid"] != "", rx.text("Manifest ", copyable(row["manifest_cid"]), size="2")),
            spacing="1",
        ),
        width="100%",
        class_name="tx-batch",
    )


def _file(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(row["title"], weight="medium", class_name="tx-file-title"),
                rx.badge(row["kind"]),
                rx.cond(row["deleted"] != "", rx.badge("deleted", color_scheme="gray")),
                flex_wrap="wrap",
                align="center",
                spacing="2",
            ),
            rx.text(row["first"], size="2", color=rx.color("gray", 11)),
            rx.text("SHA-256 ", copyable(row["sha256"], class_name="tx-file-sha256"), size="2"),
            rx.text("Owner ", copyable(row["owner"], "address"), size="2"),
            rx.text("Media id ", copyable(row["media_id"]), size="2"),
            rx.hstack(
                rx.link("Verify these bytes", href=row["verify_href"], class_name="tx-file-verify"),
                rx.link("Media page", href=row["media_href"], class_name="tx-file-media"),
                spacing="4",
            ),
            spacing="1",
        ),
        width="100%",
        class_name="tx-file",
    )


# How each state of the page reads: (status, icon, colour).
ANSWERS = (
    ("loading", "loader", "gray"),
    ("found", "badge-check", "green"),
    ("unknown", "circle-help", "amber"),
    ("malformed", "triangle-alert", "amber"),
    ("error", "triangle-alert", "red"),
)


def _answer(status: str, icon: str, colour: str) -> tuple[str, rx.Component]:
    message = rx.cond(
        status == "loading", "Asking the indexer what this transaction registered…", TxVerifyState.message
    )
    return status, rx.callout(message, icon=icon, color_scheme=colour, id="verify-result", data_status=status)


def transaction_view() -> rx.Component:
    return rx.vstack(
        rx.heading("Verify a transaction", size="7"),
        rx.cond(
            TxVerifyState.tx != "",
            rx.text("Transaction ", copyable(TxVerifyState.tx, "tx", id="verify-tx"), size="2"),
        ),
        rx.match(
            TxVerifyState.status,
            *(_answer(status, icon, colour) for status, icon, colour in ANSWERS),
            rx.fragment(),
        ),
        rx.vstack(rx.foreach(TxVerifyState.batches, _batch), spacing="2", width="100%", id="verify-tx-batches"),
        rx.vstack(rx.foreach(TxVerifyState.files, _file), spacing="2", width="100%", id="verify-tx-files"),
        rx.link("Check a file instead", href="/verify", id="verify-file-link"),
        spacing="4",
        width="100%",
    )
