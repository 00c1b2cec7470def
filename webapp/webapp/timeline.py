"""Date headings for grids read as a timeline: "Today", "Yesterday", "This week", then one heading a month. Pure: the
caller passes `now` and the viewer's time zone (viewer_zone: what their browser reports, UTC when it reports nothing
usable), so "Today" is the viewer's day; the times the app prints stay UTC, saying so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

# An IANA zone name as browsers report them (Intl.DateTimeFormat().resolvedOptions().timeZone): "Europe/Berlin",
# "America/Argentina/Buenos_Aires", "Etc/GMT+5". Anything else is not looked up at all.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")

# Buckets sort newest first by this key: the three recent ones above any month (year * 12 + month is far below).
_TODAY, _YESTERDAY, _THIS_WEEK = 10**9 + 2, 10**9 + 1, 10**9
# 9999-12-30 00:00:00 UTC: the last time a datetime holds in every zone (a day ahead of UTC at most).
LAST_SECOND = 253_402_128_000


def viewer_zone(name: str) -> tzinfo:
    """The zone a browser named, or UTC for a name that is empty, malformed or unknown to this machine's zone data."""
    if len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # unknown here (ZoneInfoNotFoundError is a KeyError), or a directory
        return UTC


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", "UTC"))


def date_group(timestamp: int, now: int, zone: tzinfo = UTC) -> tuple[int, str]:
    """(sort key, heading) of a unix time seen at `now` by someone in `zone`; a time ahead of `now` (another clock)
    counts as today."""
    day = datetime.fromtimestamp(min(max(0, int(timestamp)), LAST_SECOND), zone).date()
    today = datetime.fromtimestamp(min(max(0, int(now)), LAST_SECOND), zone).date()
    days_ago = (today - day).days
    if days_ago <= 0:
        return _TODAY, "Today"
    if days_ago == 1:
        return _YESTERDAY, "Yesterday"
    if days_ago < 7:
        return _THIS_WEEK, "This week"
    return day.year * 12 + day.month - 1, f"{day:%B} {day.year}"


def with_date_headings(cards: list[dict[str, str]], now: int, zone: tzinfo = UTC) -> list[dict[str, str]]:
    """Grid cards (webapp.media_rows.media_card, each with its `timestamp`) with a heading entry `{"heading": …,
    "zone": …}` before each group, for one grid to draw both: a card's own `heading` is ""."""
    stamps = [int(card.get("timestamp") or 0) for card in cards]
    rows: list[dict[str, str]] = []
    for label, members in date_groups(cards, stamps, now, zone):
        rows.append({"heading": label, "zone": zone_name(zone)})
        rows.extend({**card, "heading": ""} for card in members)
    return rows


def undated(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The cards of a grid drawn by with_date_headings, without its headings (to head them again in another zone)."""
    return [row for row in rows if not row.get("heading")]


def date_groups(items: list[T], timestamps: list[int], now: int, zone: tzinfo = UTC) -> list[tuple[str, list[T]]]:
    """`items` (each at the unix time of the same index) under their headings, newest heading first; within a
    heading the items keep the order they came in."""
    if len(items) != len(timestamps):
        raise ValueError(f"{len(items)} items but {len(timestamps)} timestamps")
    groups: dict[int, tuple[str, list[T]]] = {}
    for item, timestamp in zip(items, timestamps, strict=True):
        key, label = date_group(timestamp, now, zone)
        groups.setdefault(key, (label, []))[1].append(item)
    return [groups[key] for key in sorted(groups, reverse=True)]
