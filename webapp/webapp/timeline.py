"""Date headings for grids read as a timeline: "Today", "Yesterday", "This week", then one heading a month. Pure: the
caller passes `now`; days are UTC days, as every time the app prints is UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

# Buckets sort newest first by this key: the three recent ones above any month (year * 12 + month is far below).
_TODAY, _YESTERDAY, _THIS_WEEK = 10**9 + 2, 10**9 + 1, 10**9
LAST_SECOND = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the last time a datetime can hold


def date_group(timestamp: int, now: int) -> tuple[int, str]:
    """(sort key, heading) of a unix time seen at `now`; a time ahead of `now` (another clock) counts as today."""
    day = datetime.fromtimestamp(min(max(0, int(timestamp)), LAST_SECOND), UTC).date()
    today = datetime.fromtimestamp(min(max(0, int(now)), LAST_SECOND), UTC).date()
    days_ago = (today - day).days
    if days_ago <= 0:
        return _TODAY, "Today"
    if days_ago == 1:
        return _YESTERDAY, "Yesterday"
    if days_ago < 7:
        return _THIS_WEEK, "This week"
    return day.year * 12 + day.month - 1, f"{day:%B} {day.year}"


def with_date_headings(cards: list[dict[str, str]], now: int) -> list[dict[str, str]]:
    """Grid cards (webapp.media_rows.media_card, each with its `timestamp`) with a heading entry `{"heading": …}`
    before each group, for one grid to draw both: a card's own `heading` is ""."""
    stamps = [int(card.get("timestamp") or 0) for card in cards]
    rows: list[dict[str, str]] = []
    for label, members in date_groups(cards, stamps, now):
        rows.append({"heading": label})
        rows.extend({**card, "heading": ""} for card in members)
    return rows


def date_groups(items: list[T], timestamps: list[int], now: int) -> list[tuple[str, list[T]]]:
    """`items` (each at the unix time of the same index) under their headings, newest heading first; within a
    heading the items keep the order they came in."""
    if len(items) != len(timestamps):
        raise ValueError(f"{len(items)} items but {len(timestamps)} timestamps")
    groups: dict[int, tuple[str, list[T]]] = {}
    for item, timestamp in zip(items, timestamps, strict=True):
        key, label = date_group(timestamp, now)
        groups.setdefault(key, (label, []))[1].append(item)
    return [groups[key] for key in sorted(groups, reverse=True)]
