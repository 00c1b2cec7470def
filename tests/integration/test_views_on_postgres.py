"""Views end to end on one real PostgreSQL store: reads through two download processes, each writing its view records
into the gateway database, and the indexer (reading that database, no file of another service) counts every view
once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from mediaproof.devstack import LocalStack
from mediaproof.view_records import ViewRecords
from tests.integration.stack import stack_settings, wait_until
from tests.integration.test_upload_service import register
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
READS = 200
OWNER = Account.create()  # batched uploads need no registration and no funds


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres) -> Iterator[LocalStack]:  # type: ignore[no-untyped-def]
    settings = stack_settings(tmp_path_factory.mktemp("views")).model_copy(
        update={"gateway_dsn": postgres.database(), "download_processes": 2, "batch_interval": 0.5}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


def test_views_through_two_download_processes_are_counted_once_by_the_indexer(stack: LocalStack) -> None:
    assert stack.download is not None and stack.download.proc is not None
    workers = Path(f"/proc/{stack.download.proc.pid}/task/{stack.download.proc.pid}/children")
    wait_until(lambda: len(workers.read_text().split()) == 2, "two download processes")
    short_id = register(stack, photo_bytes(7, (320, 240)), OWNER, "Counted twice never")["short_id"]
    download = stack.settings.resolved_download_url()

    def read(_: int) -> int:
        with httpx.Client(timeout=30) as client:  # a connection each: the workers share the port and take turns
            return client.get(f"{download}/m/{short_id}?size=small").status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(read, range(READS))) == {200}
    indexer = stack.settings.resolved_indexer_url()

    def counted() -> int:
        answer = httpx.get(f"{indexer}/analytics/media/{short_id}", timeout=10)
        return int(answer.json()["views"]) if answer.status_code == 200 else -1  # 404 until the media is indexed

    wait_until(lambda: counted() >= READS, f"the indexer counting {READS} views", timeout=120)
    # Everything written is read: the indexer's cursor is at the last record, and not one view twice or missed.
    records = ViewRecords(stack.settings.resolved_gateway_store(), readonly=True)
    try:
        last = records.after(0, 100_000)[-1][0]
    finally:
        records.close()
    wait_until(lambda: httpx.get(f"{indexer}/health", timeout=10).json()["views"]["read_through"] == last, "read all")
    assert counted() == READS
    assert httpx.get(f"{indexer}/health", timeout=10).json()["views"]["missed"] == 0
