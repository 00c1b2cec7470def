"""The state of a media's likes and comments on its page (drawn by pages/media_social_view.py): the counts, the
comments (newest first), the viewer's draft and edits. The page's load (MediaState.load) reads them with the record
and sets them in the same state delta. Each like, comment, edit or delete is an action the connected
wallet signs (action_flow); after the upload service accepts it the page says "pending anchoring" and watches the
indexer until it shows it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError, MediaproofError
from webapp import action_flow, services
from webapp.app_settings import app_settings
from webapp.social_rows import comment_action, comment_bytes_left, comment_row, comments_in, count_of, like_action
from webapp.state import AuthState

COMMENTS_PAGE = 50


async def _read(
    media_id: str, viewer: str, detail: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The media's counts, whether the viewer likes it, and its newest comments, as the indexer has them now."""
    settings = app_settings()
    detail = detail or await services.media(settings, media_id, viewer)
    return detail, await services.comments(settings, media_id, COMMENTS_PAGE)


class MediaSocialState(rx.State):
    media_id: str = ""
    likes: int = 0
    comment_count: int = 0
    liked: bool = False  # whether the viewer likes it: the indexer's answer, or what they just signed until indexed
    comments: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    error: str = ""  # reading them failed
    draft: str = ""
    editing: str = ""  # the id of the viewer's comment being edited
    edit_draft: str = ""
    # "" | "signing" | "sending" | "pending": where the viewer's last action is; `doing` says which
    phase: str = ""
    doing: str = ""  # "like" | "comment" | "edit" | "delete"
    message: str = ""
    action_error: str = ""

    _key: str = ""
    _typed: str = ""
    _target: str = ""  # the comment id an edit or delete names; after sending, the new comment's id
    _text: str = ""
    _want_liked: bool = False
    _indexed_liked: bool = False

    @rx.var
    def bytes_left(self) -> int:
        return comment_bytes_left(self.draft)

    def clear(self, key: str) -> None:
        """Forgets another media's likes and comments (MediaState.load, as the page opens `key`); the empty first
        state is left alone, so opening a page sends no delta of defaults."""
        self._key = key
        if self.media_id or self.comments or self.error or self.draft or self.editing or self.phase:
            self.media_id, self.comments, self.error, self.draft, self.editing = "", [], "", "", ""
            self.phase, self.doing, self.message, self.action_error, self.liked = "", "", "", "", False

    def show(self, key: str, media_id: str, detail: dict[str, Any], body: dict[str, Any], viewer: str) -> None:
        """The media's counts, the viewer's like and its newest comments as MediaState.load read them with the
        record (`detail`, asked with the viewer), unless another media page was opened meanwhile."""
        if self._key == key:
            self.media_id = media_id
            self._apply(detail, body, viewer)

    def failed(self, key: str, error: str) -> None:
        if self._key == key:
            self.error = error

    async def _viewer(self) -> str:
        auth = await self.get_state(AuthState)
        return auth.address if auth.signed_in else ""

    def _apply(self, detail: dict[str, Any], body: dict[str, Any], viewer: str) -> None:
        now = action_flow.now()
        self.likes = count_of(detail, "likes")
        self._indexed_liked = detail.get("liked") is True
        if not (self.doing == "like" and self.phase):  # a like being signed or anchored shows what was signed
            self.liked = self._indexed_liked
        self.comments = [comment_row(c, now, viewer) for c in comments_in(body)]
        self.comment_count = count_of(body, "count")
        self.error = ""

    @rx.event
    async def load_older(self):
        """The next page of older comments, after those shown."""
        try:
            body = await services.comments(app_settings(), self.media_id, COMMENTS_PAGE, len(self.comments))
        except MediaproofError as exc:
            self.error = f"Older comments could not be read: {exc}"
            return
        now, viewer = action_flow.now(), await self._viewer()
        shown = {c["id"] for c in self.comments}
        older = [comment_row(c, now, viewer) for c in comments_in(body)]
        self.comments = self.comments + [c for c in older if c["id"] not in shown]

    @rx.event
    def set_draft(self, text: str):
        self.draft = text

    @rx.event
    def set_edit_draft(self, text: str):
        self.edit_draft = text

    @rx.event
    def start_edit(self, comment_id: str, text: str):
        self.editing, self.edit_draft, self.action_error = comment_id, text, ""

    @rx.event
    def cancel_edit(self):
        self.editing, self.edit_draft = "", ""

    async def _begin(self, doing: str, build) -> Any:
        """Builds the action with the viewer as author and asks the wallet to sign it; a refusal is said here."""
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            self.action_error = action_flow.NEEDS_WALLET
            return None
        if self.phase or not self.media_id:
            return None
        self.action_error, self.message = "", ""
        try:
            action = build(auth.address)
            self._typed, script = action_flow.sign_request(auth.address, action, MediaSocialState.signed)
        except (InputError, DeploymentError) as exc:
            self.action_error = f"Not sent: {exc}"
            return None
        self.phase, self.doing = "signing", doing
        return script

    @rx.event
    async def toggle_like(self):
        want = self._want_liked = not self.liked
        return await self._begin(
            "like", lambda me: like_action(me, self.media_id, want, action_flow.now(), action_flow.nonce())
        )

    @rx.event
    async def post_comment(self):
        self._text, self._target = self.draft, ""
        return await self._begin(
            "comment", lambda me: comment_action(me, self.media_id, self._text, action_flow.now(), action_flow.nonce())
        )

    @rx.event
    async def save_edit(self):
        self._text, self._target = self.edit_draft, self.editing
        return await self._begin(
            "edit",
            lambda me: comment_action(
                me, self.media_id, self._text, action_flow.now(), action_flow.nonce(), replaces=self._target
            ),
        )

    @rx.event
    async def delete_comment(self, comment_id: str):
        self._text, self._target = "", comment_id
        return await self._begin(
            "delete",
            lambda me: comment_action(
                me, self.media_id, "", action_flow.now(), action_flow.nonce(), replaces=comment_id, deleted=True
            ),
        )

    @rx.event
    async def signed(self, answer: dict[str, Any]):
        if refusal := action_flow.wallet_refusal(answer):
            self.phase, self.action_error = "", refusal
            return
        self.phase = "sending"
        yield
        try:
            accepted = await action_flow.send(
                self._typed, str(answer["signature"]), str(self.router.session.client_ip or "")
            )
        except MediaproofError as exc:
            self.phase, self.action_error = "", action_flow.problem(exc)
            return
        if self.doing == "comment":
            self._target, self.draft = str(accepted.get("action_id") or ""), ""
        if self.doing == "edit":
            self.editing = ""
        if self.doing == "like":
            self.liked = not self.liked
        self.phase, self.message = "pending", action_flow.PENDING
        yield MediaSocialState.watch

    def _shown(self) -> bool:
        """Whether the indexer's answer (already in this state) shows the pending action."""
        found = {c["id"].lower(): c for c in self.comments}
        target = found.get(self._target.lower())
        if self.doing == "like":
            return self._indexed_liked == self._want_liked
        if self.doing == "comment":
            return target is not None
        if self.doing == "edit":
            return target is not None and target["raw_text"] == self._text
        return target is None  # delete

    @rx.event(background=True)
    async def watch(self):
        async with self:
            media_id, viewer = self.media_id, await self._viewer()
        deadline = asyncio.get_running_loop().time() + action_flow.INDEX_WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(action_flow.INDEX_POLL_SECONDS)
            try:
                detail, body = await _read(media_id, viewer)
            except MediaproofError:
                continue  # a missed poll: the next one may answer
            async with self:
                self._apply(detail, body, await self._viewer())
                if self._shown():
                    self.phase, self.doing, self.message = "", "", ""
                    return
        async with self:
            self.phase, self.doing, self.message = "", "", action_flow.NOT_YET
