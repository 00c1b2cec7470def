"""ByteCache: an in-memory LRU of whole objects by content hash, bounded by the bytes it holds.

Objects are addressed by sha256, so a cached entry is never stale; eviction is the only way out.
"""

from __future__ import annotations

from collections import OrderedDict


class ByteCache:
    """Keeps objects of at most `max_object` bytes while their total stays within `capacity` bytes."""

    def __init__(self, capacity: int, max_object: int) -> None:
        self.capacity = capacity
        self.max_object = min(max_object, capacity)
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def fits(self, length: int) -> bool:
        return length <= self.max_object

    def get(self, key: str) -> bytes | None:
        data = self._items.get(key)
        if data is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_object:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = data
        self.size += len(data)
        while self.size > self.capacity:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)
