"""One proof's check as the browser made it (webapp.proof_reports.ProofReport): a line per check, in words, with its
outcome, and each storage receipt against its cluster."""

import reflex as rx

from webapp.components.copyable import copyable
from webapp.proof_reports import TODAYS_SIGNER_NOTE, CheckLine, ProofReport, ReceiptLine


def _check_line(check: rx.vars.ObjectVar[CheckLine]) -> rx.Component:
    return rx.hstack(
        rx.cond(
            check.ok,
            rx.icon("circle-check", size=18, color=rx.color("green", 10), flex_shrink="0"),
            rx.cond(
                check.info,
                rx.icon("info", size=18, color=rx.color("amber", 10), flex_shrink="0"),
                rx.icon("circle-x", size=18, color=rx.color("red", 10), flex_shrink="0"),
            ),
        ),
        rx.text(check.text, size="2", word_break="break-word"),
        align="start",
        spacing="2",
        class_name="proof-check",
        data_check=check.key,
        data_ok=rx.cond(check.ok, "true", "false"),
    )


def _receipt_line(receipt: rx.vars.ObjectVar[ReceiptLine]) -> rx.Component:
    return rx.hstack(
        rx.badge("cluster ", receipt.cluster),
        rx.badge(
            rx.cond(receipt.ok, "checks out", "fails"),
            color_scheme=rx.cond(receipt.ok, "green", "red"),
        ),
        rx.text(receipt.text, size="1", word_break="break-all"),
        align="center",
        flex_wrap="wrap",
        spacing="2",
        class_name="proof-receipt",
        data_ok=rx.cond(receipt.ok, "true", "false"),
    )


def todays_signer_note(**props) -> rx.Component:
    """Said once under the reports: what the browser's receipt check compares with, and how the CLI differs."""
    return rx.text(TODAYS_SIGNER_NOTE, size="1", color=rx.color("gray", 11), class_name="todays-signer-note", **props)


def proof_report_card(report: rx.vars.ObjectVar[ProofReport]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(
                    rx.cond(report.proven, "proven", "not proven"),
                    color_scheme=rx.cond(report.proven, "green", "red"),
                    size="2",
                ),
                rx.text(report.summary, weight="medium", size="2"),
                flex_wrap="wrap",
                align="center",
                spacing="2",
            ),
            rx.text(
                "Owner ",
                copyable(report.owner, "address", class_name="report-owner"),
                rx.cond(report.title != "", rx.fragment(" · “", report.title, "”")),
                size="2",
            ),
            rx.cond(
                report.tx != "",
                rx.text("Transaction ", copyable(report.tx, "tx", class_name="report-tx"), size="2"),
            ),
            rx.cond(
                report.media_id != "",
                rx.text(
                    "Media id ",
                    copyable(report.media_id, class_name="report-media-id"),
                    " · ",
                    rx.link(
                        "media page", href=f"/m/{report.media_id}", class_name="report-media-link", underline="always"
                    ),
                    size="2",
                ),
            ),
            rx.vstack(rx.foreach(report.checks, _check_line), spacing="2", width="100%"),
            rx.cond(
                report.receipts.length() > 0,
                rx.vstack(
                    rx.text("Storage receipts", weight="medium", size="2"),
                    rx.foreach(report.receipts, _receipt_line),
                    spacing="2",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        class_name="proof-report",
        data_proven=rx.cond(report.proven, "true", "false"),
    )
