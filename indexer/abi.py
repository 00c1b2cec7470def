"""Event ABIs of the Mediaproof contracts, read from contracts/interfaces/*.sol, and a log decoder.

The interfaces are the fixed contract surface: the indexer reads event shapes from them, not from a copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
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


class EventDecoder:
    """Decodes raw logs of one contract role into (event name, args)."""

    def __init__(self, events: Iterable[EventAbi]):
        self.by_topic = {e.topic0: e for e in events}

    def decode(self, topics: list[bytes], data: bytes) -> tuple[str, dict[str, Any]] | None:
        """None for a log that is not one of these events (or an anonymous one)."""
        if not topics:
            return None
        event = self.by_topic.get(topics[0])
        if event is None:
            return None
        indexed = [p for p in event.params if p.indexed]
        plain = [p for p in event.params if not p.indexed]
        args: dict[str, Any] = {}
        for param, topic in zip(indexed, topics[1:], strict=True):
            args[param.name] = _normalise(abi_decode([param.type], topic)[0], param.type)
        for param, value in zip(plain, abi_decode([p.type for p in plain], data), strict=True):
            args[param.name] = _normalise(value, param.type)
        return event.name, args


def all_topics(events: dict[str, list[EventAbi]]) -> list[str]:
    """topic0 of every event, as 0x-hex, for one eth_getLogs filter."""
    return sorted({"0x" + e.topic0.hex() for evs in events.values() for e in evs})
