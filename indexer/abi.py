"""Event ABIs of the Mediaproof contracts, read from the exported JSON ABIs (mediaproof/abi/*.json), and a log
decoder.

The exported ABIs are what the deployed bytecode was compiled with, so the indexer reads event shapes from them
(`mediaproof.abis.load_abi`). Each event gets a decoding plan worked out once: a reader per topic and per
head slot of the data, following offsets for strings, bytes, arrays and tuples, so the common logs decode without
eth_abi; anything the plan does not read (non-canonical padding, odd offsets) goes to eth_abi, the reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from mediaproof.abis import load_abi
from mediaproof.errors import InputError

# The contract roles whose events the indexer follows (each is one exported ABI).
CONTRACTS = ("MediaApp", "UserMedia", "StorageTopology", "ProjectRegistry")


@dataclass(frozen=True)
class EventParam:
    """One parameter (or tuple component): its canonical ABI type, e.g. `(uint32,uint64,bytes)[]`."""

    name: str
    type: str
    indexed: bool = False
    components: tuple[EventParam, ...] = ()  # for tuple types (and arrays of them): the named parts

    @property
    def is_tuple(self) -> bool:
        return self.type.startswith("(")


@dataclass(frozen=True)
class EventAbi:
    contract: str
    name: str
    params: tuple[EventParam, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(p.type for p in self.params)})"

    @property
    def topic0(self) -> bytes:
        return bytes(keccak(text=self.signature))


def _param(item: dict[str, Any]) -> EventParam:
    """An ABI JSON input as an EventParam; tuples get their canonical `(…)` type and named components."""
    type_ = str(item["type"])
    components: tuple[EventParam, ...] = ()
    if type_.startswith("tuple"):
        components = tuple(_param(c) for c in item.get("components", []))
        type_ = "(" + ",".join(c.type for c in components) + ")" + type_[len("tuple") :]
    return EventParam(str(item.get("name", "")), type_, bool(item.get("indexed", False)), components)


def canonical_types(inputs: Iterable[dict[str, Any]]) -> list[str]:
    """The canonical ABI types of a function's or event's JSON inputs (tuples spelled `(…)`)."""
    return [_param(i).type for i in inputs]


def events_from_abi(abi: Iterable[dict[str, Any]], contract: str) -> list[EventAbi]:
    """Every non-anonymous event of one contract's JSON ABI."""
    return [
        EventAbi(contract, str(item["name"]), tuple(_param(i) for i in item.get("inputs", [])))
        for item in abi
        if item.get("type") == "event" and not item.get("anonymous", False)
    ]


def load_events() -> dict[str, list[EventAbi]]:
    """contract role → its events, from mediaproof/abi/<role>.json."""
    return {contract: events_from_abi(load_abi(contract), contract) for contract in CONTRACTS}


def all_topics(events: dict[str, list[EventAbi]]) -> list[str]:
    """topic0 of every event, as 0x-hex, for one eth_getLogs filter."""
    return sorted({"0x" + e.topic0.hex() for evs in events.values() for e in evs})


# -- normalising eth_abi's values the way the indexer stores them -----------------------------------------------
def _normalise(value: Any, param: EventParam) -> Any:
    """Addresses checksummed, bytes as 0x-hex, ints as ints, tuples as dicts by component name."""
    type_ = param.type
    if type_.endswith("[]"):
        item = EventParam(param.name, type_[:-2], components=param.components)
        return [_normalise(v, item) for v in value]
    if param.is_tuple:
        return {c.name: _normalise(v, c) for c, v in zip(param.components, value, strict=True)}
    if type_ == "address":
        return to_checksum_address(value)
    if type_.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


# -- the fast path -------------------------------------------------------------------------------------------
class _NotFast(Exception):
    """The fast path met something it does not read (non-canonical padding, odd offsets): eth_abi decides."""


@lru_cache(maxsize=65536)
def _checksum(raw: bytes) -> str:
    # Few distinct addresses recur across millions of logs; keccak for each one once.
    return to_checksum_address(raw)


@lru_cache(maxsize=65536)
def checksum_address(address: str) -> str:
    """A log's emitting address, checksummed (cached like the addresses inside events)."""
    return to_checksum_address(address)


WordReader = Callable[[bytes], Any]
# (data, base, at): reads the value whose head slot is at byte `at`; offsets inside it count from `base`.
SlotReader = Callable[[bytes, int, int], Any]


def _word_reader(type_: str) -> WordReader | None:
    """A reader of one 32-byte word of a static type, normalised as `_normalise` would; None if not one word."""
    if type_ == "address":

        def address(word: bytes) -> str:
            if any(word[:12]):
                raise _NotFast
            return _checksum(word[12:])

        return address
    if type_ == "bool":

        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise _NotFast
            return value == 1

        return boolean
    m = re.fullmatch(r"(u?)int(\d*)", type_)
    if m:
        bits = int(m.group(2) or 256)
        if m.group(1):
            limit = 1 << bits

            def uint(word: bytes) -> int:
                value = int.from_bytes(word, "big")
                if value >= limit:
                    raise _NotFast
                return value

            return uint
        low, high = -(1 << (bits - 1)), 1 << (bits - 1)

        def sint(word: bytes) -> int:
            value = int.from_bytes(word, "big", signed=True)
            if not low <= value < high:
                raise _NotFast
            return value

        return sint
    m = re.fullmatch(r"bytes(\d+)", type_)
    if m and 1 <= int(m.group(1)) <= 32:
        n = int(m.group(1))

        def fixed_bytes(word: bytes) -> str:
            if any(word[n:]):
                raise _NotFast
            return "0x" + word[:n].hex()

        return fixed_bytes
    return None


def _is_dynamic(param: EventParam) -> bool:
    if param.type in ("string", "bytes") or param.type.endswith("[]"):
        return True
    return param.is_tuple and any(_is_dynamic(c) for c in param.components)


def _head_words(param: EventParam) -> int | None:
    """Words `param` takes in its enclosing head: 1 for dynamic and one-word types, the sum of the parts for a
    static tuple; None for what the fast path does not read (fixed-size arrays)."""
    if _is_dynamic(param):
        return 1
    if param.is_tuple:
        parts = [_head_words(c) for c in param.components]
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    return 1 if _word_reader(param.type) is not None else None


def _offset(data: bytes, base: int, at: int) -> int:
    """Where a dynamic value starts: the offset in the head slot at `at`, counted from `base`."""
    start = base + int.from_bytes(data[at : at + 32], "big")
    if start % 32 or start + 32 > len(data):
        raise _NotFast
    return start


def _slot_reader(param: EventParam) -> SlotReader | None:
    """A reader of `param` from its head slot; None when the fast path does not read this type."""
    type_ = param.type
    if type_.endswith("[]"):
        return _array_reader(EventParam(param.name, type_[:-2], components=param.components))
    if param.is_tuple:
        return _tuple_reader(param)
    if type_ in ("string", "bytes"):
        as_text = type_ == "string"

        def blob(data: bytes, base: int, at: int) -> Any:
            start = _offset(data, base, at)
            length = int.from_bytes(data[start : start + 32], "big")
            if start + 32 + length > len(data):
                raise _NotFast
            raw = data[start + 32 : start + 32 + length]
            return raw.decode("utf-8") if as_text else "0x" + raw.hex()

        return blob
    word = _word_reader(type_)
    if word is None:
        return None
    return lambda data, base, at: word(data[at : at + 32])


def _array_reader(item: EventParam) -> SlotReader | None:
    """`item[]`: a length word, then the items' heads (offsets from just after the length for dynamic items)."""
    read_item = _slot_reader(item)
    words = _head_words(item)
    if read_item is None or words is None:
        return None
    stride = 32 * words

    def array(data: bytes, base: int, at: int) -> list[Any]:
        start = _offset(data, base, at)
        count = int.from_bytes(data[start : start + 32], "big")
        body = start + 32
        if body + stride * count > len(data):
            raise _NotFast
        return [read_item(data, body, body + stride * i) for i in range(count)]

    return array


def _tuple_reader(param: EventParam) -> SlotReader | None:
    """A tuple: its components' heads one after another; a dynamic tuple sits behind an offset and its parts'
    offsets count from its own start, a static one is inline."""
    parts: list[tuple[str, SlotReader, int]] = []
    at = 0
    for component in param.components:
        reader, words = _slot_reader(component), _head_words(component)
        if reader is None or words is None:
            return None
        parts.append((component.name, reader, at))
        at += 32 * words
    size = at
    dynamic = _is_dynamic(param)

    def read_tuple(data: bytes, base: int, slot: int) -> dict[str, Any]:
        start = _offset(data, base, slot) if dynamic else slot
        if start + size > len(data):
            raise _NotFast
        return {name: read(data, start, start + rel) for name, read, rel in parts}

    return read_tuple


class _EventPlan:
    """One event's decoding worked out once: a reader per topic and per head slot of the data."""

    def __init__(self, event: EventAbi):
        self.event = event
        self.indexed = [p for p in event.params if p.indexed]
        self.plain = [p for p in event.params if not p.indexed]
        self.plain_types = [p.type for p in self.plain]
        # Indexed values are one word each (dynamic ones are stored as their hash, which is a bytes32).
        topic_readers = [(p.name, _word_reader(p.type if not _is_dynamic(p) else "bytes32")) for p in self.indexed]
        self.topic_readers = [(n, r) for n, r in topic_readers if r is not None]
        self.data_readers: list[tuple[str, SlotReader, int]] = []
        at, readable = 0, True
        for p in self.plain:
            reader, words = _slot_reader(p), _head_words(p)
            if reader is None or words is None:
                readable = False
                break
            self.data_readers.append((p.name, reader, at))
            at += 32 * words
        # Only when every parameter has a fast reader; otherwise every log of this event goes to eth_abi.
        self.fast = readable and len(self.topic_readers) == len(self.indexed)
        self.min_data = at

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise InputError(
                f"{self.event.name} has {len(self.indexed)} indexed parameters but the log has {len(topics) - 1} topics"
            )
        if self.fast and len(data) >= self.min_data:
            try:
                args = {name: read(topic) for (name, read), topic in zip(self.topic_readers, topics[1:], strict=True)}
                for name, read_at, at in self.data_readers:
                    args[name] = read_at(data, 0, at)
                return args
            except (_NotFast, UnicodeDecodeError):
                pass
        return self.slow_decode(topics, data)

    def slow_decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """eth_abi's answer: the reference the fast path must equal, and the judge of odd encodings."""
        args: dict[str, Any] = {}
        for param, topic in zip(self.indexed, topics[1:], strict=True):
            if _is_dynamic(param):
                args[param.name] = "0x" + topic.hex()  # the hash of the value, not the value
            else:
                args[param.name] = _normalise(abi_decode([param.type], topic)[0], param)
        for param, value in zip(self.plain, abi_decode(self.plain_types, data), strict=True):
            args[param.name] = _normalise(value, param)
        return args


class EventDecoder:
    """Decodes raw logs of one contract role into (event name, args)."""

    def __init__(self, events: Iterable[EventAbi]):
        self.by_topic = {e.topic0: e for e in events}
        self._plans = {topic: _EventPlan(e) for topic, e in self.by_topic.items()}

    def decode(self, topics: list[bytes], data: bytes) -> tuple[str, dict[str, Any]] | None:
        """None for a log that is not one of these events (or an anonymous one)."""
        if not topics:
            return None
        plan = self._plans.get(topics[0])
        if plan is None:
            return None
        return plan.event.name, plan.decode(topics, data)

    def topic_of(self, name: str) -> bytes:
        """topic0 of the event called `name` (KeyError if this contract has none)."""
        for topic, event in self.by_topic.items():
            if event.name == name:
                return topic
        raise KeyError(name)
