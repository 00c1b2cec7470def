"""What the upload page says and does when a file was not taken: the upload service's refusal of the page's
POST /uploads (each status, its sentence and the next step) and the browser-side rejections of the drop zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from webapp import services
from webapp.media_rows import human_size

# Seconds to wait on a 429/503 that names no Retry-After (the upload service always names one).
DEFAULT_WAIT_SECONDS = 10
# The service's own "…: try again in N s[, or …]": the page says when it sends again itself.
_TRY_AGAIN = re.compile(r"\s*[:;,.]?\s*try again in \d+ s\b.*$", re.DOTALL)


@dataclass(frozen=True)
class Refusal:
    """What the page does when the upload service did not take a file: `kind` is "signed_out" (sign in again, then
    send it again), "wait" (send it again by itself after `wait` seconds), "stalled" or "failed" or "unreachable"
    (the file stays held: send it again), or "refused" (choose another file)."""

    kind: str
    sentence: str
    wait: int = 0


def upload_refusal(name: str, status: int, detail: str, retry_after: object = None) -> Refusal:
    """The words and the next step for the upload service's answer `status` (0: it could not be reached) to the
    page's POST /uploads of the file `name`."""
    detail = detail.strip().rstrip(".") or "no explanation"
    if status == 0:
        return Refusal("unreachable", f"{name} was not uploaded: {detail}. Send it again once the service is back.")
    if status == 401:
        return Refusal(
            "signed_out",
            f"{name} was not uploaded: your sign-in has ended (signed out or expired). Sign in again (top right), "
            "then send it again: the file is still here.",
        )
    if status in (429, 503):
        reason = _TRY_AGAIN.sub("", detail) or "it takes no more uploads from you right now"
        opening = "The upload service asks you to wait" if status == 429 else "The upload service is busy"
        wait = services.retry_after(retry_after) or DEFAULT_WAIT_SECONDS
        return Refusal("wait", f"{opening}: {reason}.", wait)
    if status == 408:
        return Refusal(
            "stalled",
            f"The upload of {name} stalled, so the upload service stopped waiting for it ({detail}). Send it again.",
        )
    if status == 403:
        return Refusal("refused", f"The upload service refused {name}: {detail}.")
    if status >= 500:
        return Refusal("failed", f"The upload service could not store {name} ({status}: {detail}). Send it again.")
    return Refusal("refused", f"The upload service did not accept {name}: {detail}.")


def rejection_message(rejected: list[dict[str, Any]], limit: int) -> str:
    """Words for react-dropzone's rejection codes (the browser-side checks)."""
    reasons = []
    for item in rejected if isinstance(rejected, list) else []:
        item = item if isinstance(item, dict) else {}
        # The browser's File object reaches the backend as whatever JSON made of it: a dict with `path`, or less.
        file = item.get("file")
        name = str((file.get("path") or file.get("name") or "") if isinstance(file, dict) else "") or "the file"
        name = name.removeprefix("./")
        errors = item.get("errors")
        codes = {str(e.get("code")) for e in (errors if isinstance(errors, list) else []) if isinstance(e, dict)}
        if "file-too-large" in codes:
            reasons.append(f"{name} is too large: the limit is {human_size(limit)}.")
        elif "file-invalid-type" in codes:
            reasons.append(
                f"{name} is not a photo or video this service accepts (JPEG, PNG, GIF, WebP, HEIC, MP4, MOV, WebM)."
            )
        elif "too-many-files" in codes:
            reasons.append("Drop one file at a time.")
        else:
            reasons.append(f"{name} was not accepted.")
    return " ".join(dict.fromkeys(reasons)) or "That file was not accepted."
