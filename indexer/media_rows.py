"""Compact in-memory columns of the media rows, by document ordinal: search hits are answered without a DuckDB
lookup (20 point reads there cost 15-60 ms over 1M rows; here a few microseconds each).

Hashes live as raw bytes, owners, media types and kinds as codes into small tables, titles and CIDs in one UTF-8 buffer
each with offsets: about 250 bytes a title. Rows are appended in chain order (the ordinal order); short ids arrive
later from the gateway and are kept apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The columns a search hit carries, as the store's other media reads name them.
MEDIA_COLUMNS = (
    "id",
    "short_id",
    "kind",
    "batch",
    "owner",
    "user_contract",
    "sha256",
    "cid",
    "title",
    "media_type",
    "size",
    "parent",
    "time",
    "block",
    "tx_hash",
    "deleted",
)
_HASHES = ("id", "sha256", "tx_hash")  # 32 bytes each, stored raw


class _Text:
    """Many strings in one UTF-8 buffer with offsets (None kept as a flag)."""

    def __init__(self, values: Any):
        encoded = [b"" if v is None else v.encode() for v in values]
        self.missing = np.array([v is None for v in values], dtype=bool)
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum([len(e) for e in encoded], out=self.offsets[1:])
        self.buffer = b"".join(encoded)

    def __getitem__(self, i: int) -> str | None:
        if self.missing[i]:
            return None
        return self.buffer[self.offsets[i] : self.offsets[i + 1]].decode()


class MediaRows:
    """Rows by ordinal 0..n-1. `load` takes a block of rows (numpy columns ordered by ordinal); `append` adds the
    rows of newer blocks; `get` answers one ordinal as the dict the API returns."""

    def __init__(self, columns: dict[str, Any] | None = None):
        columns = columns or {name: [] for name in MEDIA_COLUMNS}
        n = len(columns["id"])
        self._n = n
        hashes = np.zeros((n, 32 * len(_HASHES)), dtype=np.uint8)
        for k, name in enumerate(_HASHES):
            raw = bytes.fromhex("".join(v[2:] for v in columns[name]))
            hashes[:, 32 * k : 32 * (k + 1)] = np.frombuffer(raw, dtype=np.uint8).reshape(n, 32)
        self._hashes = hashes
        self._owners: list[tuple[str, str | None]] = []
        owner_codes: dict[tuple[str, str | None], int] = {}
        self._owner = np.array(
            [
                owner_codes.setdefault((o, u), len(owner_codes))
                for o, u in zip(columns["owner"], columns["user_contract"], strict=True)
            ],
            dtype=np.int32,
        )
        self._owners = list(owner_codes)
        type_codes: dict[str, int] = {}
        self._type = np.array([type_codes.setdefault(t, len(type_codes)) for t in columns["media_type"]], np.int32)
        self._types = list(type_codes)
        kind_codes: dict[str, int] = {}
        self._kind = np.array([kind_codes.setdefault(k, len(kind_codes)) for k in columns["kind"]], np.int8)
        self._kinds = list(kind_codes)
        self._title = _Text(columns["title"])
        self._cid = _Text(columns["cid"])
        ints = [columns["size"], columns["time"], columns["block"], columns["batch"]]
        self._ints = np.array(ints, dtype=np.int64).reshape(4, n)
        self._parent = {i: p for i, p in enumerate(columns["parent"]) if p is not None}
        self._short_id = {i: s for i, s in enumerate(columns["short_id"]) if s is not None}
        self._recent: list[dict[str, Any]] = []  # rows appended since the columns were built

    def __len__(self) -> int:
        return self._n + len(self._recent)

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Rows of newer blocks, in ordinal order."""
        for row in rows:
            self._recent.append({name: row[name] for name in MEDIA_COLUMNS})

    def truncate(self, n: int) -> None:
        """Forgets rows from ordinal `n` on (a rollback of recent blocks); `n` may not cut into the columns."""
        if n < self._n:
            raise ValueError("truncate cuts only rows appended since the columns were built")
        del self._recent[n - self._n :]

    def set_short_id(self, ordinal: int, short_id: str) -> None:
        if ordinal >= self._n:
            self._recent[ordinal - self._n]["short_id"] = short_id
        else:
            self._short_id[ordinal] = short_id

    def get(self, i: int) -> dict[str, Any]:
        if i >= self._n:
            return self._recent[i - self._n] | {"deleted": False}
        h = self._hashes[i].tobytes()
        owner, user_contract = self._owners[self._owner[i]]
        size, time, block, batch = (int(v) for v in self._ints[:, i])
        return {
            "id": "0x" + h[0:32].hex(),
            "short_id": self._short_id.get(i),
            "kind": self._kinds[self._kind[i]],
            "batch": batch,
            "owner": owner,
            "user_contract": user_contract,
            "sha256": "0x" + h[32:64].hex(),
            "cid": self._cid[i],
            "title": self._title[i],
            "media_type": self._types[self._type[i]],
            "size": size,
            "parent": self._parent.get(i),
            "time": time,
            "block": block,
            "tx_hash": "0x" + h[64:96].hex(),
            "deleted": False,  # the index drops deleted media before rows are asked for
        }
