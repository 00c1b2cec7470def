"""Scale-out: upload and read throughput with 1 and 2 processes of each service on one PostgreSQL gateway database,
beside the embedded default (SQLite, 1 process), measured in the same run on the same machine (2 cores, shared).

Uploads: POST /uploads of small noise JPEGs (stream, hash, check, store on R = 2 of 2 clusters) from 4 clients at
once; reads: GET /m/<short id> of linked uploads from 8 clients at once. Each configuration runs on its own private
stack; PostgreSQL is a real server the bench starts and stops (tests/pg.py). Never fails CI: a configuration that
fails is reported as such. Run: .venv/bin/python bench/scale_out.py   (writes bench/results/scale_out.txt)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mediaproof.devstack import LocalStack  # noqa: E402
from tests.integration.auth import auth  # noqa: E402
from tests.integration.stack import stack_settings  # noqa: E402
from tests.integration.test_upload_service import register  # noqa: E402
from tests.pg import running_postgres  # noqa: E402
from tests.unit.test_upload_intake import photo_bytes  # noqa: E402

UPLOADS = 32
UPLOAD_CLIENTS = 4
LINKED = 4  # uploads registered (batched) to read back
READS = 400
READ_CLIENTS = 8
RESULTS = ROOT / "bench" / "results" / "scale_out.txt"


def measure(stack: LocalStack) -> tuple[float, float]:
    """(uploads/s, reads/s) through the stack's services."""
    owner = Account.create()
    url = stack.settings.resolved_upload_url()
    headers = auth(url, owner)
    files = [photo_bytes(5000 + n, (480, 360)) for n in range(UPLOADS)]

    def upload(data: bytes) -> None:
        answer = httpx.post(f"{url}/uploads", content=data, headers=headers, timeout=120)  # a new connection each
        if answer.status_code != 201:
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:200]}")

    upload(photo_bytes(4999, (480, 360)))  # the first request of each process pays imports: mostly not measured
    started = time.perf_counter()
    with ThreadPoolExecutor(UPLOAD_CLIENTS) as pool:
        list(pool.map(upload, files))
    uploads_per_second = UPLOADS / (time.perf_counter() - started)

    linked = [register(stack, photo_bytes(6000 + n, (480, 360)), owner, f"Read {n}")["short_id"] for n in range(LINKED)]
    download = stack.settings.resolved_download_url()

    clients = threading.local()  # one keep-alive client a reader thread: the server's speed, not httpx's set-up

    def read(n: int) -> None:
        if not hasattr(clients, "client"):
            clients.client = httpx.Client(timeout=60)
        answer = clients.client.get(f"{download}/m/{linked[n % LINKED]}")
        if answer.status_code != 200:
            raise RuntimeError(f"read answered {answer.status_code}")

    for n in range(LINKED * 4):  # warm every download process's cache a little
        read(n)
    started = time.perf_counter()
    with ThreadPoolExecutor(READ_CLIENTS) as pool:
        list(pool.map(read, range(READS)))
    return uploads_per_second, READS / (time.perf_counter() - started)


def run(name: str, dsn: str | None, processes: int) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="mp-bench-scale-"))
    settings = stack_settings(tmp, clusters=2, replication_factor=2).model_copy(
        update={
            "gateway_dsn": dsn,
            "upload_processes": processes,
            "download_processes": processes,
            "batch_interval": 0.5,
            "upload_rate_per_minute": 100_000,
        }
    )
    stack: LocalStack | None = None
    try:
        stack = LocalStack(settings).start()
        uploads, reads = measure(stack)
        line = f"{name:<26} {processes:>9}  {uploads:>10.2f}  {reads:>8.1f}"
    except Exception as exc:  # a bench reports, never fails
        line = f"{name:<26} {processes:>9}  failed: {type(exc).__name__}: {str(exc)[:120]}"
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(line, flush=True)
    return line


def main() -> None:
    lines = [
        f"Scale-out: {UPLOADS} uploads (480x360 JPEG, R=2 of 2 clusters) from {UPLOAD_CLIENTS} clients, {READS} reads"
        f" of GET /m/<id> from {READ_CLIENTS} clients; same run, same machine (2 cores shared with other work)",
        f"{'gateway database':<26} {'processes':>9}  {'uploads/s':>10}  {'reads/s':>8}",
    ]
    print("\n".join(lines), flush=True)
    lines.append(run("SQLite (embedded default)", None, 1))
    try:
        with running_postgres() as server:
            lines.append(run("PostgreSQL", server.database(), 1))
            lines.append(run("PostgreSQL", server.database(), 2))
    except RuntimeError as exc:  # no PostgreSQL here (`make install` brings it): reported, not fatal
        lines.append(f"PostgreSQL: not measured: {exc}")
        print(lines[-1], flush=True)
    lines.append("processes = upload and download processes each, all on this one machine.")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
