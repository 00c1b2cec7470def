"""The media page's view bars and the profile avatar: pure functions of the indexer's answer and of an address, tested
in the main environment (neither module imports Reflex)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.avatar import avatar_svg, avatar_url
    from webapp.views_chart import MAX_DAYS, day_bars, day_span, size_bars
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))


def test_day_bars_fill_quiet_days_and_scale_to_the_busiest() -> None:
    bars = day_bars([{"day": "2026-03-01", "views": 4}, {"day": "2026-03-03", "views": 2}])
    assert [(b["name"], b["views"], b["percent"]) for b in bars] == [
        ("2026-03-01", "4", "100.0%"),
        ("2026-03-02", "0", "0.0%"),
        ("2026-03-03", "2", "50.0%"),
    ]
    assert bars[0]["label"] == "Mar 1"
    assert day_span(bars) == ["Mar 1", "Mar 3"]
    assert day_span(bars[:1]) == ["Mar 1", ""]  # one day is named once
    assert day_span([]) == ["", ""]


def test_day_bars_of_no_views_or_malformed_days_are_empty() -> None:
    assert day_bars([]) == []
    assert day_bars([{"day": "yesterday", "views": 3}, {"day": None}]) == []
    hostile = [{"day": "2026-03-01", "views": "9"}, {"day": "2026-03-01", "views": -5}, {"day": "2026-03-01"}]
    assert [b["views"] for b in day_bars(hostile)] == ["0"]  # not a count: none, and the page still draws
    assert [b["views"] for b in size_bars([{"size": "small", "views": True}, {"size": "small", "views": 2.5}])] == ["0"]


@given(st.dictionaries(st.dates(), st.integers(min_value=0, max_value=10**6), max_size=40))
def test_day_bars_are_consecutive_days_ending_at_the_last_fuzz(counts) -> None:
    bars = day_bars([{"day": d.isoformat(), "views": v} for d, v in counts.items()])
    if not counts:
        assert bars == []
        return
    assert bars[-1]["name"] == max(counts).isoformat()
    assert 1 <= len(bars) <= MAX_DAYS
    shown = {b["name"]: int(b["views"]) for b in bars}
    assert all(shown.get(d.isoformat(), 0) == v for d, v in counts.items() if d.isoformat() in shown)
    assert all(0.0 <= float(b["percent"].rstrip("%")) <= 100.0 for b in bars)


def test_size_bars_go_smallest_first_and_keep_unknown_names() -> None:
    bars = size_bars([{"size": "original", "views": 1}, {"size": "zoom", "views": 1}, {"size": "small", "views": 3}])
    assert [b["name"] for b in bars] == ["small", "original", "zoom"]
    assert [b["label"] for b in bars] == ["Small", "Original", "Zoom"]
    assert bars[0]["percent"] == "100.0%"


@given(st.binary(min_size=20, max_size=20))
def test_avatar_is_the_same_for_any_spelling_of_an_address_fuzz(raw: bytes) -> None:
    address = "0x" + raw.hex()
    assert avatar_svg(address) == avatar_svg(address.upper().replace("0X", "0x"))
    assert avatar_url(address).startswith("data:image/svg+xml;base64,")
    svg = avatar_svg(address)
    for x, y in re.findall(r'<rect x="(\d)" y="(\d)"', svg):  # mirrored: every cell has its twin
        assert f'<rect x="{4 - int(x)}" y="{y}"' in svg


def test_avatars_of_two_addresses_differ() -> None:
    assert avatar_svg("0x" + "11" * 20) != avatar_svg("0x" + "22" * 20)
