"""A project head's files as the project page lists them: the manifest checked against the head's sha256 on chain,
one row per file (path, size, modified time), and which files get a thumbnail. Pure: no I/O, no clock.

Thumbnails of a private project travel inside the page's state as data: URLs the backend fetched with the viewer's
own session, so the bytes reach only a browser whose wallet the download service let read them, and no bearer token
ever sits in a URL.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import PurePosixPath

from mediaproof.errors import ContentMismatch
from mediaproof.safe_text import printable
from mediaproof.sync.manifest import ProjectManifest
from webapp.media_rows import human_size

# The page lists this many files (a 10,000-file project would make a page nobody reads); it says how many more.
FILES_SHOWN = 200
THUMBNAILS = 24  # at most this many images are fetched per page load
THUMBNAIL_MAX_BYTES = 1 << 20  # larger images show an icon: the state carries thumbnails inline
IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def checked_manifest(data: bytes, head_sha256_hex: str) -> ProjectManifest:
    """The manifest, once its bytes hash to the head the chain records; ContentMismatch (or InputError for bytes
    that are no manifest) otherwise, so a service cannot show files the project never committed."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != head_sha256_hex.lower().removeprefix("0x"):
        raise ContentMismatch(
            f"the manifest the download service sent hashes to {digest}, not the head's "
            f"{head_sha256_hex}: its files are not shown"
        )
    return ProjectManifest.decode(data)


def image_type(path: str) -> str:
    """The image type a thumbnail is drawn as, by the file's extension ("" for anything else)."""
    return IMAGE_TYPES.get(PurePosixPath(path).suffix.lower(), "")


def file_rows(manifest: ProjectManifest) -> list[dict[str, str]]:
    """The first FILES_SHOWN files in path order; `thumb` is filled in later for the images that get one."""
    rows = []
    for path in sorted(manifest)[:FILES_SHOWN]:
        entry = manifest[path]
        when = datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M UTC")
        rows.append(
            {
                "path": printable(path),
                "size": human_size(entry.size),
                "modified": when,
                "sha256": entry.sha256.hex(),
                "image": image_type(path),
                "thumb": "",
            }
        )
    return rows


def thumbnail_targets(manifest: ProjectManifest) -> list[tuple[int, str, str]]:
    """(row index, sha256, image type) of the listed images small enough for a thumbnail, at most THUMBNAILS."""
    found = []
    for index, path in enumerate(sorted(manifest)[:FILES_SHOWN]):
        entry, kind = manifest[path], image_type(path)
        if kind and entry.size <= THUMBNAIL_MAX_BYTES:
            found.append((index, entry.sha256.hex(), kind))
    return found[:THUMBNAILS]


def data_url(data: bytes, sha256_hex: str, media_type: str) -> str:
    """An inline image of bytes checked against the file's sha256; ContentMismatch for other bytes."""
    if hashlib.sha256(data).hexdigest() != sha256_hex:
        raise ContentMismatch(f"the download service sent other bytes for sha256 {sha256_hex}")
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
