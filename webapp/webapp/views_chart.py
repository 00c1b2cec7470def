"""A media's views as bars people can read at a glance: per UTC day (every day from the first view to the last, the
quiet ones as empty bars) and per size asked for. Pure: the indexer's /analytics answer in, rows to draw out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

MAX_DAYS = 60  # the most recent days drawn; the total still counts every view
SIZE_ORDER = ("small", "medium", "large", "original", "poster")


def _bars(pairs: list[tuple[str, int]], label_of: Any = str) -> list[dict[str, str]]:
    """Each (name, views) as strings a Reflex foreach can draw: its share of the tallest bar in percent."""
    top = max((views for _, views in pairs), default=0)
    return [
        {
            "name": name,
            "label": label_of(name),
            "views": str(views),
            "percent": f"{(100 * views / top) if top else 0:.1f}%",
        }
        for name, views in pairs
    ]


def _views(row: dict[str, Any]) -> int:
    """A row's count; anything but a whole number of views counts as none (drawn as such, never a broken page)."""
    views = row.get("views")
    return views if isinstance(views, int) and not isinstance(views, bool) and views > 0 else 0


def _day_label(day: str) -> str:
    return date.fromisoformat(day).strftime("%b %-d")


def day_bars(per_day: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every day from the first counted day to the last (at most MAX_DAYS, the latest), zero where none."""
    counts: dict[date, int] = {}
    for row in per_day:
        try:
            day = date.fromisoformat(str(row.get("day")))
        except ValueError:
            continue  # the indexer writes ISO dates; anything else is not drawn rather than breaking the page
        counts[day] = counts.get(day, 0) + _views(row)
    if not counts:
        return []
    last = max(counts)
    first = max(min(counts), last - timedelta(days=MAX_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return _bars([(d.isoformat(), counts.get(d, 0)) for d in days], _day_label)


def day_span(bars: list[dict[str, str]]) -> list[str]:
    """The labels under the day columns: the first day and the last ("" for either when there is no other)."""
    if not bars:
        return ["", ""]
    return [bars[0]["label"], bars[-1]["label"] if len(bars) > 1 else ""]


def size_bars(per_size: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One bar per size asked for, smallest first, unknown names after the known ones."""
    counts: dict[str, int] = {}
    for row in per_size:
        name = str(row.get("size") or "")
        if name:
            counts[name] = counts.get(name, 0) + _views(row)
    rank = {name: i for i, name in enumerate(SIZE_ORDER)}
    ordered = sorted(counts, key=lambda name: (rank.get(name, len(SIZE_ORDER)), name))
    return _bars([(name, counts[name]) for name in ordered], str.capitalize)
