"""Runs this whole contract suite again on a real anvil node (ape-foundry starts it on a free port and stops it),
so a plain `pytest` covers both backends: Ape's in-process chain and anvil."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mediakit import ANVIL_NETWORK

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).resolve().parent
RUN_TIMEOUT_SECONDS = 540


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anvil_path() -> str:
    """PATH with the anvil binary first: the platform binary itself when present (ape then owns the real process,
    not a Node wrapper around it), else npm's .bin shim."""
    modules = PROJECT_ROOT / "node_modules"
    native = modules / "@foundry-rs" / "anvil-linux-amd64" / "bin"
    first = native if (native / "anvil").exists() else modules / ".bin"
    return f"{first}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def anvil_suite_run():
    env = {**os.environ, "APE_FOUNDRY_HOST": f"http://127.0.0.1:{free_port()}", "PATH": anvil_path()}
    command = [sys.executable, "-m", "pytest", str(SUITE), "--network", ANVIL_NETWORK, "-q", "-p", "no:cacheprovider"]
    # Own process group, so anvil goes down with it whatever happens to the run.
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield process
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the run if it is still going, and any straggler in its group
    process.wait()


def test_contract_suite_passes_on_anvil(anvil_suite_run):
    output, _ = anvil_suite_run.communicate(timeout=RUN_TIMEOUT_SECONDS)
    tail = "\n".join(output.splitlines()[-60:])
    assert anvil_suite_run.returncode == 0, f"contract suite failed on anvil:\n{tail}"
    assert "Starting 'anvil' process" in output, f"the run did not start its own anvil:\n{tail}"
    summary = output.strip().splitlines()
    passed = [line for line in summary if " passed" in line]
    assert passed and int(passed[-1].split()[0]) >= 50, f"too few tests ran on anvil:\n{tail}"
