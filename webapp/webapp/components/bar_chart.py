"""Bar charts drawn as plain elements (nothing fetched, no chart library): columns over time, or one row per name.
Each chart is a figure whose bars are hidden from screen readers and whose table (visually hidden) says the same
numbers to them."""

from __future__ import annotations

import reflex as rx

# Off screen but read aloud: the usual visually-hidden rule (clip, 1 px), so the table never changes the layout.
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": "0",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": "0",
}
CHART_HEIGHT = "8em"


def _table(caption: str, column: str, bars: rx.Var) -> rx.Component:
    return rx.el.table(
        rx.el.caption(caption),
        rx.el.thead(rx.el.tr(rx.el.th(column, scope="col"), rx.el.th("Views", scope="col"))),
        rx.el.tbody(
            rx.foreach(bars, lambda bar: rx.el.tr(rx.el.th(bar["label"], scope="row"), rx.el.td(bar["views"]))),
        ),
        style=VISUALLY_HIDDEN,
        class_name="chart-table",
    )


def _column(bar: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.box(
        rx.box(
            height=bar["percent"],
            min_height=rx.cond(bar["views"] == "0", "0", "2px"),
            width="100%",
            background=rx.color("accent", 9),
            border_radius="2px 2px 0 0",
        ),
        flex="1 1 0",
        min_width="2px",
        max_width="2.5em",
        height="100%",
        display="flex",
        align_items="flex-end",
        title=bar["label"] + ": " + bar["views"] + " views",
        class_name="chart-bar",
        data_views=bar["views"],
    )


def column_chart(title: str, bars: rx.Var, first: rx.Var, last: rx.Var, **props) -> rx.Component:
    """Columns left to right (days, oldest first), the first and last names under them."""
    return rx.el.figure(
        rx.el.figcaption(rx.text(title, weight="medium", size="2")),
        rx.box(
            rx.hstack(rx.foreach(bars, _column), spacing="1", align="end", height=CHART_HEIGHT, width="100%"),
            rx.hstack(
                rx.text(first, size="1"),
                rx.spacer(),
                rx.text(last, size="1"),
                color=rx.color("gray", 11),
                width="100%",
            ),
            border_bottom=f"1px solid {rx.color('gray', 6)}",
            aria_hidden="true",
            width="100%",
        ),
        _table(title, "Day", bars),
        position="relative",
        margin="0",
        width="100%",
        **props,
    )


def _row(bar: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.text(bar["label"], size="2", width="5.5em", flex_shrink="0"),
        rx.box(
            rx.box(height="100%", width=bar["percent"], background=rx.color("accent", 9), border_radius="2px"),
            flex="1",
            height="0.9em",
        ),
        rx.text(bar["views"], size="2", width="3.5em", text_align="right", flex_shrink="0"),
        align="center",
        width="100%",
        class_name="chart-bar",
        data_views=bar["views"],
    )


def row_chart(title: str, bars: rx.Var, **props) -> rx.Component:
    """One labelled row per name (sizes), its count at the end."""
    return rx.el.figure(
        rx.el.figcaption(rx.text(title, weight="medium", size="2")),
        rx.vstack(rx.foreach(bars, _row), spacing="1", width="100%", aria_hidden="true"),
        _table(title, "Size", bars),
        position="relative",
        margin="0",
        width="100%",
        **props,
    )
