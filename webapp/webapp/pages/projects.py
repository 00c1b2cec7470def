"""/projects: the signed-in wallet's projects and those shared with it; /projects/<id> (route
/projects/[project_key]): one project's head, who it is shared with, and its history — who committed each version,
when, in which transaction. Read-only, from the indexer: restoring, sharing and uploading a folder need the upload
service's project endpoints, which this page does not reach yet.
"""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import MediaproofError, NotRegistered
from mediaproof.settings import Settings
from webapp import services
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout
from webapp.project_rows import grant_row, is_project_id, project_card, version_row
from webapp.state import AuthState

VERSIONS_PER_PAGE = 20


class ProjectsState(rx.State):
    # "signed_out" | "loading" | "found" | "error"
    status: str = "loading"
    error: str = ""
    owned: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    shared: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        self.error = ""
        if not auth.signed_in:
            self.status, self.owned, self.shared = "signed_out", [], []
            return
        self.status = "loading"
        yield
        try:
            found = await services.user_projects(Settings(), auth.address)
        except MediaproofError as exc:
            self.status, self.error = "error", f"Your projects could not be loaded: {exc}"
            return
        self.owned = [project_card(row) for row in found["owned"]]
        self.shared = [project_card(row) for row in found["shared"]]
        self.status = "found"


class ProjectState(rx.State):
    project_id: str = ""
    # "loading" | "found" | "bad_id" | "unknown" | "error"
    status: str = "loading"
    error: str = ""
    name: str = ""
    owner: str = ""
    visibility: str = ""
    version: int = 0
    head_cid: str = ""
    head_sha256: str = ""
    grants: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    versions: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    more_versions: bool = False

    @rx.event
    async def load(self):
        raw = str(self.router.page.params.get("project_key") or "")
        self.error, self.grants, self.versions, self.more_versions = "", [], [], False
        if not is_project_id(raw):
            self.project_id, self.status = raw, "bad_id"
            return
        self.project_id, self.status = raw.lower(), "loading"
        yield
        settings = Settings()
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
        head = found.get("head") or {}
        self.head_cid, self.head_sha256 = str(head.get("manifest_cid") or ""), str(head.get("manifest_sha256") or "")
        self.grants = [grant_row(g) for g in found.get("grants") or []]
        self.versions = [version_row(v) for v in versions]
        self.more_versions = len(versions) == VERSIONS_PER_PAGE
        self.status = "found"

    @rx.event
    async def older(self):
        try:
            more = await services.project_versions(Settings(), self.project_id, VERSIONS_PER_PAGE, len(self.versions))
        except MediaproofError as exc:
            self.error = f"Older versions could not be loaded: {exc}"
            return
        self.versions = self.versions + [version_row(v) for v in more]
        self.more_versions = len(more) == VERSIONS_PER_PAGE


def _project_card(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("folder", size=18),
                    rx.heading(row["name"], size="4", as_="h3", class_name="project-name"),
                    rx.badge(row["visibility"], color_scheme="gray"),
                    rx.badge(row["role"], class_name="project-role"),
                    align="center",
                    flex_wrap="wrap",
                    spacing="2",
                ),
                rx.text(
                    row["version"],
                    " · owner ",
                    row["owner_short"],
                    " · ",
                    row["updated"],
                    size="2",
                    color=rx.color("gray", 11),
                ),
                spacing="1",
            ),
            width="100%",
        ),
        href=row["link"],
        underline="none",
        color=rx.color("gray", 12),
        width="100%",
        class_name="project-card",
        data_project_id=row["id"],
    )


def _project_list(heading: str, rows: rx.Var, empty: str, **props) -> rx.Component:
    return rx.vstack(
        rx.heading(heading, size="5", as_="h2"),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(rows, _project_card), width="100%", spacing="2"),
            rx.text(empty, color=rx.color("gray", 11)),
        ),
        width="100%",
        spacing="2",
        **props,
    )


def projects_page() -> rx.Component:
    return page_shell(
        "Projects",
        rx.match(
            ProjectsState.status,
            (
                "signed_out",
                empty_state(
                    "folder",
                    "Not signed in",
                    "Sign in with your wallet (top right) to see your projects and those shared with you.",
                    rx.button("Show my projects", on_click=ProjectsState.load, variant="soft"),
                    id="projects-signed-out",
                ),
            ),
            ("loading", rx.spinner(size="3", id="projects-loading")),
            ("error", error_callout(ProjectsState.error, ProjectsState.load, id="projects-error")),
            rx.vstack(
                _project_list(
                    "Your projects",
                    ProjectsState.owned,
                    "You have no projects yet: mediaproof project create NAME makes one.",
                    id="projects-owned",
                ),
                _project_list(
                    "Shared with you",
                    ProjectsState.shared,
                    "Nobody has shared a project with you.",
                    id="projects-shared",
                ),
                rx.text(
                    "From the chain, through the indexer: names, heads and grants of private projects are public there "
                    "too; their files are not.",
                    size="1",
                    color=rx.color("gray", 10),
                ),
                width="100%",
                spacing="5",
            ),
        ),
    )


def _version_card(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Version ", row["version"], size="3", as_="h3"),
                rx.text(row["time"], size="2", color=rx.color("gray", 11)),
                align="center",
                flex_wrap="wrap",
                spacing="3",
            ),
            rx.text(
                "Committed by ",
                rx.link(row["committer_short"], href="/u/" + row["committer"], class_name="version-committer"),
                " in block ",
                row["block"],
                size="2",
            ),
            rx.text("Transaction ", rx.code(row["tx"], class_name="version-tx", word_break="break-all"), size="2"),
            rx.text("Manifest ", rx.code(row["manifest_cid"], word_break="break-all"), size="2"),
            spacing="1",
        ),
        width="100%",
        class_name="project-version",
        data_version=row["version"],
    )


def _grant(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.text(
        rx.link(row["grantee_short"], href="/u/" + row["grantee"]),
        " ",
        row["role"],
        " since ",
        row["since"],
        size="2",
        class_name="project-grant",
    )


def project_page() -> rx.Component:
    return page_shell(
        None,
        rx.match(
            ProjectState.status,
            ("loading", rx.spinner(size="3", id="project-loading")),
            (
                "bad_id",
                empty_state(
                    "folder-x",
                    "Not a project id",
                    "Project links look like /projects/0x followed by 64 hex digits.",
                    id="project-bad-id",
                ),
            ),
            (
                "unknown",
                empty_state(
                    "folder-search",
                    "No such project (yet)",
                    "The indexer knows no project with this id; a project created a moment ago appears within seconds.",
                    rx.button("Try again", on_click=ProjectState.load, variant="soft"),
                    id="project-unknown",
                ),
            ),
            ("error", error_callout(ProjectState.error, ProjectState.load, id="project-error")),
            rx.vstack(
                rx.heading(ProjectState.name, size="7", id="project-name"),
                rx.hstack(
                    rx.badge(ProjectState.visibility, color_scheme="gray"),
                    rx.text("Owner ", rx.link(ProjectState.owner, href="/u/" + ProjectState.owner), size="2"),
                    align="center",
                    flex_wrap="wrap",
                ),
                rx.cond(
                    ProjectState.version > 0,
                    rx.text(
                        "Version ",
                        ProjectState.version,
                        " · manifest ",
                        rx.code(ProjectState.head_cid, word_break="break-all"),
                        id="project-head",
                    ),
                    rx.text("No commit yet.", id="project-head"),
                ),
                rx.heading("Shared with", size="4", as_="h2"),
                rx.cond(
                    ProjectState.grants.length() > 0,
                    rx.vstack(rx.foreach(ProjectState.grants, _grant), spacing="1", id="project-grants"),
                    rx.text("Nobody else.", color=rx.color("gray", 11), id="project-grants"),
                ),
                rx.heading("History", size="4", as_="h2"),
                rx.cond(
                    ProjectState.versions.length() > 0,
                    rx.vstack(
                        rx.foreach(ProjectState.versions, _version_card),
                        width="100%",
                        spacing="2",
                        id="project-versions",
                    ),
                    rx.text("No versions yet.", color=rx.color("gray", 11), id="project-versions"),
                ),
                rx.cond(ProjectState.error != "", rx.text(ProjectState.error, color=rx.color("red", 11))),
                rx.cond(
                    ProjectState.more_versions,
                    rx.button("Older versions", on_click=ProjectState.older, variant="soft", id="project-older"),
                ),
                width="100%",
                spacing="3",
            ),
        ),
    )
