"""The web app's relative times ("3 min ago", "yesterday"): a pure function of a time and `now`, so it is tested here
in the main environment (webapp.media_rows imports nothing of Reflex)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.media_rows import AGE_UNITS, age, media_card, relative_time
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))

NOW = 1_780_000_000
ORDER = ["now", *(name for name, _ in AGE_UNITS)]
seconds = st.integers(min_value=-(10**9), max_value=10**10)


@given(seconds, seconds)
def test_age_is_monotone_fuzz(a: int, b: int) -> None:
    """An older time never reads as more recent: (unit, count) only grows with the age."""
    earlier, later = sorted((a, b))
    unit_a, count_a = age(earlier)
    unit_b, count_b = age(later)
    assert (ORDER.index(unit_a), count_a) <= (ORDER.index(unit_b), count_b)


@given(seconds)
def test_age_is_never_negative_fuzz(elapsed: int) -> None:
    unit, count = age(elapsed)
    assert count >= 0
    assert (unit == "now") == (count == 0)
    assert "-" not in relative_time(NOW - elapsed, NOW)


@given(st.integers(min_value=60, max_value=10**10))
def test_age_counts_whole_units_fuzz(elapsed: int) -> None:
    """The count is the whole number of its unit in the age, and under one of the next unit."""
    unit, count = age(elapsed)
    lengths = dict(AGE_UNITS)
    assert count * lengths[unit] <= elapsed < (count + 1) * lengths[unit]
    bigger = ORDER.index(unit) + 1
    if bigger < len(ORDER):
        assert elapsed < lengths[ORDER[bigger]]


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 min ago"),
        (3 * 60 + 59, "3 min ago"),
        (3599, "59 min ago"),
        (3600, "1 hour ago"),
        (2 * 3600, "2 hours ago"),
        (86_399, "23 hours ago"),
        (86_400, "yesterday"),
        (2 * 86_400 - 1, "yesterday"),
        (2 * 86_400, "2 days ago"),
        (7 * 86_400 - 1, "6 days ago"),
        (7 * 86_400, "1 week ago"),
        (30 * 86_400 - 1, "4 weeks ago"),
        (30 * 86_400, "1 month ago"),
        (365 * 86_400 - 1, "12 months ago"),
        (365 * 86_400, "1 year ago"),
        (3 * 365 * 86_400, "3 years ago"),
    ],
)
def test_relative_time_units_at_their_boundaries(elapsed: int, text: str) -> None:
    assert relative_time(NOW - elapsed, NOW) == text


def test_relative_time_of_the_future_or_nothing() -> None:
    assert relative_time(NOW + 3600, NOW) == "just now"  # a clock ahead of ours: never "-1 hour ago"
    assert relative_time(None, NOW) == ""
    assert relative_time(0, NOW) == ""


def test_card_has_relative_and_absolute_time() -> None:
    row = {"id": "0x" + "ab" * 32, "title": "t", "owner": "0x" + "11" * 20, "time": NOW - 180}
    card = media_card(row, "", "", now=NOW)
    assert card["time_ago"] == "3 min ago"
    assert card["time"].endswith("UTC")
    assert media_card(row, "", "")["time_ago"] == ""  # no clock inside: without `now`, no relative time


def test_card_carries_social_counts_when_the_row_has_them() -> None:
    row = {"id": "0x" + "ab" * 32, "title": "t", "owner": "0x" + "11" * 20, "likes": 3, "comments": 0}
    card = media_card(row, "", "")
    assert (card["likes"], card["comments"]) == ("3", "0")
    bare = media_card({k: v for k, v in row.items() if k not in ("likes", "comments")}, "", "")
    assert (bare["likes"], bare["comments"]) == ("", "")
    assert media_card({**row, "likes": True, "comments": -1}, "", "")["likes"] == ""
