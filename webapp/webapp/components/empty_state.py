"""The honest empty state: says what a page will show and why it shows nothing yet."""

import reflex as rx


def empty_state(icon: str, heading: str, explanation: str, *actions: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=32, color=rx.color("gray", 9)),
            rx.heading(heading, size="4", as_="h2"),
            rx.text(explanation, color=rx.color("gray", 11), text_align="center"),
            *actions,
            align="center",
            spacing="3",
            padding_y="6",
        ),
        width="100%",
        **props,
    )
