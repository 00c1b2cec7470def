"""Project sync (issue 10): what a sync sends and how long a sync that finds nothing to do takes, each beside a naive
baseline measured in the same run on the same private local stack (anvil, one js-ipfs cluster, the services).

Sections (all by default; `bench/sync.py dedup` runs one):
- dedup: bytes sent to sync a new 1,000-file project in which 20 % of the files are bytes another user's private
  project already stored, beside "send everything" (every file PUT whatever the service holds).
- no-change: a sync of an unchanged 10,000-file project, in process and as the `mediaproof sync` command
  (goal <= 2 s), beside a naive check that hashes every file again and compares with the head's manifest.
- resume: bytes sent to finish a 1 GiB upload cut at 50 % (tus, resumed from the service's offset), beside
  starting again from byte 0.

Run: .venv/bin/python bench/sync.py [section ...]   (writes bench/results/sync.txt)
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402

from bench import _sections as sections  # noqa: E402
from bench._upload_common import start_stack  # noqa: E402
from mediaproof.content import digest_file  # noqa: E402
from mediaproof.devstack import LocalStack  # noqa: E402
from mediaproof.projects.engine import connected  # noqa: E402
from mediaproof.projects.registry import ProjectRegistry  # noqa: E402
from mediaproof.projects.workdir import LinkedProject, Workdir  # noqa: E402
from mediaproof.settings import ANVIL_TEST_KEYS  # noqa: E402
from tests.integration.stack import cli_env  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sync.txt"
OWNER = Account.from_key(ANVIL_TEST_KEYS[0])
OTHER = Account.from_key(ANVIL_TEST_KEYS[1])
MiB = 1 << 20


def file_bytes(name: str, size: int) -> bytes:
    """Distinct bytes per name (a counter run through sha256: no two files share a block)."""
    seed = hashlib.sha256(name.encode()).digest()
    blocks = (hashlib.sha256(seed + i.to_bytes(8, "big")).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def new_project(stack: LocalStack, account: object, name: str, directory: Path, private: bool = True) -> Workdir:
    with connected(stack.settings, account) as syncer:  # type: ignore[arg-type]
        registry: ProjectRegistry = syncer.registry
        pid, _ = registry.create(name, private)
        head = registry.head(pid)
        link = LinkedProject(pid, head.owner, name, registry.chain.chain_id, registry.contract.address)
    return Workdir.create(directory, link)


def fill(directory: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)


def dedup() -> list[str]:
    files, size, shared = 1000, 64 * 1024, 200
    stack, tmp = start_stack(clusters=1, replication_factor=1)
    try:
        library = {f"lib/{i:04}.jpg": file_bytes(f"dup{i}", size) for i in range(shared)}
        elsewhere = new_project(stack, OTHER, "library", tmp / "library")
        fill(elsewhere.root, library)
        with connected(stack.settings, OTHER) as syncer:
            syncer.sync(elsewhere)
        project = {f"day/{i:04}.jpg": file_bytes(f"new{i}", size) for i in range(files - shared)}
        project |= {f"day/dup{i:04}.jpg": data for i, data in enumerate(library.values())}
        total = sum(len(d) for d in project.values())

        # Ours first: the baseline then sends everything again, whatever is stored (it never asks).
        ours_dir = new_project(stack, OWNER, "ours", tmp / "ours")
        fill(ours_dir.root, project)
        started = time.perf_counter()
        with connected(stack.settings, OWNER) as syncer:
            report = syncer.sync(ours_dir)
        ours_seconds = time.perf_counter() - started
        naive_dir = new_project(stack, OWNER, "naive", tmp / "naive")
        fill(naive_dir.root, project)
        started = time.perf_counter()
        with connected(stack.settings, OWNER) as syncer:
            pid = "0x" + naive_dir.project.project_id.hex()
            naive_sent = 0
            for path in sorted(project):
                digest = digest_file(naive_dir.root / path)
                naive_sent += int(syncer.upload.put_blob(pid, digest.sha256_hex, naive_dir.root / path)["size"])
        naive_seconds = time.perf_counter() - started

    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        f"a new project of {files} files x {size // 1024} KiB ({total / MiB:.1f} MiB), {shared} of them bytes another",
        "user's private project already stored:",
        f"  sync (asks which bytes are missing)  sent {report.uploaded_bytes / MiB:7.1f} MiB in "
        f"{report.uploaded_files} files, proved {report.proven_files} held   {ours_seconds:6.1f} s (commit included)",
        f"  baseline: send everything            sent {naive_sent / MiB:7.1f} MiB in {files} files"
        f"                 {naive_seconds:6.1f} s (no manifest, no commit)",
        f"  sent {report.uploaded_bytes / naive_sent:.0%} of the baseline's bytes (goal: 80 %, the unique files)",
    ]


def no_change() -> list[str]:
    files = 10_000
    stack, tmp = start_stack(clusters=1, replication_factor=1)
    try:
        work = new_project(stack, OWNER, "big", tmp / "big")
        fill(work.root, {f"d{i % 100:02}/{i:05}.bin": file_bytes(f"f{i}", 512) for i in range(files)})
        started = time.perf_counter()
        with connected(stack.settings, OWNER) as syncer:
            first = syncer.sync(work)
        first_seconds = time.perf_counter() - started
        assert first.version == 1 and first.uploaded_files == files, first

        runs = []
        with connected(stack.settings, OWNER) as syncer:
            for _ in range(3):
                started = time.perf_counter()
                again = syncer.sync(work)
                runs.append(time.perf_counter() - started)
                assert not again.committed and again.uploaded_files == again.downloaded_files == 0, again
        env = cli_env(stack.settings, ANVIL_TEST_KEYS[0])
        started = time.perf_counter()
        command = subprocess.run(
            [sys.executable, "-m", "mediaproof.cli", "sync", str(work.root), "--json"], env=env, capture_output=True
        )
        command_seconds = time.perf_counter() - started
        assert command.returncode == 0, command.stderr

        # Naive: hash every file again and compare with the head's manifest fetched from the service.
        started = time.perf_counter()
        with connected(stack.settings, OWNER) as syncer:
            head = syncer.registry.head(work.project.project_id)
            remote = syncer.manifest_of(work.project.project_id, head.manifest_sha256, head.manifest_cid)
            local = {p: digest_file(work.root / p).sha256 for p, _ in work.files()}
            assert local == {p: e.sha256 for p, e in remote.items()}
        naive_seconds = time.perf_counter() - started
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        f"an unchanged project of {files} files (first sync: {first_seconds:.0f} s, {files} files sent):",
        f"  sync, in process (best of 3)          {min(runs):6.2f} s   (goal <= 2 s: "
        f"{'met' if min(runs) <= 2 else 'NOT met'})",
        f"  `mediaproof sync DIR` (whole command) {command_seconds:6.2f} s   (Python start-up and imports included)",
        f"  baseline: hash every file, compare     {naive_seconds:6.2f} s",
    ]


def resume() -> list[str]:
    from mediaproof.clients.upload import UploadClient

    size = 1 << 30
    stack, tmp = start_stack(clusters=1, replication_factor=1, max_upload_bytes=size + MiB)
    try:
        path = tmp / "big.bin"
        with open(path, "wb") as handle:
            for i in range(size // (4 * MiB)):
                handle.write(file_bytes(f"chunk{i}", 4 * MiB))
        sha = digest_file(path).sha256_hex
        url = stack.settings.resolved_upload_url()
        work = new_project(stack, OWNER, "video", tmp / "video")
        metadata = {"project": work.project.pid_hex, "sha256": sha}
        with UploadClient(url, account=OWNER) as first:  # sends half, then goes away (a device losing its network)
            part = first.upload_resumable(path, stop_at=size // 2, metadata=metadata)
        started = time.perf_counter()
        with UploadClient(url, account=OWNER) as second:  # a new process, from the service's offset
            rest = second.upload_resumable(path, location=part.location)
        resumed_seconds = time.perf_counter() - started
        assert part.offset == size // 2 and rest.offset == size and rest.upload_id == sha, (part, rest)

        started = time.perf_counter()
        with UploadClient(url, account=OWNER) as again:  # the baseline: the same file from byte 0
            whole = again.upload_resumable(path, metadata=metadata)
        whole_seconds = time.perf_counter() - started
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        f"a {size / MiB:.0f} MiB project file cut at 50 % and resumed by a new client (tus, from Upload-Offset):",
        f"  resumed                    sent {rest.sent_bytes / MiB:7.1f} MiB after the cut  {resumed_seconds:6.1f} s",
        f"  baseline: from byte 0      sent {whole.sent_bytes / MiB:7.1f} MiB               {whole_seconds:6.1f} s",
        f"  both end as the file's sha256 ({sha[:16]}…), hashed again by the service at the last byte",
    ]


SECTIONS: sections.Sections = {"dedup": dedup, "no-change": no_change, "resume": resume}

if __name__ == "__main__":
    sections.main(SECTIONS, RESULTS, sys.argv[1:])
