"""How the indexer's rows read on a page: cards for grids, sizes, times, ether. Pure: no I/O, no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mediaproof.safe_text import printable

WEI_PER_ETH = Decimal(10) ** 18


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def time_utc(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M UTC")


# (unit, its length in seconds), largest last; "yesterday" is one day ago.
AGE_UNITS = (("min", 60), ("hour", 3600), ("day", 86_400), ("week", 7 * 86_400), ("month", 30 * 86_400),
             ("year", 365 * 86_400))  # fmt: skip


def age(seconds: int) -> tuple[str, int]:
    """How long ago in one unit, rounded down: ("now", 0) under a minute, else (unit, count >= 1). A time in the
    future (a clock ahead of ours) is "now", never a negative age."""
    unit, count = "now", 0
    for name, length in AGE_UNITS:
        if seconds >= length:
            unit, count = name, seconds // length
    return unit, int(count)


def relative_time(timestamp: int | None, now: int) -> str:
    """'just now', '3 min ago', '1 hour ago', 'yesterday', '5 days ago', … for a unix time seen at `now`."""
    if not timestamp:
        return ""
    unit, count = age(int(now) - int(timestamp))
    if unit == "now":
        return "just now"
    if unit == "day" and count == 1:
        return "yesterday"
    if unit == "min":
        return f"{count} min ago"
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def ether(wei: int | str | None) -> str:
    """Wei as ether for people: up to 6 decimals, trailing zeros dropped (0.1 ETH, not 0.100000)."""
    amount = Decimal(int(wei or 0)) / WEI_PER_ETH
    text = f"{amount:.6f}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def kind_of(media_type: str | None) -> str:
    """'image', 'video' or 'file': what the page shows."""
    major = (media_type or "").split("/", 1)[0]
    return major if major in ("image", "video") else "file"


def first_proof_note(row: dict[str, Any]) -> str:
    """ "" for the first proof of its bytes; else who proved them first, and when (the indexer's first_registration)."""
    first = row.get("first_registration") or {}
    if row.get("is_first_proof", True) or not first.get("owner"):
        return ""
    return f"First proven by {short_address(str(first['owner']))} in block {first.get('block')}"


def media_card(row: dict[str, Any], short_id: str, download_base: str, now: int | None = None) -> dict[str, str]:
    """One grid card from an indexer media row: title, owner, time, where it links, its thumbnail (if a link exists).
    `time_ago` is the time relative to `now` (unix seconds; "" without it), `time` the absolute UTC time.

    Values are all strings so a Reflex foreach can render them without type juggling.
    """
    kind = kind_of(row.get("media_type"))
    thumb = ""
    if short_id:
        thumb = f"{download_base}/m/{short_id}?size={'poster' if kind == 'video' else 'small'}"
    owner = str(row.get("owner") or "")
    first = row.get("first_registration") or {}
    return {
        "first_note": first_proof_note(row),
        "first_by": short_address(str(first.get("owner") or "")),
        "first_block": str(first.get("block") or ""),
        "id": str(row.get("id") or ""),
        "title": printable(str(row.get("title") or "(untitled)")),  # from the chain: escaped, as every printer does
        "owner": owner,
        "owner_short": short_address(owner),
        "time": time_utc(row.get("time")),
        "timestamp": str(int(row.get("time") or 0)),
        "heading": "",  # a card; webapp.timeline puts date headings ({"heading": "Today"}) between cards
        "time_ago": relative_time(row.get("time"), now) if now is not None else "",
        "link": f"/m/{short_id}" if short_id else f"/m/{row.get('id')}",
        "thumb": thumb,
        "kind": kind,
        "size": human_size(row.get("size")),
        # the indexer's social counts ("" when the row has none)
        "likes": _count(row.get("likes")),
        "comments": _count(row.get("comments")),
    }


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else ""
