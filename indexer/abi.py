"""Event ABIs of the Mediaproof contracts, read from contracts/interfaces/*.sol, and a log decoder.

The interfaces are the fixed contract surface: the indexer reads event shapes from them, not from a copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from mediaproof.errors import InputError
from mediaproof.settings import PROJECT_ROOT

INTERFACES_DIR = PROJECT_ROOT / "contracts" / "interfaces"
# Which interface file each contract role's events live in.
CONTRACT_INTERFACES = {
    "MediaApp": "IMediaApp.sol",
    "UserMedia": "IUserMedia.sol",
    "StorageTopology": "IStorageTopology.sol",
}
# Enums are uint8 on the ABI.
_TYPE_ALIASES = {"ClusterStatus": "uint8", "uint": "uint256", "int": "int256"}
_EVENT_RE = re.compile(r"\bevent\s+(\w+)\s*\(([^)]*)\)\s*;", re.S)


@dataclass(frozen=True)
class EventParam:
    name: str
    type: str
    indexed: bool


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


def parse_events(source: str, contract: str) -> list[EventAbi]:
    """Every `event` declaration in Solidity source text."""
    events = []
    for name, body in _EVENT_RE.findall(source):
        params = []
        for raw in filter(None, (part.strip() for part in body.split(","))):
            words = raw.split()
            if len(words) not in (2, 3) or (len(words) == 3 and words[1] != "indexed"):
                raise InputError(f"cannot read the parameter {raw!r} of event {name} in {contract}")
            base = words[0]
            array = ""
            if base.endswith("[]"):
                base, array = base[:-2], "[]"
            params.append(EventParam(words[-1], _TYPE_ALIASES.get(base, base) + array, len(words) == 3))
        events.append(EventAbi(contract, name, tuple(params)))
    return events


def load_events(interfaces_dir: Path = INTERFACES_DIR) -> dict[str, list[EventAbi]]:
    """contract role → its events, from the interface files."""
    out = {}
    for contract, filename in CONTRACT_INTERFACES.items():
        path = interfaces_dir / filename
        if not path.exists():
            raise InputError(f"interface file {path} is missing: the indexer reads event shapes from it")
        out[contract] = parse_events(path.read_text(), contract)
    return out


def _normalise(value: Any, type_: str) -> Any:
    """ABI values as the indexer stores them: addresses checksummed, bytes as 0x-hex, ints as ints."""
    if type_ == "address":
        return to_checksum_address(value)
    if type_.startswith("bytes"):
        return "0x" + bytes(value).hex()
    if type_.endswith("[]"):
        return [_normalise(v, type_[:-2]) for v in value]
    return value


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


def _word_reader(type_: str) -> Callable[[bytes], Any] | None:
    """A reader of one 32-byte word of a static type, normalised as `_normalise` would; None if not static."""
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


def _data_reader(type_: str) -> Callable[[bytes, int], Any] | None:
    """A reader of one head slot at a byte offset of the data (following the offset for dynamic types)."""
    word = _word_reader(type_)
    if word is not None:
        return lambda data, at: word(data[at : at + 32])

    def tail(data: bytes, at: int) -> tuple[int, int]:
        start = int.from_bytes(data[at : at + 32], "big")
        if start % 32 or start + 32 > len(data):
            raise _NotFast
        count = int.from_bytes(data[start : start + 32], "big")
        return start + 32, count

    if type_ in ("string", "bytes"):
        as_text = type_ == "string"

        def blob(data: bytes, at: int) -> Any:
            begin, length = tail(data, at)
            if begin + length > len(data):
                raise _NotFast
            raw = data[begin : begin + length]
            return raw.decode("utf-8") if as_text else "0x" + raw.hex()

        return blob
    if type_.endswith("[]"):
        item = _word_reader(type_[:-2])
        if item is None:
            return None  # arrays of dynamic items: rare enough for eth_abi

        def array(data: bytes, at: int) -> list[Any]:
            begin, count = tail(data, at)
            if begin + 32 * count > len(data):
                raise _NotFast
            return [item(data[i : i + 32]) for i in range(begin, begin + 32 * count, 32)]

        return array
    return None


class _EventPlan:
    """One event's decoding worked out once: a reader per topic and per head slot of the data."""

    def __init__(self, event: EventAbi):
        self.event = event
        indexed = [p for p in event.params if p.indexed]
        self.plain = [p for p in event.params if not p.indexed]
        self.plain_types = [p.type for p in self.plain]
        self.indexed = indexed
        topic_readers = [(p.name, _word_reader(p.type)) for p in indexed]
        data_readers = [(p.name, _data_reader(p.type), 32 * i) for i, p in enumerate(self.plain)]
        # Only when every parameter has a fast reader; otherwise every log of this event goes to eth_abi.
        self.topic_readers = [(n, r) for n, r in topic_readers if r is not None]
        self.data_readers = [(n, r, at) for n, r, at in data_readers if r is not None]
        self.fast = len(self.topic_readers) == len(indexed) and len(self.data_readers) == len(self.plain)
        self.min_data = 32 * len(self.plain)

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise InputError(
                f"{self.event.name} has {len(self.indexed)} indexed parameters but the log has {len(topics) - 1} topics"
            )
        if self.fast and len(data) >= self.min_data:
            try:
                args = {name: read(topic) for (name, read), topic in zip(self.topic_readers, topics[1:], strict=True)}
                for name, read_at, at in self.data_readers:
                    args[name] = read_at(data, at)
                return args
            except (_NotFast, UnicodeDecodeError):
                pass
        return self.slow_decode(topics, data)

    def slow_decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """eth_abi's answer: the reference the fast path must equal, and the judge of odd encodings."""
        args: dict[str, Any] = {}
        for param, topic in zip(self.indexed, topics[1:], strict=True):
            args[param.name] = _normalise(abi_decode([param.type], topic)[0], param.type)
        for param, value in zip(self.plain, abi_decode(self.plain_types, data), strict=True):
            args[param.name] = _normalise(value, param.type)
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


def all_topics(events: dict[str, list[EventAbi]]) -> list[str]:
    """topic0 of every event, as 0x-hex, for one eth_getLogs filter."""
    return sorted({"0x" + e.topic0.hex() for evs in events.values() for e in evs})
