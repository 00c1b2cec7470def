"""/ : the feed — everything registered, newest first, from the indexer's /recent, a page at a time."""

from __future__ import annotations

import time

import reflex as rx

from mediaproof.errors import MediaproofError
from mediaproof.settings import Settings
from webapp import services
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout, loading_grid, media_grid
from webapp.media_rows import media_card

PAGE_SIZE = 24


class FeedState(rx.State):
    cards: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: bool = False
    loaded: bool = False
    error: str = ""
    has_more: bool = False

    @rx.event
    async def load(self):
        self.cards, self.loaded = [], False
        await self._fetch()

    @rx.event
    async def load_more(self):
        await self._fetch()

    async def _fetch(self) -> None:
        settings = Settings()
        self.loading, self.error = True, ""
        try:
            rows = await services.recent(settings, PAGE_SIZE + 1, len(self.cards))
        except MediaproofError as exc:
            self.error = f"The feed could not be loaded: {exc}"
            return
        finally:
            self.loading = False
        base = services.download_base(settings)
        self.has_more = len(rows) > PAGE_SIZE
        self.cards = self.cards + [
            media_card(row, services.known_links.short_id(row), base, int(time.time())) for row in rows[:PAGE_SIZE]
        ]
        self.loaded = True


def feed_page() -> rx.Component:
    return page_shell(
        "Feed",
        rx.cond(FeedState.error != "", error_callout(FeedState.error, FeedState.load, id="feed-error")),
        rx.cond(
            FeedState.loaded,
            rx.cond(
                FeedState.cards.length() > 0,
                rx.vstack(
                    media_grid(FeedState.cards, id="feed-grid"),
                    rx.cond(
                        FeedState.has_more,
                        rx.button(
                            "Load more",
                            on_click=FeedState.load_more,
                            loading=FeedState.loading,
                            variant="soft",
                            id="feed-more",
                        ),
                    ),
                    align="center",
                    width="100%",
                    spacing="4",
                ),
                empty_state(
                    "layout-grid",
                    "Nothing registered yet",
                    "Photos and videos appear here, newest first, as soon as they are registered on chain.",
                    rx.link(rx.button("Upload the first one"), href="/upload"),
                    id="empty-feed",
                ),
            ),
            rx.cond(FeedState.error == "", loading_grid(id="feed-loading")),
        ),
    )
