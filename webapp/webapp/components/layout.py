"""The frame every page shares: brand, navigation, the wallet button; one column that fits a phone."""

import reflex as rx

from webapp.components.nav_link import nav_link
from webapp.components.wallet import wallet_button, wallet_problem_panel

NAVIGATION = (
    ("Feed", "/", "layout-grid"),
    ("Upload", "/upload", "upload"),
    ("Search", "/search", "search"),
    ("Verify", "/verify", "shield-check"),
    ("Projects", "/projects", "folder"),
    ("Clusters", "/clusters", "server"),
    ("Profile", "/profile", "user"),
)


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        nav_link(
            # A phone stacks the icon over a smaller label (a tab bar), so all seven fit one row of 390 px.
            rx.flex(
                rx.icon(icon, size=16),
                rx.text(label, size=rx.breakpoints(initial="1", sm="2")),
                direction=rx.breakpoints(initial="column", sm="row"),
                gap=rx.breakpoints(initial="0", sm="0.25em"),
                align="center",
            ),
            to=href,
        ),
        as_child=True,
        underline="none",
        white_space="nowrap",
        padding=rx.breakpoints(initial="0.25em 0.3em", sm="0.25em 0.5em"),
        border_radius="6px",
        _hover={"background": rx.color("accent", 3)},
        style={"&[aria-current='page']": {"background": rx.color("accent", 4)}},
    )


def page_shell(heading: str | None, *children: rx.Component) -> rx.Component:
    """The frame around a page's content; `heading` is the page's one heading (None: the page shows its own)."""
    return rx.box(
        rx.el.header(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.icon("fingerprint", size=22), rx.text("Mediaproof", size="5", weight="bold"), spacing="2"
                    ),
                    href="/",
                    underline="none",
                    color=rx.color("gray", 12),
                ),
                rx.spacer(),
                wallet_button(),
                align="center",
                width="100%",
            ),
            # One row on every screen, every page one tap away: the sticky header never grows a second row.
            rx.el.nav(
                rx.flex(
                    *(_nav_link(*item) for item in NAVIGATION),
                    gap=rx.breakpoints(initial="0", sm="0.25em"),
                    justify=rx.breakpoints(initial="between", sm="start"),
                    flex_wrap="nowrap",
                    width="100%",
                ),
                id="main-nav",
                aria_label="Main",
                width="100%",
                padding_top="0.5em",
            ),
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            padding="0.75em 1em",
            position="sticky",
            top="0",
            background=rx.color("gray", 1),
            z_index="10",
        ),
        # Landmarks (header, nav, main) let screen readers jump past the header to the page.
        rx.el.main(
            rx.container(
                rx.vstack(
                    wallet_problem_panel(),
                    *([rx.heading(heading, size="7")] if heading is not None else []),
                    *children,
                    spacing="4",
                    width="100%",
                    # Addresses and hashes in running text break rather than push a phone's screen wider.
                    overflow_wrap="anywhere",
                ),
                size="3",
                padding="1.25em 1em",
            ),
        ),
        min_height="100vh",
        # Tests (and impatient scripts) wait for this before clicking: events before hydration are lost.
        data_hydrated=rx.State.is_hydrated,
        id="page",
    )
