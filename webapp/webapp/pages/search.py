"""/search: titles matching what is typed, answered by the indexer while the user types."""

from __future__ import annotations

import time

import reflex as rx

from mediaproof.errors import MediaproofError
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout, media_grid
from webapp.media_rows import media_card


class SearchState(rx.State):
    query: str = ""
    # the query the shown results answer, so a slow answer to an older query never replaces a newer one
    answered: str = ""
    cards: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    searching: bool = False
    error: str = ""

    @rx.event
    async def type_query(self, query: str):
        self.query = query
        yield
        await self._search()

    @rx.event
    async def retry(self):
        await self._search()

    async def _search(self) -> None:
        query = self.query.strip()
        if not query:
            self.cards, self.answered, self.error = [], "", ""
            return
        settings = app_settings()
        self.searching, self.error = True, ""
        try:
            rows = await services.search(settings, query)
        except MediaproofError as exc:
            self.error = f"Search failed: {exc}"
            return
        finally:
            self.searching = False
        if query != self.query.strip():
            return
        base = services.download_base(settings)
        self.cards = [media_card(row, services.known_links.short_id(row), base, int(time.time())) for row in rows]
        self.answered = query


def search_page() -> rx.Component:
    return page_shell(
        "Search",
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            rx.input.slot(rx.cond(SearchState.searching, rx.spinner(size="1"))),
            placeholder="Search titles…",
            default_value=SearchState.query,
            on_change=SearchState.type_query.debounce(250),  # type: ignore[attr-defined]
            size="3",
            width="100%",
            id="search-input",
            auto_focus=True,
        ),
        rx.cond(SearchState.error != "", error_callout(SearchState.error, SearchState.retry, id="search-error")),
        rx.cond(
            SearchState.answered == "",
            empty_state(
                "search",
                "Search by title",
                "Type a few letters: results appear as you type. The last word may be the start of a word.",
                id="search-hint",
            ),
            rx.cond(
                SearchState.cards.length() > 0,
                rx.vstack(
                    rx.text(
                        SearchState.cards.length(),
                        " results for “",
                        SearchState.answered,
                        "”",
                        size="2",
                        color=rx.color("gray", 11),
                        id="search-count",
                    ),
                    media_grid(SearchState.cards, id="search-results"),
                    width="100%",
                ),
                empty_state(
                    "search-x",
                    "No matches",
                    "Nothing registered has a title with those words. Try fewer or shorter words.",
                    id="search-empty",
                ),
            ),
        ),
    )
