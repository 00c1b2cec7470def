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


def media_card(row: dict[str, Any], short_id: str, download_base: str) -> dict[str, str]:
    """One grid card from an indexer media row: title, owner, time, where it links, its thumbnail (if a link exists).

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
        "link": f"/m/{short_id}" if short_id else f"/m/{row.get('id')}",
        "thumb": thumb,
        "kind": kind,
        "size": human_size(row.get("size")),
    }
