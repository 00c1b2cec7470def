"""Adding a large upload to IPFS the way the storage cluster does (hash while streaming into `add`): the httpx
async client streaming the body on the event loop, beside the ipfshttpclient thread-and-queue it replaced, one run.

Run: .venv/bin/python bench/ipfs_add.py [--mb 200] [--rounds 2]. Each add runs in a fresh process against one
js-ipfs daemon (the node's garbage is collected between adds): wall time, the process's CPU time, and how far its
peak RSS rose above where it stood before the add. The baseline is the storage code at BASELINE_REV (taken with
`git archive`); it needs ipfshttpclient 0.7.0 in the environment (`uv pip install ipfshttpclient==0.7.0`) and that
commit in the history, and is left out, said so, without them. Writes bench/results/ipfs_add.txt. No assertions on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mediaproof.ipfs_node import IpfsNode  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ipfs_add.txt"
BASELINE_REV = "52bbcc3"  # the last commit whose storage cluster added through ipfshttpclient on a thread
PIECE = 64 * 1024  # what uvicorn hands a request handler at a time

# One add in a process of its own: the mediaproof package on sys.path decides which code runs.
CHILD = """
import asyncio, json, resource, sys, time
from mediaproof import ipfs_client
from mediaproof.storage.ingest import ingest

api, path, size, piece = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

async def chunks():
    with open(path, "rb") as handle:
        while chunk := handle.read(piece):
            yield chunk

async def main():
    if hasattr(ipfs_client, "AsyncIpfsClient"):
        client = ipfs_client.AsyncIpfsClient(api, timeout=1200)
    else:
        client = ipfs_client.IpfsClient(api, timeout=1200)
    before = rss()
    cpu = time.process_time()
    wall = time.perf_counter()
    result = await ingest(chunks(), client, size, size)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    close = client.close()
    if asyncio.iscoroutine(close):
        await close
    print(json.dumps({"cid": result.added.cid, "ours": result.digest.cid, "wall": wall, "cpu": cpu,
                      "rise": max(0, peak - before)}))

asyncio.run(main())
"""


def baseline_tree(directory: Path) -> Path | None:
    """The mediaproof package at BASELINE_REV, unpacked under `directory`; None when it cannot run here."""
    if importlib.util.find_spec("ipfshttpclient") is None:
        return None
    try:
        archive = subprocess.run(
            ["git", "archive", BASELINE_REV, "mediaproof"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # no git, or a shallow clone without that commit
        return None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def one_add(tree: Path, api: str, path: Path, size: int) -> dict[str, float | str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CHILD, api, str(path), str(size), str(PIECE)],
        env=env, capture_output=True, text=True, check=True, timeout=1800,
    ).stdout  # fmt: skip
    figures: dict[str, float | str] = json.loads(out.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size = args.mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="ipfs-add-bench-") as tmp:
        work = Path(tmp)
        data = work / "upload.bin"
        with data.open("wb") as handle:
            for _ in range(size // (1 << 20)):
                handle.write(os.urandom(1 << 20))
            handle.write(os.urandom(size % (1 << 20)))
        variants = {"httpx async, streamed on the event loop": ROOT}
        baseline = baseline_tree(work / "baseline")
        if baseline is not None:
            variants = {f"ipfshttpclient on a thread + queue ({BASELINE_REV})": baseline} | variants
        node = IpfsNode(work / "repo", api_port=0, swarm_port=0, gateway_port=0, ready_timeout=120)
        runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in variants}
        with node:
            client = node.client(timeout=600)
            for _ in range(args.rounds):
                for name, tree in variants.items():  # interleaved, so a change in load falls on both
                    runs[name].append(one_add(tree, node.api_multiaddr, data, size))
                    client.repo_gc()  # the next add writes every block again
    cids = {str(run[key]) for results in runs.values() for run in results for key in ("cid", "ours")}
    lines = [
        f"ipfs add benchmark: one {args.mb} MB random upload in {PIECE // 1024} KiB pieces, hashed and streamed into"
        f" one js-ipfs daemon; best of {args.rounds} (wall), MB = 10^6 bytes",
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
        f"{'':<48}{'throughput':>12}{'CPU s':>9}{'peak RSS rise':>16}",
    ]
    for name, results in runs.items():
        best = min(results, key=lambda r: float(r["wall"]))
        rise = max(float(r["rise"]) for r in results)
        rate = size / float(best["wall"]) / 1e6
        lines.append(f"{name:<48}{rate:>8.1f} MB/s{float(best['cpu']):>9.1f}{rise / 2**20:>12.1f} MiB")
    if baseline is None:
        lines.append(
            f"baseline left out: it needs ipfshttpclient (uv pip install ipfshttpclient==0.7.0) and {BASELINE_REV} in"
            " the git history"
        )
    lines.append(f"every add and our own hash gave the same CID: {len(cids) == 1} ({', '.join(sorted(cids))})")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
