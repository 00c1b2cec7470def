"""/upload: pick or drop a photo or video, see it, title it, sign its record in the wallet, get its link and proof.

The page sends the file's bytes itself, straight to the upload service (assets/mediaproof.js, XMLHttpRequest, so the
progress bar follows the real transfer; over MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE by tus in chunks, with retries that
resume a dropped connection: assets/resumable_upload.js); the service hashes it, checks its type and size by content
and stores it on the clusters, and its answer comes back here. Nothing is proven until the owner's signature comes
back; a refused signature leaves only stored bytes that no record points to.

Batched (the default) needs nothing but a signature: the service anchors the record with others in its next batch
(within the batch interval, 2 s by default) and answers the link, the batch and the proof bundle. Direct registers it
in its own transaction, paid from the wallet's deposit, so it needs a Mediaproof account first.

Every write (the page's POST /uploads, and this backend's prepare, commit and POST /users) carries the signed-in
wallet's bearer token. The service's refusals each get their sentence: 401, the sign-in ended (sign in again, the
file is still held, send it again); 403, not this wallet's or not from this origin; 429 and 503, wait as its
Retry-After asks (the page counts down and sends the file again by itself); 408, the transfer stalled (send again).
"""

from __future__ import annotations

import reflex as rx

from webapp.components.layout import page_shell
from webapp.pages.upload_drop_zone import drop_zone, progress_report
from webapp.pages.upload_record_view import record_card, result_card
from webapp.pages.upload_state import UploadState
from webapp.pages.upload_views import account_step, held, mode_choice, review, sending, waiting
from webapp.state import AuthState

__all__ = ["UploadState", "upload_page"]


def upload_page() -> rx.Component:
    return page_shell(
        "Upload",
        progress_report(),
        rx.cond(
            AuthState.signed_in,
            rx.vstack(
                mode_choice(),
                rx.cond(UploadState.mode == "direct", account_step()),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                UploadState.stage != "held",  # a held file's error already says to sign in
                rx.callout(
                    "Sign in with your wallet (top right) to upload and register media.",
                    icon="wallet",
                    id="upload-signed-out",
                ),
            ),
        ),
        rx.cond(
            UploadState.error != "",
            rx.callout(UploadState.error, icon="triangle-alert", color_scheme="red", id="upload-error", width="100%"),
        ),
        rx.match(
            UploadState.stage,
            ("pick", drop_zone()),
            ("sending", sending()),
            ("held", held()),
            ("waiting", waiting()),
            ("review", review()),
            ("preparing", review()),
            ("done", result_card()),
            record_card(),
        ),
    )
