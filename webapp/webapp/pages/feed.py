"""/ : the feed, a page at a time. "Explore": everything registered, newest first (the indexer's /recent).
"Following": media of the wallets the connected wallet follows (/feed?viewer=…), by relevancy or newest first."""

from __future__ import annotations

import time
from typing import Any

import reflex as rx

from mediaproof.errors import MediaproofError
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout, loading_grid, media_grid
from webapp.media_rows import media_card
from webapp.state import AuthState, ViewerZoneState, ask_viewer_zone
from webapp.timeline import viewer_zone, with_date_headings

PAGE_SIZE = 24


class FeedState(rx.State):
    cards: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    # what the grid draws: the cards under date headings, when they come newest first (not by relevance)
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: bool = False
    loaded: bool = False
    error: str = ""
    has_more: bool = False
    tab: str = "explore"  # "explore" | "following"
    order: str = "relevant"  # the Following feed's: "relevant" | "latest"
    needs_wallet: bool = False

    @rx.event
    async def load(self):
        yield ask_viewer_zone(FeedState.zone_reported)
        await self._first_page()

    @rx.event
    async def zone_reported(self, name: str):
        zone = (await self.get_state(ViewerZoneState))._reported(name)
        if zone is not None and self._dated():
            self.rows = with_date_headings(self.cards, int(time.time()), zone)

    def _dated(self) -> bool:
        """Whether the grid comes newest first under date headings (not by relevance)."""
        return self.tab == "explore" or self.order == "latest"

    async def _first_page(self) -> None:
        self.cards, self.rows, self.loaded, self.needs_wallet = [], [], False, False
        await self._fetch()

    @rx.event
    async def show(self, tab: str):
        if tab in ("explore", "following"):
            self.tab = tab
            await self._first_page()

    @rx.event
    async def reorder(self, order: str):
        if order in ("relevant", "latest"):
            self.order = order
            await self._first_page()

    @rx.event
    async def load_more(self):
        await self._fetch()

    async def _fetch(self) -> None:
        settings = app_settings()
        self.loading, self.error = True, ""
        try:
            if self.tab == "following":
                auth = await self.get_state(AuthState)
                if not auth.signed_in:
                    self.needs_wallet, self.loaded = True, True
                    return
                rows = await services.feed(settings, auth.address, self.order, PAGE_SIZE + 1, len(self.cards))
            else:
                rows = await services.recent(settings, PAGE_SIZE + 1, len(self.cards))
        except MediaproofError as exc:
            self.error = f"The feed could not be loaded: {exc}"
            return
        finally:
            self.loading = False
        base = services.download_base(settings)
        now = int(time.time())
        self.has_more = len(rows) > PAGE_SIZE
        self.cards = self.cards + [
            media_card(row, services.known_links.short_id(row), base, now) for row in rows[:PAGE_SIZE]
        ]
        zone = viewer_zone((await self.get_state(ViewerZoneState)).zone)
        self.rows = with_date_headings(self.cards, now, zone) if self._dated() else self.cards
        self.loaded = True


def _choice(label: str, chosen: rx.Var | bool, on_click: Any, element_id: str) -> rx.Component:
    return rx.button(
        label,
        on_click=on_click,
        variant=rx.cond(chosen, "solid", "soft"),
        aria_pressed=rx.cond(chosen, "true", "false"),
        size="2",
        id=element_id,
    )


def _tabs() -> rx.Component:
    show: Any = FeedState.show  # an event handler given its argument (Reflex's types do not say it is callable)
    reorder: Any = FeedState.reorder
    return rx.hstack(
        _choice("Explore", FeedState.tab == "explore", show("explore"), "feed-tab-explore"),
        _choice("Following", FeedState.tab == "following", show("following"), "feed-tab-following"),
        rx.cond(
            FeedState.tab == "following",
            rx.hstack(
                rx.text("Order:", size="2", color=rx.color("gray", 11)),
                _choice("Relevant", FeedState.order == "relevant", reorder("relevant"), "feed-order-relevant"),
                _choice("Latest", FeedState.order == "latest", reorder("latest"), "feed-order-latest"),
                spacing="2",
                align="center",
                margin_left="auto",
            ),
        ),
        spacing="2",
        align="center",
        width="100%",
        flex_wrap="wrap",
    )


def _following_empty() -> rx.Component:
    return rx.cond(
        FeedState.needs_wallet,
        empty_state(
            "wallet",
            "Connect your wallet",
            "Sign in with your wallet (top right) to see the media of the wallets you follow.",
            id="feed-needs-wallet",
        ),
        empty_state(
            "users",
            "Nothing from the wallets you follow",
            "Follow wallets from their profiles: their photos and videos appear here.",
            id="empty-following",
        ),
    )


def feed_page() -> rx.Component:
    return page_shell(
        "Feed",
        _tabs(),
        rx.cond(FeedState.error != "", error_callout(FeedState.error, FeedState.load, id="feed-error")),
        rx.cond(
            FeedState.loaded,
            rx.cond(
                FeedState.cards.length() > 0,
                rx.vstack(
                    media_grid(FeedState.rows, id="feed-grid"),
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
                rx.cond(
                    FeedState.tab == "following",
                    _following_empty(),
                    empty_state(
                        "layout-grid",
                        "Nothing registered yet",
                        "Photos and videos appear here, newest first, as soon as they are registered on chain.",
                        rx.link(rx.button("Upload the first one"), href="/upload"),
                        id="empty-feed",
                    ),
                ),
            ),
            rx.cond(FeedState.error == "", loading_grid(id="feed-loading")),
        ),
    )
