"""The head's files on the project page: path, size, modified time, and a thumbnail for small images.

The manifest and the images come through this backend from the download service with the viewer's own session
(state.AuthState keeps its token server-side), so a private project's files show only to a wallet the download
service lets read them (the owner, a grantee); anyone else gets the service's refusal as a sentence.
"""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import Forbidden, MediaproofError, NotAuthenticated
from webapp import services
from webapp.app_settings import app_settings
from webapp.pages.project_state import ProjectState
from webapp.project_files import (
    FILES_SHOWN,
    THUMBNAIL_MAX_BYTES,
    checked_manifest,
    data_url,
    file_rows,
    thumbnail_targets,
)
from webapp.state import AuthState


class ProjectFilesState(rx.State):
    # "" | "loading" | "shown" | "no_commit" | "sign_in" | "refused" | "error"
    status: str = ""
    message: str = ""
    files: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    total: int = 0
    hidden: int = 0

    @rx.event
    async def load(self):
        project = await self.get_state(ProjectState)
        auth = await self.get_state(AuthState)
        self.files, self.total, self.hidden, self.message = [], 0, 0, ""
        if project.status != "found":
            self.status = ""
            return
        if project.version == 0 or not project.head_cid:
            self.status = "no_commit"
            return
        private = project.visibility == "private"
        token = auth._token()
        if private and not token:
            self.status = "sign_in"
            self.message = (
                "This project is private: sign in as its owner or a wallet it is shared with to see its files."
            )
            return
        self.status = "loading"
        yield
        settings = app_settings()
        pid = project.project_id
        try:
            manifest = checked_manifest(
                await services.project_manifest(settings, token, pid, project.head_cid), project.head_sha256
            )
        except NotAuthenticated:
            auth._session_ended()
            self.status, self.message = "sign_in", "Your sign-in has ended: sign in again to see this project's files."
            return
        except Forbidden:
            self.status = "refused"
            self.message = (
                f"This project is private and {auth.address} may not read it: its files show only to its owner and "
                "the wallets it is shared with."
            )
            return
        except MediaproofError as exc:
            self.status, self.message = "error", f"The files of version {project.version} could not be loaded: {exc}"
            return
        self.files = file_rows(manifest)
        self.total, self.hidden = len(manifest), max(0, len(manifest) - FILES_SHOWN)
        self.status = "shown"
        yield
        for index, sha256_hex, media_type in thumbnail_targets(manifest):
            try:
                image = await services.project_file(settings, token, pid, sha256_hex, THUMBNAIL_MAX_BYTES)
                thumb = data_url(image, sha256_hex, media_type)
            except MediaproofError:
                continue  # an icon instead: the list itself is what matters
            rows = list(self.files)
            if index < len(rows) and rows[index]["sha256"] == sha256_hex:
                rows[index] = {**rows[index], "thumb": thumb}
                self.files = rows
                yield


def _file_row(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row["thumb"] != "",
            rx.image(
                src=row["thumb"],
                alt=row["path"],
                width="48px",
                height="48px",
                object_fit="cover",
                border_radius="4px",
                class_name="project-thumb",
            ),
            # Static icons: an icon named by a Var ships lucide's every icon to the page (components/media_grid.py).
            rx.center(
                rx.cond(row["image"] != "", rx.icon("image", size=20), rx.icon("file", size=20)),
                width="48px",
                height="48px",
            ),
        ),
        rx.vstack(
            rx.text(row["path"], weight="medium", word_break="break-all", class_name="project-file-path"),
            rx.text(row["size"], " · modified ", row["modified"], size="1", color=rx.color("gray", 11)),
            spacing="0",
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="project-file",
        data_path=row["path"],
    )


def file_list() -> rx.Component:
    """The head's files, or a sentence saying why they are not shown."""
    return rx.vstack(
        rx.heading("Files", size="4", as_="h2"),
        rx.match(
            ProjectFilesState.status,
            ("loading", rx.spinner(size="2", id="project-files-loading")),
            ("no_commit", rx.text("No files yet: nothing was committed.", color=rx.color("gray", 11))),
            ("sign_in", rx.text(ProjectFilesState.message, id="project-files-sign-in")),
            (
                "refused",
                rx.callout(ProjectFilesState.message, icon="lock", color_scheme="amber", id="project-files-refused"),
            ),
            (
                "error",
                rx.callout(
                    ProjectFilesState.message, icon="triangle-alert", color_scheme="red", id="project-files-error"
                ),
            ),
            (
                "shown",
                rx.vstack(
                    rx.text(
                        ProjectFilesState.total,
                        " files in version ",
                        ProjectState.version,
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    rx.foreach(ProjectFilesState.files, _file_row),
                    rx.cond(
                        ProjectFilesState.hidden > 0,
                        rx.text(
                            "… and ", ProjectFilesState.hidden, " more (mediaproof clone gets them all).", size="2"
                        ),
                    ),
                    width="100%",
                    spacing="2",
                    id="project-files",
                ),
            ),
            rx.fragment(),
        ),
        width="100%",
        spacing="2",
    )
