"""A profile's follows: follower and following counts from the indexer, each opening its list (most recent first,
every wallet linked to its profile), and the Follow / Unfollow button that has the connected wallet sign a Follow
action (mediaproof.social), hands it to the upload service, and says "pending anchoring" until the indexer shows it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx
from eth_utils import is_address, to_checksum_address

from mediaproof.errors import DeploymentError, InputError, MediaproofError
from webapp import action_flow, services
from webapp.app_settings import app_settings
from webapp.social_rows import addresses_in, count_of, follow_action
from webapp.state import AuthState

# Whether the viewer follows this profile is read from the viewer's follows, a page (the indexer's largest) at a
# time, up to this many pages.
FOLLOWING_PAGE = 100
FOLLOWING_PAGES = 10
LIST_PAGE = 50  # wallets a followers / following list shows; "more" asks for the next page


async def _follows(viewer: str, subject: str) -> bool:
    settings = app_settings()
    for page in range(FOLLOWING_PAGES):
        body = await services.following(settings, viewer, FOLLOWING_PAGE, page * FOLLOWING_PAGE)
        found = [a.lower() for a in addresses_in(body, "results")]
        if subject.lower() in found:
            return True
        if len(found) < FOLLOWING_PAGE:
            return False
    return False


class ProfileSocialState(rx.State):
    address: str = ""
    followers: int = 0
    following: int = 0
    counts_error: str = ""
    viewer_follows: bool = False
    # "" | "signing" | "sending" | "pending": where the viewer's follow or unfollow is
    phase: str = ""
    message: str = ""
    error: str = ""
    listed: str = ""  # "" | "followers" | "following": the list open under the counts
    list_rows: rx.Field[list[str]] = rx.field(default_factory=list)
    list_more: bool = False  # the indexer may have more than shown
    list_error: str = ""

    _viewer: str = ""  # whose follows viewer_follows describes
    _typed: str = ""
    _want: bool = True

    @rx.event
    async def load(self):
        raw = str(self.router.page.params.get("wallet") or "")
        self.phase, self.message, self.error, self.counts_error = "", "", "", ""
        self.followers, self.following, self.viewer_follows, self._viewer = 0, 0, False, ""
        self.listed, self.list_rows, self.list_more, self.list_error = "", [], False, ""
        if not is_address(raw):
            self.address = ""
            return
        self.address = to_checksum_address(raw)
        await self._read_counts()
        auth = await self.get_state(AuthState)
        if auth.signed_in and auth.address.lower() != self.address.lower():
            await self._read_viewer(auth.address)

    async def _read_counts(self) -> None:
        try:
            # the answer carries both counts of the wallet it is about
            counts = await services.followers(app_settings(), self.address, 1)
        except MediaproofError as exc:
            self.counts_error = f"Follows could not be read: {exc}"
            return
        self.followers = count_of(counts, "followers")
        self.following = count_of(counts, "following")

    @rx.event
    async def show_list(self, which: str):
        """Opens the followers or following list (closes it when it is the one open)."""
        if which not in ("followers", "following") or which == self.listed or not self.address:
            self.listed, self.list_rows, self.list_more = "", [], False
            return
        self.listed, self.list_rows, self.list_more, self.list_error = which, [], False, ""
        await self._read_list()

    @rx.event
    async def more_of_list(self):
        """The next page of the open list, after the wallets shown."""
        await self._read_list()

    async def _read_list(self) -> None:
        read = services.followers if self.listed == "followers" else services.following
        try:
            body = await read(app_settings(), self.address, LIST_PAGE, len(self.list_rows))
        except MediaproofError as exc:
            self.list_error = f"The list could not be read: {exc}"
            return
        found = addresses_in(body, "results")
        self.list_rows = self.list_rows + [a for a in found if a not in self.list_rows]
        self.list_more = len(found) == LIST_PAGE

    async def _read_viewer(self, viewer: str) -> None:
        try:
            self.viewer_follows = await _follows(viewer, self.address)
            self._viewer = viewer
        except MediaproofError as exc:
            self.error = f"Whether you follow this wallet could not be read: {exc}"

    @rx.event
    async def toggle(self):
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.error = action_flow.NEEDS_WALLET
            return
        if self.phase:
            return
        self.error, self.message = "", ""
        if self._viewer.lower() != auth.address.lower():
            # Signed in after the page loaded: learn first whether this click is a follow or an unfollow.
            was = self.viewer_follows
            await self._read_viewer(auth.address)
            if self.error or was != self.viewer_follows:
                return
        self._want = not self.viewer_follows
        try:
            action = follow_action(auth.address, self.address, self._want, action_flow.now(), action_flow.nonce())
            self._typed, script = action_flow.sign_request(auth.address, action, ProfileSocialState.signed)
        except (InputError, DeploymentError) as exc:
            self.error = str(exc)
            return
        self.phase = "signing"
        return script

    @rx.event
    async def signed(self, answer: dict[str, Any]):
        if refusal := action_flow.wallet_refusal(answer):
            self.phase, self.error = "", refusal
            return
        self.phase = "sending"
        yield
        try:
            await action_flow.send(self._typed, str(answer["signature"]), str(self.router.session.client_ip or ""))
        except MediaproofError as exc:
            self.phase, self.error = "", action_flow.problem(exc)
            return
        self.phase, self.message = "pending", action_flow.PENDING
        yield ProfileSocialState.watch

    @rx.event(background=True)
    async def watch(self):
        """Polls the indexer until the viewer's follows say what was signed (or the wait is over)."""
        async with self:
            auth = await self.get_state(AuthState)
            viewer, want, subject = auth.address, self._want, self.address
        deadline = asyncio.get_running_loop().time() + action_flow.INDEX_WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(action_flow.INDEX_POLL_SECONDS)
            try:
                shown = await _follows(viewer, subject)
            except MediaproofError:
                continue
            if shown == want:
                async with self:
                    self.viewer_follows, self.phase, self.message = want, "", ""
                    await self._read_counts()
                return
        async with self:
            self.phase, self.message = "", action_flow.NOT_YET


def _count(value: rx.Var | int, label: rx.Var | str, element_id: str, which: str) -> rx.Component:
    """A count that opens its list."""
    return rx.link(
        rx.el.strong(value, id=element_id, data_count=value),
        " ",
        label,
        on_click=ProfileSocialState.show_list(which),  # type: ignore[operator]
        cursor="pointer",
        color=rx.color("gray", 11),
        id=f"{element_id}-link",
    )


def _follow_list() -> rx.Component:
    """The open list: each wallet linked to its profile, then "more" while the indexer may have more."""
    return rx.vstack(
        rx.text(rx.cond(ProfileSocialState.listed == "followers", "Followers", "Following"), weight="bold", size="2"),
        rx.cond(
            ProfileSocialState.list_rows.length() == 0,
            rx.text(
                rx.cond(ProfileSocialState.list_error != "", ProfileSocialState.list_error, "No one yet."),
                size="2",
                color=rx.color("gray", 11),
            ),
        ),
        rx.foreach(
            ProfileSocialState.list_rows,
            lambda a: rx.link(a, href="/u/" + a, class_name="follow-row", font_family="monospace", size="2"),
        ),
        rx.cond(
            ProfileSocialState.list_more,
            rx.button(
                "More", on_click=ProfileSocialState.more_of_list, variant="soft", size="1", id="follow-list-more"
            ),
        ),
        spacing="1",
        id="follow-list",
        data_list=ProfileSocialState.listed,
    )


def follow_bar(*counts: rx.Component) -> rx.Component:
    """Counts (`counts` first: the page's own, such as its media), and the button for every profile but the
    viewer's own."""
    own = AuthState.signed_in & (AuthState.address.lower() == ProfileSocialState.address.lower())
    return rx.vstack(
        rx.hstack(
            *counts,
            _count(
                ProfileSocialState.followers,
                rx.cond(ProfileSocialState.followers == 1, "follower", "followers"),
                "profile-followers",
                "followers",
            ),
            _count(ProfileSocialState.following, "following", "profile-following", "following"),
            rx.cond(
                ~own,
                rx.button(
                    rx.cond(ProfileSocialState.viewer_follows, "Unfollow", "Follow"),
                    on_click=ProfileSocialState.toggle,
                    disabled=~AuthState.signed_in | (ProfileSocialState.phase != ""),
                    loading=(ProfileSocialState.phase == "signing") | (ProfileSocialState.phase == "sending"),
                    variant=rx.cond(ProfileSocialState.viewer_follows, "soft", "solid"),
                    size="2",
                    id="follow-button",
                ),
            ),
            spacing="4",
            align="center",
            flex_wrap="wrap",
        ),
        rx.cond(ProfileSocialState.listed != "", _follow_list()),
        rx.cond(
            ~AuthState.signed_in,
            rx.text(
                "Connect your wallet (Sign in, top right) to follow this wallet.",
                size="2",
                color=rx.color("gray", 11),
                id="follow-needs-wallet",
            ),
        ),
        rx.cond(
            ProfileSocialState.phase == "pending",
            rx.hstack(rx.spinner(size="1"), rx.text(ProfileSocialState.message, size="2"), id="follow-pending"),
            rx.cond(
                ProfileSocialState.message != "",
                rx.text(ProfileSocialState.message, size="2", id="follow-message"),
            ),
        ),
        rx.cond(
            ProfileSocialState.error != "",
            rx.text(ProfileSocialState.error, size="2", color=rx.color("red", 11), id="follow-error"),
        ),
        rx.cond(
            ProfileSocialState.counts_error != "",
            rx.text(ProfileSocialState.counts_error, size="1", color=rx.color("gray", 11), id="follow-counts-error"),
        ),
        spacing="2",
        width="100%",
        id="profile-follows",
    )
