"""One comment as pages show it: its author's short address linking to their profile, how long ago (UTC as the
tooltip), "edited" when it was, and its text with its line breaks."""

import reflex as rx

from webapp.components.media_grid import time_ago


def comment_view(comment: rx.vars.ObjectVar[dict[str, str]], *tools: rx.Component) -> rx.Component:
    """`tools` (edit, delete) follow the header line when the viewer may use them."""
    return rx.box(
        rx.hstack(
            rx.link(
                comment["author_short"],
                href="/u/" + comment["author"],
                title=comment["author"],
                weight="medium",
                class_name="comment-author",
            ),
            rx.text(time_ago(comment["time_ago"], comment["time"]), size="1", color=rx.color("gray", 11)),
            rx.cond(
                comment["edited"] != "",
                rx.badge("edited", size="1", variant="soft", color_scheme="gray", class_name="comment-edited"),
            ),
            *tools,
            spacing="2",
            align="center",
            flex_wrap="wrap",
        ),
        rx.text(comment["text"], white_space="pre-wrap", word_break="break-word", class_name="comment-text"),
        class_name="comment",
        data_comment_id=comment["id"],
        data_author=comment["author"],
        width="100%",
        padding_y="0.5em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )
