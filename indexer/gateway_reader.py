"""One read-only connection to the gateway database (SQLite or PostgreSQL), kept from pass to pass.

The indexer reads short ids and view records every poll. Opening a connection per read cost PostgreSQL a new
backend process (a fork and an authentication) several times a second; a kept connection costs it nothing between
reads. It is opened once the database exists (a SQLite file appears with the upload service's first start), and
dropped on a database error, so the next pass opens a fresh one: a restarted or failed-over server costs one pass.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from mediaproof import gateway_db

log = logging.getLogger("indexer")


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)
R = TypeVar("R")


class KeptReader(Generic[C]):
    """`read(what, default)` runs `what` on the kept connection (`opener(target, readonly=True)`), or gives
    `default` while there is no database or after an error (logged as `label`)."""

    def __init__(self, target: gateway_db.Target, opener: Callable[..., C], label: str) -> None:
        self.target = target
        self._opener = opener
        self._label = label
        self._reader: C | None = None
        self.opened = 0  # connections opened since start: one while the database stays up

    def read(self, what: Callable[[C], R], default: R) -> R:
        try:
            if self._reader is None:
                if not gateway_db.exists(self.target):
                    return default
                self._reader = self._opener(self.target, readonly=True)
                self.opened += 1
            return what(self._reader)
        except gateway_db.Error as exc:
            log.warning("cannot read %s from %s: %s", self._label, gateway_db.describe(self.target), exc)
            self.close()
            return default

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(*gateway_db.Error):  # a connection that already broke has nothing to close
                reader.close()
