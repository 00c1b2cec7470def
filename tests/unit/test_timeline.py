"""Date headings on the grids ("Today", "Yesterday", "This week", months): a pure function of times, `now` and the
viewer's time zone (a name from their browser: anything unusable is UTC), tested in the main environment
(webapp.timeline imports nothing of Reflex)."""

from __future__ import annotations

import itertools
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.timeline import date_group, date_groups, undated, viewer_zone, with_date_headings
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))

NOW = int(datetime(2026, 3, 18, 9, 30, tzinfo=UTC).timestamp())  # a Wednesday morning
DAY = 86_400
times = st.integers(min_value=0, max_value=NOW + 10 * DAY)


@pytest.mark.parametrize(
    ("timestamp", "heading"),
    [
        (NOW, "Today"),
        (NOW + 3600, "Today"),  # a clock ahead of ours
        (int(datetime(2026, 3, 18, 0, 0, tzinfo=UTC).timestamp()), "Today"),
        (int(datetime(2026, 3, 17, 23, 59, tzinfo=UTC).timestamp()), "Yesterday"),
        (NOW - 2 * DAY, "This week"),
        (NOW - 6 * DAY, "This week"),
        (NOW - 7 * DAY, "March 2026"),
        (int(datetime(2026, 2, 28, 12, tzinfo=UTC).timestamp()), "February 2026"),
        (int(datetime(2025, 12, 1, tzinfo=UTC).timestamp()), "December 2025"),
    ],
)
def test_date_group_names_the_heading(timestamp: int, heading: str) -> None:
    assert date_group(timestamp, NOW)[1] == heading


@given(st.lists(times, max_size=60))
def test_date_groups_hold_every_item_once_newest_heading_first_fuzz(stamps: list[int]) -> None:
    items = list(range(len(stamps)))
    groups = date_groups(items, stamps, NOW)
    placed = [item for _, members in groups for item in members]
    assert sorted(placed) == items  # every item in exactly one group
    labels = [label for label, _ in groups]
    assert len(labels) == len(set(labels))  # one heading each
    for label, members in groups:
        assert members and all(date_group(stamps[i], NOW)[1] == label for i in members)
        assert members == sorted(members)  # the order they came in
    keys = [date_group(stamps[members[0]], NOW)[0] for _, members in groups]
    assert keys == sorted(keys, reverse=True)  # groups in order, newest first
    for (_, newer), (_, older) in itertools.pairwise(groups):
        assert min(stamps[i] for i in newer) >= max(stamps[i] for i in older)  # a later heading is never newer


@given(st.lists(times, min_size=1, max_size=30))
def test_date_groups_of_newest_first_items_keep_the_whole_order_fuzz(stamps: list[int]) -> None:
    """A grid that arrives newest first reads the same with its headings as without them."""
    stamps = sorted(stamps, reverse=True)
    groups = date_groups(list(range(len(stamps))), stamps, NOW)
    assert [item for _, members in groups for item in members] == list(range(len(stamps)))


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_date_group_of_any_integer_time_is_a_heading_fuzz(timestamp: int) -> None:
    """Before 1970 or after 9999 (a hostile or broken row): a heading, never an exception."""
    assert date_group(timestamp, NOW)[1]


def test_date_groups_refuse_items_without_their_times() -> None:
    with pytest.raises(ValueError, match="2 items but 1 timestamps"):
        date_groups(["a", "b"], [NOW], NOW)


def test_with_date_headings_puts_a_heading_before_each_group_of_cards() -> None:
    cards = [
        {"id": "a", "timestamp": str(NOW - 60), "heading": ""},
        {"id": "b", "timestamp": str(NOW - 40 * DAY), "heading": ""},
        {"id": "c", "timestamp": str(NOW - DAY), "heading": ""},
    ]
    rows = with_date_headings(cards, NOW)
    assert [r.get("heading") or r["id"] for r in rows] == ["Today", "a", "Yesterday", "c", "February 2026", "b"]


def test_a_heading_counts_the_viewers_days() -> None:
    # 23:30 UTC on the 17th, seen at 09:30 UTC on the 18th: yesterday in London, already the 18th in Berlin (UTC+1);
    # 05:00 UTC on the 18th is still the 17th in Los Angeles (UTC-7 since the 8th).
    late_evening = int(datetime(2026, 3, 17, 23, 30, tzinfo=UTC).timestamp())
    early_morning = int(datetime(2026, 3, 18, 5, 0, tzinfo=UTC).timestamp())
    assert date_group(late_evening, NOW)[1] == "Yesterday"
    assert date_group(late_evening, NOW, viewer_zone("Europe/Berlin"))[1] == "Today"
    assert date_group(early_morning, NOW)[1] == "Today"
    assert date_group(early_morning, NOW, viewer_zone("America/Los_Angeles"))[1] == "Yesterday"
    # Months turn by the viewer's calendar too: 1 March 01:00 in Berlin is still February in UTC.
    first_of_march = int(datetime(2026, 3, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp())
    assert date_group(first_of_march, NOW)[1] == "February 2026"
    assert date_group(first_of_march, NOW, viewer_zone("Europe/Berlin"))[1] == "March 2026"
    rows = with_date_headings([{"id": "a", "timestamp": str(late_evening), "heading": ""}], NOW, ZoneInfo("Asia/Tokyo"))
    assert rows[0] == {"heading": "Today", "zone": "Asia/Tokyo"}


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC", "Asia/Tokyo"])
def test_a_zone_a_browser_names_is_used(name: str) -> None:
    assert getattr(viewer_zone(name), "key", None) == name


@pytest.mark.parametrize(
    "name",
    ["", "../../etc/passwd", "/etc/passwd", "Europe/../../etc", "America", "Nope/Nowhere", "x" * 65, "Europe/Berlin\0",
     "Europe/Berlin ", " UTC", "Etc/GMT+5/../UTC", "a/b/c/d"],
)  # fmt: skip
def test_a_cookie_naming_no_zone_counts_utc_days(name: str) -> None:
    """The name comes from a cookie anyone can set: a path, a directory, a long or unknown name is UTC, never an
    error and never a file read outside the zone database."""
    assert viewer_zone(name) is UTC


@given(st.text(max_size=80), times)
def test_any_zone_name_gives_a_heading_fuzz(name: str, timestamp: int) -> None:
    zone = viewer_zone(name)
    assert date_group(timestamp, NOW, zone)[1]
    assert date_group(10**20, 10**20, zone)[1]  # the far future in a zone ahead of UTC does not overflow


@given(st.lists(times, max_size=30))
def test_a_grid_headed_again_in_another_zone_is_the_grid_headed_there_fuzz(stamps: list[int]) -> None:
    # What a grid does when the browser names a zone after the cards were headed by another (UTC, before it knew).
    cards = [{"key": str(i), "timestamp": str(stamp)} for i, stamp in enumerate(sorted(stamps, reverse=True))]
    now = NOW
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    headed_in_utc = with_date_headings(cards, now, UTC)
    assert undated(headed_in_utc) == [{**card, "heading": ""} for card in cards]
    assert with_date_headings(undated(headed_in_utc), now, kiritimati) == with_date_headings(cards, now, kiritimati)
