"""/projects: the signed-in wallet's projects and those shared with it, from the indexer. One project's own page
is pages/project.py."""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import MediaproofError
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout
from webapp.project_rows import project_card
from webapp.state import AuthState


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
            found = await services.user_projects(app_settings(), auth.address)
        except MediaproofError as exc:
            self.status, self.error = "error", f"Your projects could not be loaded: {exc}"
            return
        self.owned = [project_card(row) for row in found["owned"]]
        self.shared = [project_card(row) for row in found["shared"]]
        self.status = "found"


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
                    color=rx.color("gray", 11),
                ),
                width="100%",
                spacing="5",
            ),
        ),
    )
