"""/u/<address> (route /u/[wallet]): one wallet's media and follows, from the indexer, with a Follow button
(pages/profile_social.py); for the signed-in wallet also its deposit, read on chain.

/profile sends a signed-in user to their own /u/<address>.
"""

from __future__ import annotations

import time
from typing import Any

import reflex as rx
from eth_utils import is_address, to_checksum_address

from mediaproof.errors import DeploymentError, InputError, MediaproofError, NotRegistered
from webapp import services
from webapp.app_settings import app_settings
from webapp.avatar import avatar_url
from webapp.components.copyable import copyable
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout, loading_grid, media_grid
from webapp.deployment import load_chain_config
from webapp.media_rows import ether, media_card, short_address, time_utc
from webapp.pages.profile_social import follow_bar
from webapp.state import AuthState, ViewerZoneState, ask_viewer_zone, js_call
from webapp.timeline import undated, viewer_zone, with_date_headings


class ProfileState(rx.State):
    address: str = ""
    name: str = ""  # the short address: what the page calls this person
    avatar: str = ""  # drawn from the address (webapp.avatar), a data: URL
    # "loading" | "found" | "unregistered" | "bad_address" | "error"
    status: str = "loading"
    error: str = ""
    cards: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    media_count: int = 0
    joined: str = ""
    user_contract: str = ""
    # "" until read; the chain's answer, read through the browser's wallet
    deposit: str = ""
    deposit_error: str = ""

    @rx.event
    async def load(self):
        raw = str(self.router.page.params.get("wallet") or "")
        self.cards, self.error, self.deposit, self.deposit_error = [], "", "", ""
        if not is_address(raw):
            self.address, self.status, self.name, self.avatar = raw, "bad_address", "", ""
            return
        self.address, self.status = to_checksum_address(raw), "loading"
        self.name, self.avatar = short_address(self.address), avatar_url(self.address)
        self.media_count, self.joined = 0, ""
        yield ask_viewer_zone(ProfileState.zone_reported)
        settings = app_settings()
        try:
            profile = await services.user(settings, self.address)
        except NotRegistered:
            self.status = "unregistered"
        except MediaproofError as exc:
            self.status, self.error = "error", f"This profile could not be loaded: {exc}"
            return
        else:
            base = services.download_base(settings)
            now = int(time.time())
            # newest first, under date headings by the viewer's days
            zone = viewer_zone((await self.get_state(ViewerZoneState)).zone)
            self.cards = with_date_headings(
                [media_card(row, services.known_links.short_id(row), base, now) for row in profile["media"]], now, zone
            )
            self.media_count = int(profile.get("media_count") or 0)
            self.joined = time_utc(profile.get("time"))
            self.user_contract = str(profile.get("user_contract") or "")
            self.status = "found"
        auth = await self.get_state(AuthState)
        if auth.signed_in and auth.address.lower() == self.address.lower():
            try:
                config = load_chain_config()
                calldata = config.deposit_of_calldata(self.address)
            except (DeploymentError, InputError) as exc:
                self.deposit_error = str(exc)
                return
            yield rx.call_script(
                js_call("ethCall", config.media_app, calldata, config.chain_id_hex, config.rpc_url, self.address),
                callback=ProfileState.deposit_answered,
            )

    @rx.event
    async def zone_reported(self, name: str):
        zone = (await self.get_state(ViewerZoneState))._reported(name)
        if zone is not None and self.status == "found":
            self.cards = with_date_headings(undated(self.cards), int(time.time()), zone)

    @rx.event
    def deposit_answered(self, answer: dict[str, Any]):
        if answer.get("tag") != self.address:
            return
        if answer.get("error"):
            self.deposit_error = f"The chain could not be asked for your deposit: {answer.get('message')}"
            return
        try:
            self.deposit = ether(int(str(answer.get("result") or "0x0"), 16))
        except ValueError:
            self.deposit_error = f"MediaApp answered depositOf with {answer.get('result')!r}"


class OwnProfileState(rx.State):
    @rx.event
    async def go_to_own(self):
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            return rx.redirect(f"/u/{auth.address}")


def _deposit_panel() -> rx.Component:
    return rx.cond(
        AuthState.signed_in & (AuthState.address.lower() == ProfileState.address.lower()),
        rx.card(
            rx.hstack(
                rx.icon("piggy-bank", size=20),
                rx.text("Your deposit (pays for your registrations): ", weight="medium"),
                rx.cond(
                    ProfileState.deposit != "",
                    rx.text(ProfileState.deposit, id="profile-deposit", weight="bold"),
                    rx.cond(
                        ProfileState.deposit_error != "",
                        rx.text(ProfileState.deposit_error, color=rx.color("red", 11), id="profile-deposit-error"),
                        rx.spinner(size="2"),
                    ),
                ),
                rx.text("· read from MediaApp on chain", size="1", color=rx.color("gray", 11)),
                align="center",
                flex_wrap="wrap",
                spacing="2",
            ),
            width="100%",
        ),
    )


def _person() -> rx.Component:
    """Who this is, as a person's page opens: their picture, their name (the short address), the full address to copy,
    and their counts (media beside the follows of pages/profile_social.py)."""
    return rx.hstack(
        rx.cond(
            ProfileState.avatar != "",
            rx.image(
                src=ProfileState.avatar,
                alt="",  # drawn from the address beside it: says nothing more to a screen reader
                width="4.5em",
                height="4.5em",
                border_radius="50%",
                flex_shrink="0",
                id="profile-avatar",
            ),
        ),
        rx.vstack(
            rx.heading(rx.cond(ProfileState.name != "", ProfileState.name, "Profile"), size="7", id="profile-name"),
            rx.text(
                # A link that is not an address is said back as text, never made into an explorer link.
                rx.cond(
                    ProfileState.name != "", copyable(ProfileState.address, "address"), rx.code(ProfileState.address)
                ),
                size="1",
                id="profile-address",
            ),
            rx.cond(
                ProfileState.joined != "",
                rx.text("Joined ", ProfileState.joined, size="1", color=rx.color("gray", 10), id="profile-summary"),
            ),
            spacing="1",
            min_width="0",
        ),
        spacing="4",
        align="center",
        width="100%",
    )


def _media_count() -> rx.Component:
    return rx.text(
        rx.el.strong(ProfileState.media_count, id="profile-media-count", data_count=ProfileState.media_count),
        rx.cond(ProfileState.media_count == 1, " post", " posts"),
        color=rx.color("gray", 11),
    )


def profile_page() -> rx.Component:
    return page_shell(
        None,
        _person(),
        rx.match(
            ProfileState.status,
            ("loading", loading_grid(id="profile-loading")),
            (
                "bad_address",
                empty_state(
                    "user-x",
                    "Not an address",
                    "Profile links look like /u/0x followed by 40 hex digits.",
                    id="profile-bad-address",
                ),
            ),
            ("error", error_callout(ProfileState.error, ProfileState.load, id="profile-error")),
            (
                "unregistered",
                rx.vstack(
                    follow_bar(_media_count()),
                    _deposit_panel(),
                    empty_state(
                        "user",
                        "No Mediaproof account yet",
                        "This wallet has not registered with Mediaproof, so it has no media.",
                        id="profile-unregistered",
                    ),
                    width="100%",
                ),
            ),
            rx.vstack(
                follow_bar(_media_count()),
                _deposit_panel(),
                rx.cond(
                    ProfileState.cards.length() > 0,
                    media_grid(ProfileState.cards, id="profile-grid"),
                    empty_state("images", "No media yet", "Nothing registered by this wallet yet.", id="profile-empty"),
                ),
                width="100%",
                spacing="3",
            ),
        ),
    )


def own_profile_page() -> rx.Component:
    return page_shell(
        "Profile",
        rx.cond(
            AuthState.signed_in,
            rx.link(rx.button("Open your profile"), href="/u/" + AuthState.address, id="own-profile-link"),
            empty_state(
                "user",
                "Not signed in",
                "Sign in with your wallet (top right) to see your profile.",
                id="profile-signed-out",
            ),
        ),
    )
