"""What the project page (/projects/<id>) shows of one project from the indexer: its head, who it is shared with,
its history, and whether the signed-in wallet may commit (asked of the chain: ProjectRegistry.canWrite)."""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import MediaproofError, NotRegistered
from mediaproof.settings import Settings
from webapp import services
from webapp.app_settings import app_settings
from webapp.deployment import project_registry_address
from webapp.project_calls import can_write_data, decode_uint
from webapp.project_rows import grant_row, is_project_id, project_card, version_row
from webapp.state import AuthState

VERSIONS_PER_PAGE = 20


def fingerprint(found: dict) -> str:
    """What a write changes of a project as the indexer tells it: its version and grants."""
    grants = sorted(f"{g.get('grantee')}:{g.get('role')}" for g in found.get("grants") or [])
    return f"{found.get('version')}|{','.join(grants)}"


class ProjectState(rx.State):
    project_id: str = ""
    # "loading" | "found" | "bad_id" | "unknown" | "error"
    status: str = "loading"
    error: str = ""
    name: str = ""
    owner: str = ""
    visibility: str = ""
    version: int = 0
    head_version: str = ""  # `version` as the history's rows spell it, to tell the head's row from the others
    head_cid: str = ""
    head_sha256: str = ""
    grants: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    versions: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    more_versions: bool = False
    # What the signed-in wallet may do here: the owner shares; the owner and write grantees restore.
    is_owner: bool = False
    can_write: bool = False
    seen: str = ""  # fingerprint() of the loaded project: a write waits for the indexer to move past it

    @rx.event
    async def load(self):
        raw = str(self.router.page.params.get("project_key") or "")
        self.error, self.grants, self.versions, self.more_versions = "", [], [], False
        self.is_owner = self.can_write = False
        if not is_project_id(raw):
            self.project_id, self.status = raw, "bad_id"
            return
        self.project_id, self.status = raw.lower(), "loading"
        yield
        settings = app_settings()
        try:
            found = await services.project(settings, self.project_id)
            versions = await services.project_versions(settings, self.project_id, VERSIONS_PER_PAGE, 0)
        except NotRegistered:
            self.status = "unknown"
            return
        except MediaproofError as exc:
            self.status, self.error = "error", f"This project could not be loaded: {exc}"
            return
        card = project_card(found)
        self.name, self.owner, self.visibility = card["name"], card["owner"], card["visibility"]
        self.version = int(found.get("version") or 0)
        self.head_version = str(self.version)
        head = found.get("head") or {}
        self.head_cid, self.head_sha256 = str(head.get("manifest_cid") or ""), str(head.get("manifest_sha256") or "")
        self.grants = [grant_row(g) for g in found.get("grants") or []]
        self.versions = [version_row(v) for v in versions]
        self.more_versions = len(versions) == VERSIONS_PER_PAGE
        self.seen = fingerprint(found)
        await self._check_rights(settings)
        self.status = "found"

    async def _check_rights(self, settings: Settings) -> None:
        """The chain's word, not the indexer's: a grant revoked a block ago must not show a restore button."""
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            return
        self.is_owner = auth.address.lower() == self.owner.lower()
        if self.is_owner:
            self.can_write = True
            return
        try:
            answer = await services.chain_call(
                settings, project_registry_address(), can_write_data(self.project_id, auth.address)
            )
            self.can_write = decode_uint(answer) == 1
        except MediaproofError:
            self.can_write = False  # no restore offered; the chain would refuse a non-writer's commit anyway

    @rx.event
    async def older(self):
        try:
            more = await services.project_versions(
                app_settings(), self.project_id, VERSIONS_PER_PAGE, len(self.versions)
            )
        except MediaproofError as exc:
            self.error = f"Older versions could not be loaded: {exc}"
            return
        self.versions = self.versions + [version_row(v) for v in more]
        self.more_versions = len(more) == VERSIONS_PER_PAGE
