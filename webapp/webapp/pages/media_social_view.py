"""How a media's likes and comments look on its page: the like button with the counts, a box to write a comment
(at most 2000 bytes, saying why when it cannot be sent), the comments newest first with edit / delete on the
viewer's own, and the "pending anchoring" line while an accepted action waits for its batch."""

from __future__ import annotations

import reflex as rx

from mediaproof.social import MAX_COMMENT_BYTES
from webapp import action_flow
from webapp.components.comments import comment_view
from webapp.components.non_urgent import BELOW_THE_FOLD
from webapp.pages.media_social import MediaSocialState
from webapp.state import AuthState


def _like_bar() -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("heart", size=16, fill=rx.cond(MediaSocialState.liked, "currentColor", "none")),
            rx.cond(MediaSocialState.liked, "Liked", "Like"),
            on_click=MediaSocialState.toggle_like,
            disabled=~AuthState.signed_in | (MediaSocialState.phase != ""),
            loading=(MediaSocialState.doing == "like") & (MediaSocialState.phase != "pending"),
            variant=rx.cond(MediaSocialState.liked, "solid", "soft"),
            color_scheme="crimson",
            id="like-button",
        ),
        rx.text(
            rx.el.strong(MediaSocialState.likes, id="like-count", data_count=MediaSocialState.likes),
            rx.cond(MediaSocialState.likes == 1, " like · ", " likes · "),
            rx.el.strong(MediaSocialState.comment_count, id="comment-count"),
            rx.cond(MediaSocialState.comment_count == 1, " comment", " comments"),
            color=rx.color("gray", 11),
        ),
        spacing="3",
        align="center",
        flex_wrap="wrap",
    )


def _own_tools(comment: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    mine = AuthState.signed_in & (comment["author"].lower() == AuthState.address.lower())
    busy = MediaSocialState.phase != ""
    return rx.cond(
        mine,
        rx.hstack(
            rx.button(
                "Edit",
                on_click=MediaSocialState.start_edit(comment["id"], comment["raw_text"]),  # type: ignore[operator]
                disabled=busy,
                size="1",
                variant="ghost",
                class_name="comment-edit",
            ),
            rx.button(
                "Delete",
                on_click=MediaSocialState.delete_comment(comment["id"]),  # type: ignore[operator]
                disabled=busy,
                size="1",
                variant="ghost",
                color_scheme="red",
                class_name="comment-delete",
            ),
            spacing="2",
        ),
    )


def _comment(comment: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.cond(
        MediaSocialState.editing == comment["id"],
        rx.vstack(
            rx.text_area(
                value=MediaSocialState.edit_draft,
                on_change=MediaSocialState.set_edit_draft,
                width="100%",
                id="comment-edit-text",
            ),
            rx.hstack(
                rx.button("Save", on_click=MediaSocialState.save_edit, size="1", id="comment-edit-save"),
                rx.button("Cancel", on_click=MediaSocialState.cancel_edit, size="1", variant="soft"),
                spacing="2",
            ),
            width="100%",
        ),
        comment_view(comment, _own_tools(comment)),
    )


def _comment_box() -> rx.Component:
    return rx.cond(
        AuthState.signed_in,
        rx.vstack(
            rx.text_area(
                placeholder="Write a comment (signed by your wallet)",
                value=MediaSocialState.draft,
                on_change=MediaSocialState.set_draft,
                width="100%",
                id="comment-text",
                aria_label="Your comment",
            ),
            rx.hstack(
                rx.button(
                    "Comment",
                    on_click=MediaSocialState.post_comment,
                    disabled=(MediaSocialState.phase != "") | (MediaSocialState.bytes_left < 0),
                    loading=(MediaSocialState.doing == "comment") & (MediaSocialState.phase != "pending"),
                    id="comment-post",
                ),
                rx.text(
                    rx.cond(
                        MediaSocialState.bytes_left < 0,
                        f"Too long: a comment is at most {MAX_COMMENT_BYTES} bytes of text; shorten it.",
                        MediaSocialState.bytes_left.to_string() + " bytes left",
                    ),
                    size="1",
                    color=rx.cond(MediaSocialState.bytes_left < 0, rx.color("red", 11), rx.color("gray", 11)),
                    id="comment-bytes-left",
                ),
                spacing="3",
                align="center",
            ),
            width="100%",
        ),
        rx.text(action_flow.NEEDS_WALLET, size="2", color=rx.color("gray", 11), id="social-needs-wallet"),
    )


def social_panel() -> rx.Component:
    """Likes and comments, under the media."""
    return rx.card(
        rx.vstack(
            _like_bar(),
            rx.cond(
                MediaSocialState.phase == "pending",
                rx.hstack(rx.spinner(size="1"), rx.text(MediaSocialState.message, size="2"), id="social-pending"),
                rx.cond(MediaSocialState.message != "", rx.text(MediaSocialState.message, size="2")),
            ),
            rx.cond(
                MediaSocialState.action_error != "",
                rx.text(MediaSocialState.action_error, size="2", color=rx.color("red", 11), id="social-error"),
            ),
            rx.cond(
                MediaSocialState.error != "",
                rx.text(MediaSocialState.error, size="2", color=rx.color("red", 11), id="social-read-error"),
            ),
            rx.heading("Comments", as_="h2", size="4"),
            _comment_box(),
            rx.cond(
                MediaSocialState.comments.length() > 0,
                rx.vstack(rx.foreach(MediaSocialState.comments, _comment), spacing="0", width="100%", id="comments"),
                rx.text("No comments yet.", size="2", color=rx.color("gray", 11), id="comments-empty"),
            ),
            rx.cond(
                MediaSocialState.comments.length() < MediaSocialState.comment_count,
                rx.button(
                    "Older comments",
                    on_click=MediaSocialState.load_older,
                    variant="soft",
                    size="1",
                    id="comments-older",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="media-social",
        **BELOW_THE_FOLD,
    )
