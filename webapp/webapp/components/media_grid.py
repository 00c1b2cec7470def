"""The grid of media cards (feed, search, profile): thumbnail with its title as alt text (a play badge over a video's),
title, owner, how long ago (the UTC time as its tooltip), and who proved the bytes first when the card is a later
registration of them; date headings ("Today", "March 2026") across the grid where the page grouped its cards."""

import reflex as rx


def _thumbnail(card: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.cond(
        card["thumb"] != "",
        rx.image(
            src=card["thumb"],
            alt=card["title"],
            loading="lazy",
            width="100%",
            height="100%",
            object_fit="cover",
        ),
        rx.center(
            # Two static icons, not one icon named by a Var: a Var name makes Reflex ship lucide's every icon
            # (DynamicIcon, ~250 KB) to the page.
            rx.cond(
                card["kind"] == "video",
                rx.icon("film", size=36, color=rx.color("gray", 8)),
                rx.icon("image", size=36, color=rx.color("gray", 8)),
            ),
            width="100%",
            height="100%",
            role="img",
            aria_label=card["title"],
        ),
    )


def _play_badge(card: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    """Over a video's thumbnail, so a grid tells videos from photos before anyone opens them."""
    return rx.cond(
        card["kind"] == "video",
        rx.center(
            rx.icon("play", size=20, color="white", fill="white"),
            position="absolute",
            top="50%",
            left="50%",
            transform="translate(-50%, -50%)",
            width="2.75em",
            height="2.75em",
            border_radius="50%",
            background="rgba(0, 0, 0, 0.55)",
            role="img",
            aria_label="Video",
            class_name="play-badge",
            pointer_events="none",
        ),
    )


def time_ago(relative: rx.Var | str, absolute: rx.Var | str, **props) -> rx.Component:
    """'3 min ago' with the UTC time as its tooltip (the UTC time alone when no relative one was computed)."""
    return rx.el.span(rx.cond(relative != "", relative, absolute), title=absolute, class_name="time-ago", **props)


def media_card(card: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.inset(
                rx.box(
                    _thumbnail(card),
                    _play_badge(card),
                    aspect_ratio="4 / 3",
                    background=rx.color("gray", 3),
                    overflow="hidden",
                    position="relative",
                ),
                side="top",
                pb="current",
            ),
            rx.text(card["title"], weight="medium", trim="both", truncate=True, class_name="media-title"),
            rx.text(
                card["owner_short"],
                " · ",
                time_ago(card["time_ago"], card["time"]),
                size="1",
                color=rx.color("gray", 11),
                truncate=True,
            ),
            rx.cond(
                (card["likes"] != "") & (card["likes"] != "0") | (card["comments"] != "") & (card["comments"] != "0"),
                rx.hstack(
                    rx.icon("heart", size=12),
                    rx.el.span(card["likes"], class_name="card-likes"),
                    rx.icon("message-circle", size=12),
                    rx.el.span(card["comments"], class_name="card-comments"),
                    spacing="1",
                    align="center",
                    color=rx.color("gray", 11),
                    font_size="var(--font-size-1)",
                    aria_label=card["likes"] + " likes, " + card["comments"] + " comments",
                ),
            ),
            rx.cond(
                card["first_note"] != "",
                rx.text(
                    rx.icon("history", size=12, display="inline", vertical_align="middle", margin_right="0.25em"),
                    "First proven by ",
                    rx.el.span(card["first_by"], white_space="nowrap"),
                    " in block ",
                    card["first_block"],
                    size="1",
                    color=rx.color("amber", 11),
                    class_name="first-proof-note",
                    title=card["first_note"],
                ),
            ),
            width="100%",
        ),
        href=card["link"],
        underline="none",
        color="inherit",
        class_name="media-card",
        data_media_id=card["id"],
        data_kind=card["kind"],
        min_width="0",
    )


def _date_heading(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    """A timeline heading across the whole row of the grid (webapp.timeline)."""
    return rx.heading(
        row["heading"],
        as_="h2",
        size="3",
        grid_column="1 / -1",
        padding_top="0.5em",
        color=rx.color("gray", 11),
        class_name="date-heading",
        data_zone=row["zone"],  # the time zone whose days it counts (the viewer's, else UTC)
    )


def _cell(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.cond(row["heading"] != "", _date_heading(row), media_card(row))


def media_grid(cards: rx.Var, **props) -> rx.Component:
    """The cards, with the date headings webapp.timeline put between them (if any)."""
    return rx.grid(
        rx.foreach(cards, _cell),
        columns=rx.breakpoints(initial="2", sm="3", md="4"),
        spacing="3",
        width="100%",
        **props,
    )


def loading_grid(**props) -> rx.Component:
    """Placeholders in the grid's shape while the first answer is on its way."""
    return rx.grid(
        *(rx.skeleton(rx.box(aspect_ratio="4 / 3", width="100%"), loading=True) for _ in range(8)),
        columns=rx.breakpoints(initial="2", sm="3", md="4"),
        spacing="3",
        width="100%",
        **props,
    )


def error_callout(message: rx.Var | str, retry, **props) -> rx.Component:
    return rx.callout(
        rx.hstack(
            rx.text(message),
            rx.button("Try again", on_click=retry, size="1", variant="soft"),
            spacing="3",
            align="center",
            flex_wrap="wrap",
        ),
        icon="triangle-alert",
        color_scheme="red",
        width="100%",
        **props,
    )
