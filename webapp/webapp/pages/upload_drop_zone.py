"""The /upload page's drop zone and its bridge to assets/mediaproof.js: the accepted file is held in the page (only
its name, size and type reach the backend), rejections travel as plain data, and the transfer's progress is read
back from the script."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec, parse_args_spec
from reflex_components_core.core.upload import Upload

from webapp.pages.upload_state import UploadState

UPLOAD_ID = "media-upload"
# What the upload service accepts (it checks by content; this only filters the browser's file picker).
ACCEPT = {
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "image/gif": [".gif"],
    "image/webp": [".webp"],
    "image/heic": [".heic"],
    "image/heif": [".heif"],
    "image/avif": [".avif"],
    "video/mp4": [".mp4", ".m4v"],
    "video/quicktime": [".mov"],
    "video/webm": [".webm"],
}


def _rejections_as_plain_data(rejected: rx.Var) -> EventSpec:
    """Only names and reason codes go to the backend: the rejected File itself would travel over the websocket as a
    binary attachment (megabytes, for a file refused as too large)."""
    plain = (
        rejected.to(list)
        .to(rx.vars.ArrayVar)
        .map(
            lambda item: rx.Var.create(
                {
                    "file": {"path": item.to(dict).to(rx.vars.ObjectVar)["file"].to(rx.vars.ObjectVar)["path"]},
                    "errors": item.to(dict).to(rx.vars.ObjectVar)["errors"].to(rx.vars.ArrayVar)
                    .map(lambda error: rx.Var.create({"code": error.to(dict).to(rx.vars.ObjectVar)["code"]})),
                }
            )
        )
    )  # fmt: skip
    return UploadState.rejected(plain)  # type: ignore[operator]


def _hold_in_page() -> EventSpec:
    """The accepted file stays in the page (mediaproof.js holds it for its XMLHttpRequest); only its name, size and
    type reach the backend."""
    # Reflex 0.10.1 nests the events of a lambda given to rx.upload's on_drop one list too deep, so the handler is
    # called here on the Var that names the dropped files in the compiled drop handler.
    drop_spec = Upload.get_event_triggers()["on_drop"]
    files = parse_args_spec(drop_spec[0] if isinstance(drop_spec, tuple) else drop_spec)[0][0]
    held: rx.Var = rx.Var(
        _js_expr=f"window.mediaproof.holdFile({files!s})", _var_type=dict, _var_data=files._get_all_var_data()
    )
    return UploadState.picked(held)  # type: ignore[operator]


def progress_report() -> rx.Component:
    """Clicked by mediaproof.js on each progress report of the transfer it runs: reads the percentage from there."""
    return rx.el.button(
        on_click=UploadState.sending_progress(  # type: ignore[operator]
            rx.Var(_js_expr="window.mediaproof.uploadProgress()", _var_type=int)
        ),
        id="upload-progress-report",
        type="button",
        hidden=True,
        aria_hidden="true",
        tab_index=-1,
    )


def drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("image-up", size=36, color=rx.color("accent", 9)),
            rx.text("Drop a photo or video here, or tap to choose one", weight="medium"),
            rx.text(
                "JPEG, PNG, GIF, WebP, HEIC, MP4, MOV or WebM · up to ",
                UploadState.max_size_text,
                size="2",
                color=rx.color("gray", 11),
            ),
            align="center",
            spacing="2",
        ),
        id=UPLOAD_ID,
        custom_attrs={"data-file-label": "Choose a photo or video to upload"},  # see mediaproof.js labelFileInputs
        accept=ACCEPT,
        max_files=1,
        multiple=False,
        # 0 until the page has loaded: no browser-side limit then (picked() and the service still check the size).
        max_size=rx.cond(UploadState.max_bytes > 0, UploadState.max_bytes, None),
        on_drop=_hold_in_page(),
        on_drop_rejected=_rejections_as_plain_data,
        border=f"2px dashed {rx.color('accent', 7)}",
        border_radius="12px",
        padding="2.5em 1em",
        width="100%",
        cursor="pointer",
        drag_active_style={"background": rx.color("accent", 3)},
    )
