"""Fields of a request to the upload service that name a media, parsed or refused with a sentence (InputError)."""

from __future__ import annotations

from mediaproof import eip712
from mediaproof.errors import InputError


def parse_parent(value: object) -> bytes:
    if value in (None, "", "0x" + "00" * 32):
        return eip712.ZERO32
    return bytes.fromhex(parse_media_id(value)[2:])


def parse_media_id(value: object) -> str:
    if isinstance(value, str):
        text = value.lower().removeprefix("0x")
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
            return "0x" + text
    raise InputError(f"{value!r} is not a media id (0x + 64 hex digits, the record's EIP-712 digest)")
