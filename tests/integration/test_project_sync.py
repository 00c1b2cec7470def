"""Issue 10's done-when on real parts (anvil, js-ipfs, a storage cluster, the upload and download services): two
devices, each a directory and a wallet with a write grant, syncing one private project through the CLI as people
run it, and the hostile parties: a read-only grantee who tries to commit, a stranger who tries to read."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from mediaproof.chain import MediaproofChain
from mediaproof.cli import app
from mediaproof.clients.upload import UploadClient
from mediaproof.devstack import LocalStack
from mediaproof.errors import Forbidden, MediaproofError
from mediaproof.projects.engine import connected
from mediaproof.projects.registry import ProjectRegistry
from mediaproof.projects.workdir import Workdir
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from tests.integration.stack import cli_env, stack_settings

pytestmark = pytest.mark.integration

OWNER_KEY, PARTNER_KEY = ANVIL_TEST_KEYS[0], ANVIL_TEST_KEYS[1]
# Wallets of their own (anvil's keys 2 and 3 are the gateway's and the observer's): funded in the stack fixture.
READER_KEY, STRANGER_KEY = (
    "0x" + hashlib.sha256(f"mediaproof test {who}".encode()).hexdigest() for who in ("reader", "stranger")
)
OWNER, PARTNER, READER, STRANGER = (
    Account.from_key(k).address for k in (OWNER_KEY, PARTNER_KEY, READER_KEY, STRANGER_KEY)
)


def run(
    settings: Settings, *args: str, key: str = OWNER_KEY, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**cli_env(settings, key), **(env or {})},
    )


def ok(settings: Settings, *args: str, key: str = OWNER_KEY) -> dict[str, Any]:
    """A command that must succeed, run in this process (the same command line, without a Python start-up per
    step; `run` starts the real program where exit codes and stderr are the point)."""
    result = CliRunner().invoke(app, [*args, "--json"], env=cli_env(settings, key), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def refused(settings: Settings, *args: str, key: str = OWNER_KEY) -> str:
    """The sentence of a command that must fail with a Mediaproof error (which `mediaproof` prints as `error: …`
    and exits 2 with, as `run` checks where it matters), run in this process."""
    result = CliRunner().invoke(app, list(args), env=cli_env(settings, key))
    assert isinstance(result.exception, MediaproofError), (result.exception, result.output)
    return str(result.exception)


def files(directory: Path) -> dict[str, bytes]:
    """Every file of a project directory (its .mediaproof/ bookkeeping aside), by relative path."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".mediaproof" not in p.relative_to(directory).parts
    }


def blob(name: str) -> bytes:
    """Distinct, incompressible-looking bytes per name (any file type: projects hold docs and sidecars too)."""
    return b"".join(hashlib.sha256(f"{name}/{i}".encode()).digest() for i in range(64 + len(name)))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(stack_settings(tmp_path_factory.mktemp("stack"))).start()
    w3 = MediaproofChain.from_settings(running.settings).w3
    for wallet in (READER, STRANGER):
        w3.provider.make_request("anvil_setBalance", [wallet, hex(10**20)])  # gas for their own transactions
    yield running
    running.stop()


@pytest.fixture()
def project(stack: LocalStack, request: pytest.FixtureRequest) -> str:
    """A private project of OWNER's, with PARTNER granted write and READER granted read."""
    name = hashlib.sha256(request.node.name.encode()).hexdigest()[:16]
    created = ok(stack.settings, "project", "create", name, "--private")
    assert created["created"] and created["private"]
    ok(stack.settings, "share", created["project"], "--with", PARTNER, "--role", "write")
    ok(stack.settings, "share", name, "--with", READER, "--role", "read")
    return str(created["project"])


def test_two_devices_dedup_merge_conflicts_and_restore(stack: LocalStack, project: str, tmp_path: Path) -> None:
    s = stack.settings
    one, two = tmp_path / "device1", tmp_path / "device2"
    ok(s, "clone", project, str(one))
    for name in "ABC":
        (one / name).write_bytes(blob(name))
    first = ok(s, "sync", str(one))
    assert (first["version"], first["uploaded_files"], first["committed"]) == (1, 3, True)
    cloned = ok(s, "clone", project, str(two), key=PARTNER_KEY)
    assert cloned["downloaded_files"] == 3 and files(two) == files(one)

    # D already lives in another user's private project: device 1 proves it holds D and sends only E's bytes.
    elsewhere = tmp_path / "stranger"
    other = ok(s, "project", "create", "elsewhere", "--private", key=STRANGER_KEY)["project"]
    ok(s, "clone", other, str(elsewhere), key=STRANGER_KEY)
    (elsewhere / "d.bin").write_bytes(blob("D"))
    ok(s, "sync", str(elsewhere), key=STRANGER_KEY)
    (one / "D").write_bytes(blob("D"))
    (one / "E").write_bytes(blob("E"))
    second = ok(s, "sync", str(one))
    assert second["uploaded_files"] == 1 and second["uploaded_bytes"] == len(blob("E"))
    assert second["proven_files"] == 1 and second["version"] == 2
    pulled = ok(s, "sync", str(two), key=PARTNER_KEY)
    assert pulled["downloaded_files"] == 2 and pulled["uploaded_files"] == 0 and files(two) == files(one)

    # Device 1 adds F and deletes C while device 2 adds G: after their syncs both hold A B D E F G.
    (one / "F").write_bytes(blob("F"))
    (one / "C").unlink()
    (two / "G").write_bytes(blob("G"))
    mine = ok(s, "status", str(one))
    assert (mine["added"], mine["deleted"], mine["clean"]) == (["F"], ["C"], False)
    assert ok(s, "status", str(two))["added"] == ["G"]
    ok(s, "sync", str(one))
    merged = ok(s, "sync", str(two), key=PARTNER_KEY)
    assert merged["version"] == 4 and merged["conflicts"] == []
    ok(s, "sync", str(one))
    assert sorted(files(one)) == ["A", "B", "D", "E", "F", "G"] and files(one) == files(two)

    # Both change the same path to different bytes: both copies are kept, on both devices.
    (one / "A").write_bytes(b"device one's A")
    (two / "A").write_bytes(b"device two's A")
    ok(s, "sync", str(one))
    clash = ok(s, "sync", str(two), key=PARTNER_KEY)
    assert len(clash["conflicts"]) == 1 and clash["conflicts"][0]["path"] == "A"
    ok(s, "sync", str(one))
    assert files(one) == files(two)
    assert {b"device one's A", b"device two's A"} <= set(files(one).values())
    assert any(path.startswith("A (conflict ") for path in files(one))

    # Restore version 1: a new version equal to version 1, byte for byte, on both devices; history is kept.
    restored = ok(s, "restore", str(one), "--version", "1")
    assert restored["committed"]
    assert files(one) == {name: blob(name) for name in "ABC"}
    ok(s, "sync", str(two), key=PARTNER_KEY)
    assert files(two) == files(one)
    log = ok(s, "log", str(two), key=PARTNER_KEY)["versions"]
    assert [v["version"] for v in log] == list(range(restored["version"], 0, -1))
    assert {v["committer"] for v in log} == {OWNER, PARTNER}
    assert log[0]["manifest_sha256"] == next(v for v in log if v["version"] == 1)["manifest_sha256"]
    assert all(v["tx"].startswith("0x") and v["timestamp"] > 0 for v in log)


def test_a_read_only_grantee_reads_but_cannot_commit(stack: LocalStack, project: str, tmp_path: Path) -> None:
    s = stack.settings
    owner_dir, reader_dir = tmp_path / "owner", tmp_path / "reader"
    ok(s, "clone", project, str(owner_dir))
    (owner_dir / "a.txt").write_bytes(blob("a"))
    version = ok(s, "sync", str(owner_dir))["version"]
    ok(s, "clone", project, str(reader_dir), key=READER_KEY)
    assert files(reader_dir) == files(owner_dir)
    (reader_dir / "mine.txt").write_bytes(b"a reader's edit")
    refused = run(s, "sync", str(reader_dir), key=READER_KEY)
    assert refused.returncode == 2 and "write" in refused.stderr.lower(), refused.stderr
    assert ok(s, "status", str(reader_dir), key=READER_KEY)["added"] == ["mine.txt"]  # the edit is still here
    assert ok(s, "sync", str(owner_dir))["version"] == version  # and the project did not move


def test_a_stranger_cannot_read_a_private_projects_bytes(stack: LocalStack, project: str, tmp_path: Path) -> None:
    s = stack.settings
    owner_dir = tmp_path / "owner"
    ok(s, "clone", project, str(owner_dir))
    (owner_dir / "secret.txt").write_bytes(blob("secret"))
    ok(s, "sync", str(owner_dir))
    refused = run(s, "clone", project, str(tmp_path / "stranger"), key=STRANGER_KEY)
    assert refused.returncode == 2 and not (tmp_path / "stranger").exists(), refused.stderr

    chain = MediaproofChain.from_settings(s)
    head = ProjectRegistry(chain).head(bytes.fromhex(project[2:]))
    sha = hashlib.sha256(blob("secret")).hexdigest()
    download = s.resolved_download_url()
    anonymous = httpx.get(f"{download}/projects/{project}/blobs/{sha}")
    assert anonymous.status_code == 401 and blob("secret") not in anonymous.content
    with UploadClient(s.resolved_upload_url(), account=Account.from_key(STRANGER_KEY), chain_id=chain.chain_id) as up:
        token = up.sign_in()
    for path in (f"/projects/{project}/blobs/{sha}", f"/projects/{project}/manifests/{head.manifest_cid}"):
        stranger = httpx.get(download + path, headers={"Authorization": f"Bearer {token}"})
        assert stranger.status_code == 403, (path, stranger.text)
        assert blob("secret") not in stranger.content


def test_losing_the_race_to_commit_pulls_merges_and_commits_again(
    stack: LocalStack, project: str, tmp_path: Path
) -> None:
    """Device 2 commits between device 1's read of the head and its commit: device 1's commit is refused
    (ProjectStaleVersion), it merges device 2's work and commits on top, losing nothing."""
    s = stack.settings
    one, two = tmp_path / "one", tmp_path / "two"
    ok(s, "clone", project, str(one))
    ok(s, "clone", project, str(two), key=PARTNER_KEY)
    (one / "from-one").write_bytes(blob("one"))
    (two / "from-two").write_bytes(blob("two"))
    with (
        connected(s, Account.from_key(OWNER_KEY)) as first,
        connected(s, Account.from_key(PARTNER_KEY)) as second,
    ):
        real_head = first.registry.head
        reads = []

        def head_then_let_the_other_device_commit(pid: bytes) -> Any:
            found = real_head(pid)
            if not reads:
                second.sync(Workdir.open(two))  # commits while device 1 holds a head that is now stale
            reads.append(found.version)
            return found

        first.registry.head = head_then_let_the_other_device_commit  # type: ignore[method-assign]
        report = first.sync(Workdir.open(one))
    assert report.rounds == 2 and reads == [0, 1] and report.version == 2
    assert files(one) == {"from-one": blob("one"), "from-two": blob("two")}
    ok(s, "sync", str(two), key=PARTNER_KEY)
    assert files(two) == files(one)


@pytest.mark.parametrize("point", ["sync-staged", "sync-committed"])
def test_an_interrupted_sync_leaves_all_as_it_was_or_is_finished_next_time(
    stack: LocalStack, project: str, tmp_path: Path, point: str
) -> None:
    s = stack.settings
    one, two = tmp_path / "one", tmp_path / "two"
    ok(s, "clone", project, str(one))
    (one / "base").write_bytes(blob("base"))
    ok(s, "sync", str(one))
    ok(s, "clone", project, str(two), key=PARTNER_KEY)
    (two / "theirs").write_bytes(blob("theirs"))
    ok(s, "sync", str(two), key=PARTNER_KEY)  # version 2: device 1 has something to pull
    (one / "mine").write_bytes(blob("mine"))
    before = files(one)
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaproof.cli", "sync", str(one), "--json"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**cli_env(s, OWNER_KEY), "MEDIAPROOF_SYNC_TEST_HOLD_AT": point},
        start_new_session=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # decided by what the process says, not by the clock
        if f"holding at {point}" in line:
            break
    else:
        pytest.fail(f"sync exited ({process.wait()}) without reaching {point}")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert files(one) == before  # killed before it touched a file: the directory is as it was
    head_version = ProjectRegistry(MediaproofChain.from_settings(s)).head(bytes.fromhex(project[2:])).version
    assert head_version == (2 if point == "sync-staged" else 3)
    status = ok(s, "status", str(one))
    assert status["interrupted_sync"] and status["added"] == ["mine"]
    finished = ok(s, "sync", str(one))
    assert finished["version"] == 3
    assert files(one) == {"base": blob("base"), "theirs": blob("theirs"), "mine": blob("mine")}
    assert ok(s, "status", str(one))["clean"]


def test_status_and_log_work_offline_and_bad_input_is_refused(stack: LocalStack, project: str, tmp_path: Path) -> None:
    s = stack.settings
    one = tmp_path / "one"
    ok(s, "clone", project, str(one))
    (one / "a").write_bytes(blob("a"))
    ok(s, "sync", str(one))
    (one / "b").write_bytes(blob("b"))
    dead = {"MEDIAPROOF_RPC_URL": "http://127.0.0.1:9", "MEDIAPROOF_UPLOAD_URL": "http://127.0.0.1:9"}
    status = run(s, "status", str(one), "--json", env=dead)
    assert status.returncode == 0 and json.loads(status.stdout)["added"] == ["b"]
    log = run(s, "log", str(one), "--json", env=dead)
    assert log.returncode == 0 and "cannot reach" in log.stderr
    assert [v["version"] for v in json.loads(log.stdout)["versions"]] == [1]
    offline_sync = run(s, "sync", str(one), env=dead)
    assert offline_sync.returncode == 2 and "Traceback" not in offline_sync.stderr
    assert files(one) == {"a": blob("a"), "b": blob("b")}

    assert "not an empty directory" in refused(s, "clone", project, str(one))
    assert "64 hex" in refused(s, "clone", "0x1234", str(tmp_path / "x"))
    assert "read or write" in refused(s, "share", project, "--with", READER, "--role", "admin")
    assert "ProjectNotOwner" in refused(s, "share", project, "--with", STRANGER, "--role", "read", key=PARTNER_KEY)
    assert "not a wallet address" in refused(s, "share", project, "--with", "0xnope", "--role", "read")
    assert "no project" in refused(s, "clone", "0x" + "00" * 32, str(tmp_path / "y"))
    assert not (tmp_path / "y").exists()


def test_a_big_file_goes_resumably_and_a_sync_cut_off_mid_file_resumes_it(
    stack: LocalStack, project: str, tmp_path: Path
) -> None:
    s = stack.settings
    one, two = tmp_path / "one", tmp_path / "two"
    ok(s, "clone", project, str(one))
    data = b"".join(hashlib.sha256(b"big %d" % i).digest() for i in range(32768))  # 1 MiB
    (one / "big.bin").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    half = 512 * 1024
    with connected(s, Account.from_key(OWNER_KEY)) as syncer:
        syncer.resumable_above, syncer.upload.chunk_bytes = 256 * 1024, 128 * 1024
        work = Workdir.open(one)
        # What a sync cut off half-way through the file leaves: its upload's URL in the directory, half the bytes sent.
        location = syncer.upload.create_resumable(len(data), {"project": project, "sha256": sha})
        work.set_upload_location(sha, location)
        assert syncer.upload.upload_resumable(one / "big.bin", location=location, stop_at=half).offset == half
        report = syncer.sync(work)
    assert (report.uploaded_files, report.uploaded_bytes) == (1, len(data) - half)  # only the rest went
    assert Workdir.open(one).upload_locations() == {}
    ok(s, "clone", project, str(two), key=PARTNER_KEY)
    assert files(two) == {"big.bin": data}

    # No resumable upload into a project one may not write to.
    with (
        UploadClient(s.resolved_upload_url(), account=Account.from_key(STRANGER_KEY)) as stranger,
        pytest.raises(Forbidden),
    ):
        stranger.create_resumable(len(data), {"project": project, "sha256": sha})
