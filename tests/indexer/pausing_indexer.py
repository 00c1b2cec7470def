"""The indexer's entry point in a forked child that tells the parent, through a pipe, about every block range the
store writes, and stops at a chosen one until the parent kills it: inside the open DuckDB transaction (the range's
rows and cursor written, COMMIT not yet run) or right after the commit. Test-only: it patches Store in the child.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection

from indexer.__main__ import main as indexer_main
from indexer.handlers import Write
from indexer.store import BlockRef, Store

IN_TRANSACTION = "in transaction"
AFTER_COMMIT = "after commit"


def run_until_paused(argv: list[str], pipe: Connection, pause_at: int, where: str) -> None:
    """Target of the forked child: sends ("wrote", n, block) for each range written and ("paused", n, block) once it
    holds still at write `pause_at`; the parent SIGKILLs it there."""
    insert_blocks, apply = Store._insert_blocks, Store.apply
    written = 0

    def hold(block: int) -> None:
        pipe.send(("paused", written, block))
        with contextlib.suppress(EOFError):  # EOF: the parent is gone, so do not run on
            pipe.recv()  # never answered: the parent kills us while we wait
        os._exit(3)

    def insert_blocks_then_report(self: Store, blocks: Sequence[BlockRef]) -> None:
        nonlocal written
        insert_blocks(self, blocks)  # the last statement of Store.apply's transaction before COMMIT
        written += 1
        pipe.send(("wrote", written, blocks[-1].number))
        if written == pause_at and where == IN_TRANSACTION:
            hold(blocks[-1].number)

    def apply_then_report(self: Store, blocks: Sequence[BlockRef], writes: Iterable[Write], keep: int = 256) -> None:
        apply(self, blocks, writes, keep)
        if written == pause_at and where == AFTER_COMMIT:
            hold(blocks[-1].number)

    Store._insert_blocks = insert_blocks_then_report  # type: ignore[method-assign]
    Store.apply = apply_then_report  # type: ignore[method-assign]
    indexer_main(argv)
    pipe.send(("finished", written, None))
