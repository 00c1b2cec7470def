"""The wallets a browser announced (EIP-6963) as the web app shows them (webapp.wallet_choice: pure, no Reflex):
whatever an extension announces, only bounded plain strings and image data URIs reach the page."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.wallet_choice import MAX_WALLETS, wallet_choices
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))

ICON = "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "uuid": st.text(max_size=70) | json_values,
        "name": st.text(max_size=90) | json_values,
        "icon": st.sampled_from([ICON, "javascript:alert(1)", "https://evil.example/i.png", "data:text/html,x"])
        | json_values,
        "rdns": st.text(max_size=120) | json_values,
    },
)


def test_well_formed_announcements_keep_name_icon_and_order() -> None:
    announced = [
        {"uuid": "a", "name": "Fox", "icon": ICON, "rdns": "io.fox"},
        {"uuid": "b", "name": "Other", "icon": "data:image/png;base64,AAAA", "rdns": "io.other"},
    ]
    assert wallet_choices(announced) == announced


@given(st.lists(entries | json_values, max_size=40) | json_values)
def test_any_announcement_yields_bounded_strings_and_only_image_data_icons_fuzz(announced: object) -> None:
    choices = wallet_choices(announced)
    assert len(choices) <= MAX_WALLETS
    assert len({c["uuid"] for c in choices}) == len(choices)
    for choice in choices:
        assert set(choice) == {"uuid", "name", "icon", "rdns"}
        assert all(isinstance(value, str) for value in choice.values())
        assert 0 < len(choice["uuid"]) <= 64 and 0 < len(choice["name"]) <= 60 and len(choice["rdns"]) <= 100
        assert choice["icon"] in ("", ICON) or choice["icon"].startswith("data:image/")


def test_a_flood_of_wallets_is_cut_to_the_first_sixteen_and_duplicates_dropped() -> None:
    flood = [{"uuid": str(i % 20), "name": f"w{i}"} for i in range(1000)]
    choices = wallet_choices(flood)
    assert [c["uuid"] for c in choices] == [str(i) for i in range(MAX_WALLETS)]
    assert choices[0]["name"] == "w0"
