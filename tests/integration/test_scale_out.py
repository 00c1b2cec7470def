"""Two upload and two download processes on one real PostgreSQL store: uploads and reads go through both, one of each
is SIGKILLed mid-traffic, and afterwards every upload the client saw confirmed is readable byte for byte through
what survives, and no short id or key range was handed out twice."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from tests.integration.stack import stack_settings, wait_until
from tests.integration.test_upload_service import register
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
UPLOADS = 24
KILL_AFTER = 6  # confirmed uploads before one process of each kind is killed
OWNER = Account.create()  # batched uploads need no registration and no funds


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres) -> Iterator[LocalStack]:  # type: ignore[no-untyped-def]
    settings = stack_settings(tmp_path_factory.mktemp("scale"), clusters=2, replication_factor=2).model_copy(
        update={
            "gateway_dsn": postgres.database(),
            "upload_processes": 2,
            "download_processes": 2,
            "batch_interval": 0.5,
            "prepare_variant_wait": 30.0,
        }
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_two_of_each_survive_a_kill_with_every_confirmed_upload_readable_and_no_id_twice(stack: LocalStack) -> None:
    assert len(stack.uploads) == 2 and all(p is not None and p.running for p in stack.uploads)
    assert stack.download is not None and stack.download.proc is not None
    workers = wait_until(lambda: len(c := children(stack.download.proc.pid)) == 2 and c, "two download processes")  # type: ignore[union-attr]
    download = stack.settings.resolved_download_url()
    confirmed: dict[str, bytes] = {}  # short id → the bytes the client sent
    lock = threading.Lock()

    def one(n: int) -> None:
        data = photo_bytes(1000 + n, (320, 240))
        try:
            result = register(stack, data, OWNER, f"Scale {n}")
        except (AssertionError, httpx.HTTPError):
            return  # refused or cut off by the kill: the client never saw it confirmed
        with lock:
            confirmed[result["short_id"]] = data
        # A read through the download processes, mid-traffic too (the killed one may have had this connection).
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{download}/m/{result['short_id']}", timeout=30)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(one, n) for n in range(UPLOADS)]
        wait_until(lambda: len(confirmed) >= KILL_AFTER, "the first confirmed uploads", timeout=300)
        killed_upload = stack.uploads[0]
        assert killed_upload is not None and killed_upload.proc is not None
        killed_upload.kill()  # the first started leads the batcher: its successor must take over
        os.kill(workers[0], signal.SIGKILL)
        for future in futures:
            future.result()

    assert stack.uploads[1] is not None and stack.uploads[1].running
    # Started after the kill, so anchored by the process that took the batcher's lead from the killed one.
    late = photo_bytes(2000, (320, 240))
    confirmed[register(stack, late, OWNER, "After the kill")["short_id"]] = late
    with httpx.Client(timeout=60) as client:
        for short_id, data in confirmed.items():
            answer = client.get(f"{download}/m/{short_id}")
            assert answer.status_code == 200 and answer.content == data, short_id

    store = GatewayStore(stack.settings.gateway_dsn, readonly=True)
    db = store._db
    links = db.execute("SELECT short_id, media_id FROM media_links WHERE media_id IS NOT NULL").fetchall()
    assert len({r[0] for r in links}) == len(links) and len({r[1] for r in links}) == len(links)
    assert set(confirmed) <= {r[0] for r in links}
    ranges = db.execute("SELECT start, stop, leased_by FROM keygen_ranges ORDER BY start").fetchall()
    for (_, stop, _), (start, _, _) in itertools.pairwise(ranges):
        assert start >= stop, "two processes leased overlapping key ranges"
    # Short ids came from both leaders: the killed one, then the one that took the lead.
    assert len({r[2] for r in ranges}) >= 2, ranges
    store.close()
