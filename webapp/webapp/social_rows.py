"""Follows, likes and comments for the pages: the actions a wallet signs (mediaproof.social) and how the indexer's
social answers read. Pure: the caller passes the time and the nonce, and does the I/O.
"""

from __future__ import annotations

import json
from typing import Any

from mediaproof import social
from mediaproof.errors import InputError
from mediaproof.safe_text import printable
from webapp.media_rows import relative_time, short_address, time_utc

ZERO_ID = "0x" + "00" * 32


def _bytes32(value: str, what: str) -> bytes:
    text = value.lower().removeprefix("0x")
    if len(text) != 64:
        raise InputError(f"{what} {value!r} is not 0x and 64 hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InputError(f"{what} {value!r} is not 0x and 64 hex digits") from exc


def follow_action(author: str, subject: str, follow: bool, now: int, nonce: bytes) -> social.Follow:
    """Follow (or, with follow=False, unfollow) `subject`; refused (InputError) when it is the author."""
    action = social.Follow(author, subject, follow, int(now), nonce)
    social.check_rules(action)
    return action


def like_action(author: str, media_id: str, like: bool, now: int, nonce: bytes) -> social.Like:
    return social.Like(author, _bytes32(media_id, "media id"), like, int(now), nonce)


def comment_action(
    author: str, media_id: str, text: str, now: int, nonce: bytes, replaces: str = "", deleted: bool = False
) -> social.Comment:
    """A new comment, an edit (`replaces` = the comment's id) or a delete (deleted, no text); InputError says why
    the text cannot be sent (empty, over 2000 bytes, control characters) before anything is signed."""
    action = social.Comment(
        author,
        _bytes32(media_id, "media id"),
        "" if deleted else text,
        int(now),
        nonce,
        _bytes32(replaces or ZERO_ID, "comment id"),
        deleted,
    )
    social.check_rules(action)
    return action


def typed_json(action: social.Action, chain_id: int, media_app: str) -> str:
    """What the wallet signs (eth_signTypedData_v4), as JSON: integers are decimal strings, so nothing is rounded."""
    return json.dumps(social.typed_data(action, chain_id, media_app))


def comment_bytes_left(text: str) -> int:
    """How many more UTF-8 bytes the comment box takes (negative when over)."""
    return social.MAX_COMMENT_BYTES - len(text.encode())


def count_of(body: dict[str, Any], *names: str) -> int:
    """The first of `names` that `body` carries as a whole number (the indexer's counts), else 0."""
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return 0


def addresses_in(body: dict[str, Any], key: str) -> list[str]:
    """The addresses a followers/following answer lists under `key` (rows with an `address`)."""
    rows = body.get(key) or []
    return [str(r["address"]) for r in rows if isinstance(r, dict) and isinstance(r.get("address"), str)]


def comment_text(text: str) -> str:
    """The comment as a page shows it: its lines kept, anything unprintable on a line shown as its escape."""
    return "\n".join(printable(line) for line in text.split("\n"))


def comment_row(row: dict[str, Any], now: int, viewer: str) -> dict[str, str]:
    """One comment for a Reflex foreach (strings only): id (its first action id), author, text, when it was written,
    whether it was edited since and whether it is the viewer's."""
    author = str(row.get("author") or "")
    time = row.get("created_time") or row.get("time")
    return {
        "id": str(row.get("comment_id") or ""),
        "author": author,
        "author_short": short_address(author),
        "text": comment_text(str(row.get("text") or "")),
        "raw_text": str(row.get("text") or ""),
        "time_ago": relative_time(time if isinstance(time, int) else None, now),
        "time": time_utc(time if isinstance(time, int) else None),
        "edited": "yes" if row.get("edited") else "",
        "mine": "yes" if viewer and author.lower() == viewer.lower() else "",
    }


def comments_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in body.get("results") or [] if isinstance(c, dict)]
