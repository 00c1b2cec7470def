"""The upload service's URL paths, spelled once for both of its clients: upload.py (sync, the CLI and sync engine)
and upload_async.py (async, the web app). Every id that goes into a path is checked first, so a value a page was
given can never name another endpoint ("../")."""

from __future__ import annotations

import re

from mediaproof.errors import InputError

NONCE = "/auth/nonce"
SESSION = "/auth/session"
UPLOADS = "/uploads"
USERS = "/users"
RESUMABLE = "/files/"  # tus
ACTIONS = "/actions"  # signed follows, likes and comments

_UPLOAD_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")  # secrets.token_urlsafe
_PROJECT_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def is_upload_id(value: str) -> bool:
    return bool(_UPLOAD_ID.match(value))


def upload(upload_id: str) -> str:
    """`GET` what the service holds of an upload."""
    if not is_upload_id(upload_id):
        raise InputError(f"{upload_id!r} is not an upload id")
    return f"{UPLOADS}/{upload_id}"


def prepare(upload_id: str) -> str:
    return upload(upload_id) + "/prepare"


def commit(upload_id: str) -> str:
    return upload(upload_id) + "/commit"


def user(address: str) -> str:
    if not _ADDRESS.match(address):
        raise InputError(f"{address!r} is not a wallet address (0x and 40 hex digits)")
    return f"{USERS}/{address}"


def project_id(pid: str | bytes) -> str:
    """A project id as the paths spell it (0x + 64 hex), from its text or its 32 bytes."""
    text = "0x" + pid.hex() if isinstance(pid, bytes) else pid
    if not _PROJECT_ID.match(text):
        raise InputError(f"{text!r} is not a project id: expected 0x and 64 hex digits")
    return text


def project_missing(pid: str | bytes) -> str:
    return f"/projects/{project_id(pid)}/missing"


def project_blob(pid: str | bytes, sha256_hex: str) -> str:
    if not _SHA256.match(sha256_hex):
        raise InputError(f"{sha256_hex!r} is not a sha256 (64 hex digits)")
    return f"/projects/{project_id(pid)}/blobs/{sha256_hex}"


def project_manifests(pid: str | bytes) -> str:
    return f"/projects/{project_id(pid)}/manifests"


def action(action_id: str) -> str:
    if not (action_id.startswith("0x") and len(action_id) == 66 and _SHA256.match(action_id[2:])):
        raise InputError(f"{action_id!r} is not an action id (0x and 64 hex digits)")
    return f"{ACTIONS}/{action_id}"
