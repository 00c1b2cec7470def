"""The fast event decoder equals eth_abi's answer for every Mediaproof event, and hands odd encodings to eth_abi."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.abi import EventAbi, EventDecoder, load_events

EVENTS = [e for evs in load_events().values() for e in evs]


def values_for(type_: str) -> st.SearchStrategy[Any]:
    if type_.endswith("[]"):
        return st.lists(values_for(type_[:-2]), max_size=5)
    if type_ == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if type_ == "bool":
        return st.booleans()
    if type_ == "string":
        return st.text(max_size=80)
    if type_ == "bytes":
        return st.binary(max_size=100)
    if type_.startswith("bytes"):
        return st.binary(min_size=int(type_[5:]), max_size=int(type_[5:]))
    if type_.startswith("uint"):
        return st.integers(0, 2 ** int(type_[4:] or 256) - 1)
    if type_.startswith("int"):
        bits = int(type_[3:] or 256)
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    raise AssertionError(f"no strategy for {type_}")


def encoded_log(event: EventAbi, values: dict[str, Any]) -> tuple[list[bytes], bytes]:
    topics = [event.topic0] + [encode([p.type], [values[p.name]]) for p in event.params if p.indexed]
    plain = [p for p in event.params if not p.indexed]
    return topics, encode([p.type for p in plain], [values[p.name] for p in plain])


@st.composite
def logs(draw: st.DrawFn) -> tuple[EventAbi, list[bytes], bytes]:
    event = draw(st.sampled_from(EVENTS))
    values = {p.name: draw(values_for(p.type)) for p in event.params}
    return (event, *encoded_log(event, values))


@settings(max_examples=300, deadline=None)
@given(logs())
def test_fast_decoder_equals_eth_abi_fuzz(case: tuple[EventAbi, list[bytes], bytes]):
    event, topics, data = case
    decoder = EventDecoder([event])
    plan = decoder._plans[event.topic0]
    assert plan.fast, f"{event.signature} should decode without eth_abi"
    assert decoder.decode(topics, data) == (event.name, plan.slow_decode(topics, data))


def test_non_canonical_encoding_is_left_to_eth_abi():
    event = next(e for e in EVENTS if e.name == "MediaVariantRegistered")
    topics, data = encoded_log(
        event, {"mediaId": b"\1" * 32, "sha256": b"\2" * 32, "name": "small", "cid": "c", "size": 7}
    )
    decoder = EventDecoder([event])
    # an address-sized topic with high bytes set is not an address a contract emits: eth_abi's rules apply
    bad_size = data[:64] + (2**64).to_bytes(32, "big") + data[96:]
    with pytest.raises(Exception, match=r"(?i)value|bound|range|padding"):
        decoder.decode(topics, bad_size)
    assert decoder.decode(topics, data) == (
        "MediaVariantRegistered",
        {"mediaId": "0x" + "01" * 32, "sha256": "0x" + "02" * 32, "name": "small", "cid": "c", "size": 7},
    )
