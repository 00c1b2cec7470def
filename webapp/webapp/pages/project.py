"""/projects/<id> (route /projects/[project_key]): one project's head and its files, who it is shared with, and
its history — who committed each version, when, in which transaction. Its owner shares and unshares it, and the
owner and write grantees restore any version (pages/project_writes.py) and add files or a folder
(pages/project_upload.py), each change sent by their wallet.
"""

from __future__ import annotations

import reflex as rx

from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout
from webapp.pages.project_file_list import file_list
from webapp.pages.project_state import ProjectState
from webapp.pages.project_upload import upload_panel
from webapp.pages.project_writes import restore_button, share_form, unshare_button, write_messages


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
                rx.link(
                    row["committer_short"],
                    href="/u/" + row["committer"],
                    class_name="version-committer",
                    underline="always",
                ),
                " in block ",
                row["block"],
                size="2",
            ),
            rx.text("Transaction ", rx.code(row["tx"], class_name="version-tx", word_break="break-all"), size="2"),
            rx.text("Manifest ", rx.code(row["manifest_cid"], word_break="break-all"), size="2"),
            restore_button(row),
            spacing="1",
        ),
        width="100%",
        class_name="project-version",
        data_version=row["version"],
    )


def _grant(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.text(
            rx.link(row["grantee_short"], href="/u/" + row["grantee"], underline="always"),
            " ",
            row["role"],
            " since ",
            row["since"],
            size="2",
        ),
        unshare_button(row),
        align="center",
        spacing="3",
        class_name="project-grant",
        data_grantee=row["grantee"],
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
                write_messages(),
                file_list(),
                upload_panel(),
                rx.heading("Shared with", size="4", as_="h2"),
                rx.cond(
                    ProjectState.grants.length() > 0,
                    rx.vstack(rx.foreach(ProjectState.grants, _grant), spacing="1", id="project-grants"),
                    rx.text("Nobody else.", color=rx.color("gray", 11), id="project-grants"),
                ),
                share_form(),
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
