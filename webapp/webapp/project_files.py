"""A project head's files as the project page lists them (the manifest checked against the head's sha256 on chain,
one row per file: path, size, modified time; which files get a thumbnail), and the manifest an upload from the page
commits (the head's files plus the chosen ones). Pure: no I/O, no clock.

Thumbnails of a private project travel inside the page's state as data: URLs the backend fetched with the viewer's
own session, so the bytes reach only a browser whose wallet the download service let read them, and no bearer token
ever sits in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from mediaproof.content import cid_from_chunk_digests
from mediaproof.errors import ContentMismatch, InputError
from mediaproof.safe_text import printable
from mediaproof.sync.manifest import FileEntry, ProjectManifest, check_path
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


# A browser hands over this many files at most per upload (the hashes travel over the websocket in one message).
UPLOAD_MAX_FILES = 1000


def chosen_files(listed: object) -> list[dict[str, Any]]:
    """The files the page hashed ({path, size, mtime_ms, sha256} each), checked: NFC relative paths (a folder's
    files keep their folder, as webkitRelativePath gives them), 64-hex hashes; InputError with a sentence otherwise.
    A path chosen twice keeps its last file."""
    if not isinstance(listed, list) or not listed:
        raise InputError("No files were chosen.")
    if len(listed) > UPLOAD_MAX_FILES:
        raise InputError(f"{len(listed)} files were chosen; send at most {UPLOAD_MAX_FILES} at a time.")
    found: dict[str, dict[str, Any]] = {}
    for item in listed:
        try:
            path = unicodedata.normalize("NFC", str(item["path"]))
            sha = str(item["sha256"]).lower()
            size, mtime_ms = int(item["size"]), int(item["mtime_ms"])
        except (KeyError, TypeError, ValueError):
            raise InputError("The page sent a file list this server cannot read: choose the files again.") from None
        check_path(path)  # its own sentence: which path, and what is wrong with it
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha) or size < 0 or mtime_ms < 0:
            raise InputError(f"The page sent a bad hash or size for {path[:100]!r}: choose the files again.")
        found[path] = {"path": path, "sha256": sha, "size": size, "mtime_ns": mtime_ms * 1_000_000}
    return list(found.values())


def to_send(head: ProjectManifest | None, files: list[dict[str, Any]]) -> list[str]:
    """The hashes whose bytes the page must send: those the head does not hold already (its CIDs are known)."""
    held = {entry.sha256.hex() for entry in head.values()} if head is not None else set()
    return sorted({f["sha256"] for f in files} - held)


def cids_from_chunks(chunked: object, files: list[dict[str, Any]]) -> dict[str, str]:
    """The CIDs of the files the page sent by tus, whose answer names only their sha256: from the hex sha256 of each
    of their 256 KiB chunks the page computed. The upload service checks each CID against the bytes it stored when
    the manifest is posted, so a forged list only gets the manifest refused. InputError when the page's list is
    unreadable or names a file that was not chosen."""
    if not chunked:
        return {}
    if not isinstance(chunked, dict):
        raise InputError("The page sent chunk hashes this server cannot read: choose the files again.")
    sizes = {f["sha256"]: int(f["size"]) for f in files}
    cids = {}
    for sha, text in chunked.items():
        try:
            digests = bytes.fromhex(text) if sha in sizes and isinstance(text, str) else None
        except ValueError:
            digests = None
        if digests is None:
            raise InputError("The page sent chunk hashes this server cannot read: choose the files again.")
        cids[sha] = cid_from_chunk_digests([digests[i : i + 32] for i in range(0, len(digests), 32)], sizes[sha])
    return cids


def manifest_with(head: ProjectManifest | None, files: list[dict[str, Any]], cids: dict[str, str]) -> ProjectManifest:
    """The head's files plus the chosen ones (a chosen path replaces the head's); each chosen file's CID from the
    head or from the upload service's answer to its bytes. InputError when one has none, or a path clashes."""
    known = {entry.sha256.hex(): entry.cid for entry in head.values()} if head is not None else {}
    merged = dict(head or {})
    for f in files:
        cid = cids.get(f["sha256"]) or known.get(f["sha256"])
        if not cid:
            raise InputError(f"{f['path'][:100]!r} was not stored (no CID came back): send the files again.")
        merged[f["path"]] = FileEntry(bytes.fromhex(f["sha256"]), cid, f["size"], f["mtime_ns"])
    return ProjectManifest(merged)
