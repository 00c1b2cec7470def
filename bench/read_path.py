"""Read path: requests/s and p50/p99 latency of GET /m/<id>?size=small (a 50 KB variant) at 64 connections with wrk,
for the download service (granian with 1 and 2 worker processes, and uvicorn, the fallback server) beside nginx (one
worker) serving the same file from disk, measured in the same run, rounds interleaved so a noisy neighbour hits all.
Goals: p99 < 20 ms, >= 0.25x nginx. A round that fails (wrk error, unreadable output) is reported, never fatal.

Needs the Debian packages wrk and nginx (`apt-get install -y wrk nginx`). Starts a private local stack (anvil, one
IPFS node, one storage cluster, the services) on free ports in a temp dir and stops everything it started.
Run: .venv/bin/python bench/read_path.py [seconds per round]   (writes bench/results/read_path.txt)
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._wrk import run as run_wrk  # noqa: E402
from mediaproof.chain import gateway_account  # noqa: E402
from mediaproof.clients.storage import StorageClusterClient  # noqa: E402
from mediaproof.content import digest_bytes  # noqa: E402
from mediaproof.devstack import LocalStack  # noqa: E402
from mediaproof.download.launch import download_process  # noqa: E402
from mediaproof.gateway_store import GatewayStore, Rendition  # noqa: E402
from mediaproof.processes import ManagedProcess, http_ok  # noqa: E402
from mediaproof.settings import LOCAL_CHAIN_ID  # noqa: E402
from tests.integration.stack import stack_settings  # noqa: E402

CONNECTIONS = 64
VARIANT_BYTES = 50 * 1024
ROUNDS = 2
SERVICES = (("granian", 1), ("granian", 2), ("uvicorn", 1))  # (server, worker processes); uvicorn: the fallback
RESULTS = ROOT / "bench" / "results" / "read_path.txt"
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ image/jpeg jpg; }}
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        etag on;
        add_header Cache-Control "public, max-age=31536000, immutable";
    }}
}}
"""


def seed(stack: LocalStack, data: bytes) -> str:
    """One photo whose small variant is `data`, stored on the cluster and linked as /m/bench1."""
    store = GatewayStore(stack.settings.resolved_gateway_db())
    parts = stack.clusters[0]
    blobs = {"original": random.Random(1).randbytes(400_000), "small": data}
    shas = {}
    for name, blob in blobs.items():
        digest = digest_bytes(blob)
        gateway = gateway_account(stack.settings, LOCAL_CHAIN_ID)
        with StorageClusterClient(parts.endpoint, parts.cluster_id, gateway, timeout=60) as client:
            client.store([blob], digest.sha256, digest.cid, digest.size)
        store.add_placement(digest.sha256.hex(), parts.cluster_id)
        shas[name] = (digest.sha256.hex(), digest.cid)
    original_sha = shas["original"][0]
    store.add_link("bench1", original_sha, OWNER, "bench", "image/jpeg", len(blobs["original"]), None)
    for name, blob in blobs.items():
        sha, cid = shas[name]
        store.put_rendition(original_sha, Rendition(name, sha, cid, len(blob), "image/jpeg", None, None, True))
    store.close()
    return "/m/bench1?size=small"


def nginx(tmp: Path, data: bytes) -> tuple[ManagedProcess, str]:
    base = tmp / "nginx"
    (base / "www" / "m").mkdir(parents=True)
    (base / "www" / "m" / "small.jpg").write_bytes(data)
    for path in (tmp, base, base / "www", base / "www" / "m"):
        path.chmod(0o755)  # the worker may run as another user
    conf = base / "nginx.conf"

    def use(ports: list[int]) -> None:
        conf.write_text(NGINX_CONF.format(dir=base, port=ports[0]))

    process = ManagedProcess(
        "nginx", [shutil.which("nginx") or "nginx", "-p", str(base), "-c", str(conf), "-e", str(base / "error.log")],
        base / "stdout.log", lambda: http_ok(f"http://127.0.0.1:{process.ports[0]}/m/small.jpg"),
        ports=[0], on_ports=use,
    )  # fmt: skip
    process.start()
    return process, f"http://127.0.0.1:{process.ports[0]}/m/small.jpg"


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx")
    data = random.Random(7).randbytes(VARIANT_BYTES)
    started: list[ManagedProcess] = []
    stack: LocalStack | None = None
    with tempfile.TemporaryDirectory(prefix="read-path-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            settings = stack_settings(tmp, clusters=1, replication_factor=1).model_copy(
                update={"observer_interval": 600.0}  # no health checks competing for the CPU
            )
            stack = LocalStack(settings).start()
            path = seed(stack, data)
            # Only the storage cluster (for the first read) and anvil (topology) serve reads: the rest would only
            # compete for the 2 cores, unevenly across rounds.
            for service in (stack.indexer, stack.upload, stack.observer, stack.download):
                if service is not None:
                    service.stop()
            servers: dict[str, str] = {}
            process, servers["nginx (1 worker, sendfile)"] = nginx(tmp, data)
            started.append(process)
            for server, workers in SERVICES:
                service_settings = stack.settings.model_copy(update={"download_port": 0, "download_processes": workers})
                process = download_process(service_settings, rpc_url=stack.anvil.url, server=server).start()
                started.append(process)
                url = f"http://127.0.0.1:{process.ports[0]}{path}"
                servers[f"download, {server} ({workers} worker{'s' if workers > 1 else ''})"] = url
            for name, url in servers.items():
                response = httpx.get(url, timeout=30)
                if response.status_code != 200 or response.content != data:
                    sys.exit(f"{name} answered {response.status_code} with other bytes: nothing to measure")
                run_wrk(url, 2, CONNECTIONS)  # warm: caches filled, connections made
            load = os.getloadavg()[0]
            rounds: dict[str, list[dict[str, float] | None]] = {name: [] for name in servers}
            for _ in range(ROUNDS):
                for name, url in servers.items():
                    rounds[name].append(run_wrk(url, seconds, CONNECTIONS))
        finally:
            for process in reversed(started):
                process.stop()
            if stack is not None:
                stack.stop()
    report(rounds, seconds, load)


def report(rounds: dict[str, list[dict[str, float] | None]], seconds: int, load: float) -> None:
    best = {name: max((r for r in runs if r), key=lambda r: r["rps"], default=None) for name, runs in rounds.items()}
    nginx_rps = next((r["rps"] for name, r in best.items() if name.startswith("nginx") and r), None)
    lines = [
        f"read path: GET of a {VARIANT_BYTES // 1024} KB variant, wrk -t2 -c{CONNECTIONS}, {ROUNDS} interleaved rounds "
        f"of {seconds} s per server (best round shown; all rounds below); {os.cpu_count()} cores shared, "
        f"load average {load:.2f} before the rounds",
        "goals: p99 < 20 ms and >= 0.25x nginx's requests/s",
        "",
        f"{'server':34} {'req/s':>9} {'vs nginx':>9} {'p50 ms':>8} {'p99 ms':>8}  goals",
    ]
    for name, r in best.items():
        if r is None:
            lines.append(f"{name:34} {'no round gave figures':>45}")
            continue
        ratio = r["rps"] / nginx_rps if nginx_rps else float("nan")
        goals = "" if name.startswith("nginx") else ("met" if r["p99"] < 20 and ratio >= 0.25 else "MISSED")
        lines.append(f"{name:34} {r['rps']:9.0f} {ratio:8.2f}x {r['p50']:8.2f} {r['p99']:8.2f}  {goals}")
    lines.append("")
    for name, runs in rounds.items():
        detail = "; ".join(
            "failed"
            if r is None
            else f"{r['rps']:.0f}/s p50 {r['p50']:.2f} p99 {r['p99']:.2f}"
            + (f" non-2xx {r['non2xx']:.0f}" if r["non2xx"] else "")
            + (" socket errors" if r["socket_errors"] else "")
            for r in runs
        )
        lines.append(f"  {name}: {detail}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
