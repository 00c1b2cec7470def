"""Proof that a client holds some bytes, not merely their hash: sha256(nonce || bytes) for a fresh nonce the upload
service issued. Without it, anyone who learnt a file's sha256 could name it in their own project and download the
bytes from there (the classic de-duplication attack). Pure: the caller feeds the bytes (the upload service from a
cluster; mediaproof.projects.possession from a file on disk)."""

from __future__ import annotations

import hashlib

from mediaproof.errors import InputError


def hasher(nonce_hex: str) -> hashlib._Hash:
    """A sha256 already fed the nonce's bytes: feed it the file's bytes, in order, and take `hexdigest()`."""
    try:
        nonce = bytes.fromhex(nonce_hex)
    except ValueError:
        raise InputError(f"possession nonce {nonce_hex[:80]!r} is not hex") from None
    return hashlib.sha256(nonce)
