"""Event shapes come from the exported JSON ABIs; the fast event decoder equals eth_abi's answer for every
Mediaproof event (tuple arrays included), and hands odd encodings to eth_abi."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.abi import EventAbi, EventDecoder, EventParam, load_events
from mediaproof.deployment import load_abi

EVENTS = [e for evs in load_events().values() for e in evs]


def test_events_are_the_round_two_events_of_the_exported_abis():
    names = {(e.contract, e.name) for e in EVENTS}
    assert {("UserMedia", "MediaRegistered"), ("MediaApp", "BatchAnchored"), ("MediaApp", "ProofRevealed"),
            ("MediaApp", "WithdrawalRequested"), ("StorageTopology", "GatewaySet"),
            ("StorageTopology", "OwnershipTransferStarted")} <= names  # fmt: skip
    assert not {n for _, n in names} & {"StorageReceiptAccepted", "ProofRecorded", "AdminTransferred"}
    registered = next(e for e in EVENTS if e.name == "MediaRegistered")
    assert registered.signature == (
        "MediaRegistered(bytes32,address,bytes32,string,uint64,string,string,bytes32,address,(uint32,uint64,bytes)[])"
    )
    assert [c.name for c in registered.params[-1].components] == ["clusterId", "issuedAt", "signature"]
    # every event of every exported ABI, nothing more
    for contract in ("MediaApp", "UserMedia", "StorageTopology"):
        exported = {i["name"] for i in load_abi(contract) if i["type"] == "event"}
        assert exported == {e.name for e in EVENTS if e.contract == contract}


def values_for(param: EventParam) -> st.SearchStrategy[Any]:
    type_ = param.type
    if type_.endswith("[]"):
        return st.lists(values_for(EventParam(param.name, type_[:-2], components=param.components)), max_size=4)
    if param.is_tuple:
        return st.tuples(*(values_for(c) for c in param.components))
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
    values = {p.name: draw(values_for(p)) for p in event.params}
    return (event, *encoded_log(event, values))


@settings(max_examples=300, deadline=None)
@given(logs())
def test_fast_decoder_equals_eth_abi_fuzz(case: tuple[EventAbi, list[bytes], bytes]):
    event, topics, data = case
    decoder = EventDecoder([event])
    plan = decoder._plans[event.topic0]
    assert plan.fast, f"{event.signature} should decode without eth_abi"
    assert decoder.decode(topics, data) == (event.name, plan.slow_decode(topics, data))


def test_receipts_decode_as_named_tuples():
    event = next(e for e in EVENTS if e.name == "MediaRegistered")
    values = {"mediaId": b"\1" * 32, "owner": "0x" + "22" * 20, "sha256": b"\3" * 32, "cid": "bafk", "size": 9,
              "mediaType": "image/png", "title": "t", "parent": b"\0" * 32, "sender": "0x" + "44" * 20,
              "receipts": [(1, 1733000000, b"\x05" * 65), (2, 7, b"")]}  # fmt: skip
    name, args = EventDecoder([event]).decode(*encoded_log(event, values))
    assert name == "MediaRegistered"
    assert args["receipts"] == [
        {"clusterId": 1, "issuedAt": 1733000000, "signature": "0x" + "05" * 65},
        {"clusterId": 2, "issuedAt": 7, "signature": "0x"},
    ]


def test_non_canonical_encoding_is_left_to_eth_abi():
    event = next(e for e in EVENTS if e.name == "MediaVariantRegistered")
    topics, data = encoded_log(
        event, {"mediaId": b"\1" * 32, "sha256": b"\2" * 32, "name": "small", "cid": "c", "size": 7}
    )
    decoder = EventDecoder([event])
    # a uint64 with high bytes set is not what a contract emits: eth_abi's rules apply
    bad_size = data[:64] + (2**64).to_bytes(32, "big") + data[96:]
    with pytest.raises(Exception, match=r"(?i)value|bound|range|padding"):
        decoder.decode(topics, bad_size)
    assert decoder.decode(topics, data) == (
        "MediaVariantRegistered",
        {"mediaId": "0x" + "01" * 32, "sha256": "0x" + "02" * 32, "name": "small", "cid": "c", "size": 7},
    )
