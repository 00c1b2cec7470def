"""`make up`'s supervision on a real stack: a service killed with SIGKILL comes back on its port and answers, and
the supervisor's log says so."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from mediaproof.devstack import SUPERVISOR_LOG, LocalStack
from mediaproof.processes import ManagedProcess
from tests.integration.stack import stack_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(stack_settings(tmp_path_factory.mktemp("supervised")), supervise=True).start()
    try:
        yield stack
    finally:
        stack.stop()


def kill_and_wait_back(current: Callable[[], ManagedProcess | None], url: str, seconds: float = 90) -> None:
    before = current()
    assert before is not None and before.proc is not None
    assert httpx.get(url, timeout=5).status_code == 200
    os.kill(before.proc.pid, signal.SIGKILL)  # the leader only, as a crash would leave its workers
    deadline = time.monotonic() + seconds
    while True:
        now = current()
        if now is not None and now is not before and now.running:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, f"{before.name} did not come back within {seconds:.0f} s"
        time.sleep(0.2)


def test_a_killed_download_service_is_restarted_and_answers(supervised: LocalStack) -> None:
    url = f"http://127.0.0.1:{supervised.settings.download_port}/health"
    kill_and_wait_back(lambda: supervised.download, url)
    log = (supervised.settings.data_dir / SUPERVISOR_LOG).read_text()
    assert "download service exited (code -9): restarting in" in log and "download service restarted" in log


def test_a_killed_storage_cluster_is_restarted_on_its_port_and_answers(supervised: LocalStack) -> None:
    parts = supervised.clusters[0]
    kill_and_wait_back(lambda: parts.service, parts.endpoint + "/health")
    assert httpx.get(parts.endpoint + "/health").json()["cluster_id"] == parts.cluster_id
    log = (supervised.settings.data_dir / SUPERVISOR_LOG).read_text()
    assert f"storage cluster {parts.cluster_id} restarted" in log


def test_a_killed_upload_service_is_restarted_and_answers(supervised: LocalStack) -> None:
    url = f"http://127.0.0.1:{supervised.settings.upload_port}/health"
    kill_and_wait_back(lambda: supervised.upload, url)
    assert supervised.supervisor is not None
    assert supervised.supervisor.restarts[-1] == "upload service"
