"""What the project page changes on chain, each sent by the wallet itself (EIP-1193 eth_sendTransaction) to
ProjectRegistry: restore a version (a new commit naming that version's manifest, compare-and-swap from the version
the page shows), share with a wallet (grant read or write) and unshare (revoke).

The backend builds every transaction (webapp.project_calls) and checks what it can first, so a bad address or a
visitor who may not write gets a sentence before any wallet prompt; the chain checks again when it runs the call.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from mediaproof.errors import DeploymentError, InputError, MediaproofError
from webapp import services
from webapp.app_settings import app_settings
from webapp.deployment import project_registry_address
from webapp.media_rows import short_address
from webapp.pages.project_file_list import ProjectFilesState
from webapp.pages.project_state import ProjectState, fingerprint
from webapp.project_calls import (
    ROLES,
    commit_data,
    decode_uint,
    grant_data,
    grantee_address,
    revoke_data,
    transaction,
    version_of_data,
)
from webapp.state import AuthState, js_call

SEND_TIMEOUT_MS = 120_000
# After a write the indexer catches up within a few blocks; the page waits this long for it before reloading anyway.
INDEXER_WAIT_SECONDS = 20.0


async def stale_sentence(project_id: str, expected: int) -> str:
    """Why a commit from `expected` reverted, if it was stale: someone committed first. "" otherwise."""
    try:
        answer = await services.chain_call(app_settings(), project_registry_address(), version_of_data(project_id))
        current = decode_uint(answer)
    except MediaproofError:
        return ""
    if current == expected:
        return ""
    return f"Version {current} was committed since this page showed version {expected}."


class ProjectWritesState(rx.State):
    # "" | "restore" | "share" | "unshare": the transaction waiting for the wallet
    busy: str = ""
    notice: str = ""
    problem: str = ""
    share_address: str = ""
    share_role: str = "read"
    # The change the wallet was asked to send, for the sentence once it answers (restore: version and expected;
    # share/unshare: grantee and role).
    _pending_version: int = 0
    _pending_expected: int = 0
    _pending_grantee: str = ""
    _pending_role: str = ""

    @rx.event
    def clear(self):
        """On every project page load: the last project's sentences must not show on another's page."""
        if not self.busy:
            self.notice, self.problem, self.share_address, self.share_role = "", "", "", "read"

    @rx.event
    def set_share_address(self, value: str):
        self.share_address = value

    @rx.event
    def set_share_role(self, value: str):
        self.share_role = value

    async def _ask_wallet(self, kind: str, data: str, pending: dict[str, Any], callback: Any):
        """Has the wallet send `data` to ProjectRegistry; `callback` gets its answer, `pending` what was asked."""
        auth = await self.get_state(AuthState)
        try:
            registry = project_registry_address()
        except DeploymentError as exc:
            self.problem = str(exc)
            return None
        self.busy = kind
        self._pending_version, self._pending_expected = pending.get("version", 0), pending.get("expected", 0)
        self._pending_grantee, self._pending_role = pending.get("grantee", ""), pending.get("role", "")
        return rx.call_script(
            js_call("sendTransaction", transaction(auth.address, registry, data), SEND_TIMEOUT_MS), callback=callback
        )

    async def _writer(self, owner_only: bool) -> tuple[AuthState, ProjectState] | None:
        """The signed-in wallet and the project, if it may make this change; a sentence in `problem` otherwise."""
        self.notice, self.problem = "", ""
        auth = await self.get_state(AuthState)
        project = await self.get_state(ProjectState)
        if self.busy:
            self.problem = "Your wallet is still asked to confirm the last change: confirm or decline it first."
        elif not auth.signed_in:
            self.problem = "Sign in with your wallet first (top right)."
        elif project.status != "found":
            self.problem = "The project is not loaded: reload the page."
        elif owner_only and not project.is_owner:
            self.problem = "Only the project's owner can share it or stop sharing it."
        elif not project.can_write:
            self.problem = "Only the owner and wallets it gave write access can restore a version."
        else:
            return auth, project
        return None

    # --- restore ---

    @rx.event
    async def restore(self, version: str):
        allowed = await self._writer(owner_only=False)
        if allowed is None:
            return None
        _, project = allowed
        row = next((v for v in project.versions if v["version"] == str(version)), None)
        if row is None:
            self.problem = f"Version {version} is not in this page's history: reload the page."
            return None
        if int(version) == project.version:
            self.problem = f"Version {version} is the head already: nothing to restore."
            return None
        try:
            data = commit_data(project.project_id, project.version, row["manifest_sha256"], row["manifest_cid"])
        except InputError as exc:
            self.problem = str(exc)
            return None
        pending = {"version": int(version), "expected": project.version}
        return await self._ask_wallet("restore", data, pending, ProjectWritesState.restored)

    @rx.event
    async def restored(self, answer: dict[str, Any]):
        pending, self.busy = {"version": self._pending_version, "expected": self._pending_expected}, ""
        if answer.get("error") == "refused":
            self.problem = "You declined the transaction: nothing was restored."
            return None
        if answer.get("error") or answer.get("status") != 1:
            return await self._explain_failed_commit(pending, answer)
        self.notice = (
            f"Version {pending['version']} restored: it is version {pending['expected'] + 1} now "
            f"(transaction {answer.get('hash')})."
        )
        return ProjectWritesState.reload_when_indexed

    async def _explain_failed_commit(self, pending: dict[str, Any], answer: dict[str, Any]):
        """A commit that reverted: stale (someone committed first, so the page reloads) or refused for another
        reason (its sentence)."""
        project = await self.get_state(ProjectState)
        sentence = await stale_sentence(project.project_id, pending["expected"])
        if sentence:
            self.problem = (
                f"{sentence} Version {pending['version']} was not restored; the page now shows the "
                "latest: restore again if you still want it."
            )
            return [ProjectState.load, ProjectFilesState.load]
        self.problem = f"The restore failed: {answer.get('message') or 'the transaction reverted'}."
        return None

    # --- share and unshare ---

    @rx.event
    async def share(self):
        allowed = await self._writer(owner_only=True)
        if allowed is None:
            return None
        _, project = allowed
        try:
            grantee = grantee_address(self.share_address, project.owner)
            if self.share_role not in ROLES:
                raise InputError(f"The role must be read or write, not {self.share_role!r}.")
            data = grant_data(project.project_id, grantee, self.share_role)
        except InputError as exc:
            self.problem = str(exc)
            return None
        pending = {"grantee": grantee, "role": self.share_role}
        return await self._ask_wallet("share", data, pending, ProjectWritesState.shared)

    @rx.event
    async def unshare(self, grantee: str):
        allowed = await self._writer(owner_only=True)
        if allowed is None:
            return None
        _, project = allowed
        try:
            address = grantee_address(grantee, project.owner)
        except InputError as exc:
            self.problem = str(exc)
            return None
        pending = {"grantee": address, "role": ""}
        return await self._ask_wallet(
            "unshare", revoke_data(project.project_id, address), pending, ProjectWritesState.shared
        )

    @rx.event
    def shared(self, answer: dict[str, Any]):
        kind, self.busy = self.busy, ""
        who = short_address(self._pending_grantee)
        if answer.get("error") == "refused":
            self.problem = "You declined the transaction: nothing changed."
            return None
        if answer.get("error") or answer.get("status") != 1:
            self.problem = f"The change failed: {answer.get('message') or 'the transaction reverted'}."
            return None
        if kind == "share":
            self.notice = f"Shared with {who} ({self._pending_role}) in transaction {answer.get('hash')}."
            self.share_address = ""
        else:
            self.notice = f"{who} no longer has access (transaction {answer.get('hash')})."
        return ProjectWritesState.reload_when_indexed

    @rx.event(background=True)
    async def reload_when_indexed(self):
        """Reload once the indexer has seen the write (its version or grants moved), or after waiting long enough."""
        async with self:
            project = await self.get_state(ProjectState)
            project_id, seen = project.project_id, project.seen
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INDEXER_WAIT_SECONDS
        while loop.time() < deadline:
            try:
                if fingerprint(await services.project(app_settings(), project_id)) != seen:
                    break
            except MediaproofError:
                pass
            await asyncio.sleep(0.5)
        return [ProjectState.load, ProjectFilesState.load]


def restore_button(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    """On every version but the head, for the owner and write grantees."""
    return rx.cond(
        ProjectState.can_write & (row["version"] != ProjectState.head_version),
        rx.button(
            "Restore this version",
            on_click=ProjectWritesState.restore(row["version"]),  # type: ignore[operator]
            loading=ProjectWritesState.busy == "restore",
            size="1",
            variant="soft",
            class_name="project-restore",
        ),
    )


def unshare_button(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.cond(
        ProjectState.is_owner,
        rx.button(
            "Unshare",
            on_click=ProjectWritesState.unshare(row["grantee"]),  # type: ignore[operator]
            loading=ProjectWritesState.busy == "unshare",
            size="1",
            variant="ghost",
            color_scheme="red",
            class_name="project-unshare",
        ),
    )


def share_form() -> rx.Component:
    """The owner's form: a wallet address and a role."""
    return rx.cond(
        ProjectState.is_owner,
        rx.hstack(
            rx.input(
                value=ProjectWritesState.share_address,
                on_change=ProjectWritesState.set_share_address,
                placeholder="Wallet address (0x…)",
                max_length=100,
                id="share-address",
                width="28em",
            ),
            rx.el.select(
                rx.el.option("can read", value="read"),
                rx.el.option("can commit", value="write"),
                value=ProjectWritesState.share_role,
                on_change=ProjectWritesState.set_share_role,
                id="share-role",
            ),
            rx.button(
                "Share",
                on_click=ProjectWritesState.share,
                loading=ProjectWritesState.busy == "share",
                id="share-submit",
            ),
            flex_wrap="wrap",
            align="center",
            spacing="2",
        ),
    )


def write_messages() -> rx.Component:
    """What the last change did, or why it was not made."""
    return rx.fragment(
        rx.cond(
            ProjectWritesState.notice != "",
            rx.callout(ProjectWritesState.notice, icon="check", color_scheme="green", id="project-notice"),
        ),
        rx.cond(
            ProjectWritesState.problem != "",
            rx.callout(ProjectWritesState.problem, icon="triangle-alert", color_scheme="red", id="project-problem"),
        ),
    )
