"""A device's answer to the upload service's possession nonces, read from the file on disk: the I/O side of the
pure proof in mediaproof.sync.possession."""

from __future__ import annotations

from pathlib import Path

from mediaproof.sync.possession import hasher

CHUNK = 1 << 20


def answer(nonce_hex: str, path: Path) -> str:
    """The hex answer to a possession nonce for the file at `path`: sha256(nonce_bytes || file_bytes)."""
    digest = hasher(nonce_hex)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
