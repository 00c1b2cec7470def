"""Upload many files or a whole folder into a project from its page, with one progress view: the page hashes the
chosen files (WebCrypto) and keeps them; the backend asks for the bytes the head does not hold, the page sends those
straight to the upload service (PUT /projects/<pid>/blobs/<sha256>, or by tus over MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE,
with the wallet's session), the backend builds the new manifest (the head's files plus the chosen ones, folder paths
from webkitRelativePath) and posts it, and the wallet commits it on chain (compare-and-swap from the version the page
shows).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mediaproof.errors import MediaproofError, NotAuthenticated
from webapp import services
from webapp.app_settings import app_settings
from webapp.deployment import project_registry_address
from webapp.pages.project_state import ProjectState
from webapp.pages.project_writes import SEND_TIMEOUT_MS, ProjectWritesState, stale_sentence
from webapp.project_calls import commit_data, transaction
from webapp.project_files import checked_manifest, chosen_files, cids_from_chunks, manifest_with, to_send
from webapp.state import AuthState, js_call

FOLDER_INPUT = "project-folder-input"
FILES_INPUT = "project-files-input"


class ProjectUploadState(rx.State):
    # "" | "hashing" | "sending" | "storing" | "committing" | "done" | "failed"
    stage: str = ""
    progress: int = 0
    detail: str = ""
    # The chosen files (chosen_files() rows) and the version they are committed on top of, between the page's calls.
    _files: list[dict[str, Any]] = []  # noqa: RUF012 - reassigned, never mutated; Reflex copies defaults per session
    _expected: int = 0

    @rx.event
    def clear(self):
        """On every project page load: another project's upload must not show here."""
        if self.stage not in ("hashing", "sending", "storing", "committing"):
            self.stage, self.progress, self.detail, self._files = "", 0, "", []

    def _fail(self, sentence: str) -> None:
        self.stage, self.detail = "failed", sentence

    async def _writer(self) -> tuple[AuthState, ProjectState] | None:
        auth = await self.get_state(AuthState)
        project = await self.get_state(ProjectState)
        if not auth.signed_in or not auth._token():
            self._fail("Sign in with your wallet first (top right).")
        elif project.status != "found" or not project.can_write:
            self._fail("Only the owner and wallets it gave write access can add files.")
        else:
            return auth, project
        return None

    @rx.event
    async def chose(self, input_id: str):
        if input_id not in (FOLDER_INPUT, FILES_INPUT) or self.stage in ("hashing", "sending", "storing"):
            return None
        self.detail, self.progress = "", 0
        if await self._writer() is None:
            return None
        self.stage = "hashing"
        return rx.call_script(js_call("hashProjectFiles", input_id), callback=ProjectUploadState.hashed)

    @rx.event
    async def hashed(self, answer: dict[str, Any]):
        allowed = await self._writer()
        if allowed is None:
            return None
        auth, project = allowed
        if answer.get("error"):
            return self._fail(f"The files could not be read: {answer.get('message')}")
        try:
            self._files = chosen_files(answer.get("files"))
            head = await self._head(auth, project)
        except MediaproofError as exc:
            return self._fail(str(exc))
        self._expected = project.version
        self.stage, self.progress = "sending", 0
        self.detail = f"Sending {len(self._files)} files…"
        hashes = to_send(head, self._files)
        settings = app_settings()
        # Files over the threshold go by tus (resumable), as `mediaproof sync` sends them.
        send = js_call(
            "sendProjectFiles",
            services.upload_base(settings),
            auth._token(),
            project.project_id,
            hashes,
            settings.upload_resumable_above,
            settings.upload_chunk_bytes,
        )
        return rx.call_script(send, callback=ProjectUploadState.sent)

    async def _head(self, auth: AuthState, project: ProjectState):
        if project.version == 0 or not project.head_cid:
            return None
        data = await services.project_manifest(app_settings(), auth._token(), project.project_id, project.head_cid)
        return checked_manifest(data, project.head_sha256)

    @rx.event
    def sending_progress(self, percent: int):
        if self.stage == "sending":
            self.progress = max(0, min(100, int(percent or 0)))

    @rx.event
    async def sent(self, answer: dict[str, Any]):
        allowed = await self._writer()
        if allowed is None:
            return
        auth, project = allowed
        if answer.get("error") == "rejected" and answer.get("status") == 401:
            auth._session_ended()
            self._fail("Your sign-in has ended: sign in again and choose the files again.")
            return
        if answer.get("error"):
            where = f" ({answer.get('path')})" if answer.get("path") else ""
            self._fail(f"The upload service refused a file{where}: {answer.get('message')}")
            return
        self.stage, self.progress, self.detail = "storing", 100, "Storing the new manifest…"
        yield
        settings = app_settings()
        try:
            head = await self._head(auth, project)
            cids = {str(k): str(v) for k, v in (answer.get("cids") or {}).items()}
            cids.update(cids_from_chunks(answer.get("chunks"), self._files))
            manifest = manifest_with(head, self._files, cids)
            stored = await services.post_project_manifest(
                settings, auth._token(), project.project_id, manifest.encode().decode()
            )
            data = commit_data(project.project_id, self._expected, str(stored["sha256"]), str(stored["cid"]))
            registry = project_registry_address()
        except NotAuthenticated:
            auth._session_ended()
            self._fail("Your sign-in has ended: sign in again and choose the files again.")
            return
        except (MediaproofError, KeyError) as exc:
            self._fail(f"The new version could not be stored: {exc}")
            return
        if manifest.sha256().hex() != str(stored["sha256"]).removeprefix("0x"):
            self._fail("The upload service stored another manifest than the one sent: nothing was committed.")
            return
        self.stage, self.detail = "committing", "Confirm the commit in your wallet."
        yield rx.call_script(
            js_call("sendTransaction", transaction(auth.address, registry, data), SEND_TIMEOUT_MS),
            callback=ProjectUploadState.committed,
        )

    @rx.event
    async def committed(self, answer: dict[str, Any]):
        if answer.get("error") == "refused":
            return self._fail("You declined the commit: the files are stored, but no new version was made.")
        if answer.get("error") or answer.get("status") != 1:
            project = await self.get_state(ProjectState)
            sentence = await stale_sentence(project.project_id, self._expected)
            if sentence:
                self._fail(f"{sentence} Your files were not committed: choose them again.")
                return ProjectWritesState.reload_when_indexed
            return self._fail(f"The commit failed: {answer.get('message') or 'the transaction reverted'}.")
        self.stage = "done"
        self.detail = (
            f"{len(self._files)} files committed as version {self._expected + 1} (transaction {answer.get('hash')})."
        )
        return ProjectWritesState.reload_when_indexed


def _progress_report() -> rx.Component:
    """Clicked by mediaproof.js on each progress report of the transfer: reads the percentage from there."""
    return rx.el.button(
        on_click=ProjectUploadState.sending_progress(  # type: ignore[operator]
            rx.Var(_js_expr="window.mediaproof.projectUploadProgress()", _var_type=int)
        ),
        id="project-upload-progress-report",
        type="button",
        hidden=True,
        aria_hidden="true",
        tab_index=-1,
    )


def _picker(label: str, input_id: str, folder: bool) -> rx.Component:
    extra = {"webkitdirectory": "", "directory": ""} if folder else {}
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        rx.el.input(
            type="file",
            multiple=True,
            id=input_id,
            on_change=lambda _: ProjectUploadState.chose(input_id),  # type: ignore[operator]
            custom_attrs=extra,
        ),
        display="flex",
        flex_direction="column",
        gap="4px",
    )


def upload_panel() -> rx.Component:
    """For the owner and write grantees: choose files or a folder; one progress bar over all their bytes."""
    return rx.cond(
        ProjectState.can_write,
        rx.card(
            rx.vstack(
                rx.heading("Add files", size="3", as_="h3"),
                rx.hstack(
                    _picker("Files", FILES_INPUT, folder=False),
                    _picker("A whole folder", FOLDER_INPUT, folder=True),
                    spacing="5",
                    flex_wrap="wrap",
                ),
                rx.cond(
                    ProjectUploadState.stage != "",
                    rx.vstack(
                        rx.progress(value=ProjectUploadState.progress, width="100%", id="project-upload-progress"),
                        rx.text(ProjectUploadState.detail, size="2", id="project-upload-detail"),
                        width="100%",
                        id="project-upload",
                        data_stage=ProjectUploadState.stage,
                    ),
                ),
                _progress_report(),
                width="100%",
                spacing="3",
            ),
            width="100%",
        ),
    )
