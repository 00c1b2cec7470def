"""The page for an address that names no page: the site's frame, what went wrong, and the ways on."""

import reflex as rx

from webapp.components.layout import page_shell


def not_found_page() -> rx.Component:
    return page_shell(
        "Page not found",
        rx.callout(
            "No page lives at this address. A shared link may be cut short: a media link looks like /m/<short id>, a "
            "proof link like /verify/<sha256>.",
            icon="map-pin-off",
            color_scheme="amber",
            id="not-found",
            width="100%",
        ),
        rx.hstack(
            rx.link(rx.button(rx.icon("layout-grid", size=16), "Go to the feed"), href="/"),
            rx.link(rx.button(rx.icon("shield-check", size=16), "Verify a file", variant="soft"), href="/verify"),
            rx.link(rx.button(rx.icon("search", size=16), "Search", variant="soft"), href="/search"),
            flex_wrap="wrap",
            spacing="2",
        ),
    )
