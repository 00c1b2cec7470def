"""The pure parts of the gateway's action checks: signatures and action ids from untrusted JSON (fuzzed: an
InputError or a value, never another exception), and issuedAt against the gateway's clock."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproof import social
from mediaproof.errors import InputError
from mediaproof.upload.actions import check_issued_at, parse_action_id, parse_signature

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=5,
)


@given(st.one_of(JSON, st.text(alphabet="0x123456789abcdefgABCDEF", max_size=200)))
def test_parse_signature_fuzz_is_bytes_or_input_error(value: Any) -> None:
    try:
        raw = parse_signature(value)
    except InputError:
        return
    assert raw and "0x" + raw.hex() == value.lower()


@given(st.text(alphabet="0x123456789abcdefABCDEFg./", max_size=80))
def test_parse_action_id_fuzz_is_an_id_or_input_error(value: str) -> None:
    try:
        parsed = parse_action_id(value)
    except InputError:
        return
    assert parsed == value.lower() and len(parsed) == 66 and "/" not in parsed


def test_a_signature_over_the_cap_is_refused() -> None:
    assert parse_signature("0x" + "ab" * 8192) == bytes.fromhex("ab" * 8192)
    with pytest.raises(InputError):
        parse_signature("0x" + "ab" * 8193)


@pytest.mark.parametrize(
    ("offset", "words"),
    [(-social.MAX_CLOCK_SKEW - 1, "behind"), (social.MAX_CLOCK_SKEW + 1, "ahead of"), (0, None),
     (social.MAX_CLOCK_SKEW, None), (-social.MAX_CLOCK_SKEW, None)],
)  # fmt: skip
def test_issued_at_must_be_near_the_gateways_clock(offset: int, words: str | None) -> None:
    now = 1_800_000_000
    action = social.Follow("0x" + "11" * 20, "0x" + "22" * 20, True, now + offset, secrets.token_bytes(32))
    if words is None:
        check_issued_at(action, now)
    else:
        with pytest.raises(InputError, match=words):
            check_issued_at(action, now)
