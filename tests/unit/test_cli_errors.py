"""Bad input to the CLI gets one clear sentence and exit code 2, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

FAKE_ADDRESSES = {
    "chain_id": 31337,
    "block": 0,
    "network": "local",
    "deployer": "0x" + "11" * 20,
    "contracts": {name: "0x" + "22" * 20 for name in ("MediaApp", "StorageTopology", "UserMediaImplementation")},
}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", [["verify"], ["upload", "--title", "x"]])
def test_missing_path_is_named(tmp_path: Path, command: list[str]) -> None:
    assert_one_line_error(run_cli(*command, str(tmp_path / "nope.jpg")), "no file at")


def test_verify_refuses_a_directory(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("verify", str(tmp_path)), "is a directory")


def test_upload_of_a_directory_is_checked_before_anything_is_sent(tmp_path: Path) -> None:
    """A directory is its files; one title cannot name several, an empty directory or an empty file in it is said
    before any byte is hashed or sent (no service runs here: the check comes first)."""
    assert_one_line_error(run_cli("upload", str(tmp_path)), "has no files to upload")
    (tmp_path / "a.jpg").write_bytes(b"a")
    (tmp_path / "b.jpg").write_bytes(b"b")
    (tmp_path / ".hidden").write_bytes(b"")  # hidden files are not sent, so not checked
    assert_one_line_error(run_cli("upload", "--title", "x", str(tmp_path)), "--title and --proof-out name one file")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jpg").write_bytes(b"")
    assert_one_line_error(run_cli("upload", str(tmp_path)), "is empty")


@pytest.mark.parametrize("command", [["verify"], ["upload", "--title", "x"]])
def test_empty_file_is_refused(tmp_path: Path, command: list[str]) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert_one_line_error(run_cli(*command, str(empty)), "is empty")


def test_no_node_at_rpc_url_is_reported(tmp_path: Path) -> None:
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"some bytes")
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(FAKE_ADDRESSES))
    # Bound and never listening, so the port is refused for the whole test: nobody else can start a node on it.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        result = run_cli("verify", str(photo), "--rpc", url, "--deployment", str(deployment))
    assert_one_line_error(result, f"no Ethereum node answers at {url}")


def test_missing_deployment_file_is_reported(tmp_path: Path) -> None:
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"some bytes")
    result = run_cli("verify", str(photo), "--deployment", str(tmp_path / "absent.json"))
    assert_one_line_error(result, "no deployment file at")


def test_json_output_is_json_on_stdout_even_when_the_command_fails(tmp_path: Path) -> None:
    """A script piping `--json` to a parser gets an object naming the error, not an empty stdout."""
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"bytes")
    result = run_cli("verify", str(photo), "--deployment", str(tmp_path / "absent.json"), "--json")
    assert_one_line_error(result, "no deployment file")
    answer = json.loads(result.stdout)
    assert answer["ok"] is False and answer["exit_code"] == 2 and "no deployment file" in answer["error"]
    plain = run_cli("verify", str(photo), "--deployment", str(tmp_path / "absent.json"))
    assert plain.stdout == ""  # without --json, stdout stays empty: the sentence is on stderr
