"""Runs this whole contract suite again on a real anvil node (ape-foundry starts it on a free port and stops it),
so a plain `pytest` covers both backends: Ape's in-process chain and anvil."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mediakit import ANVIL_NETWORK

from mediaproof.ports import free_port, listening_ports
from mediaproof.processes import port_open

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).resolve().parent
# A guard against a hung run, not a speed limit: the suite takes ~4-8 min here, longer with the other core busy.
RUN_TIMEOUT_SECONDS = 1500


def anvil_path() -> str:
    """PATH with the anvil binary first: the platform binary itself when present (ape then owns the real process,
    not a Node wrapper around it), else npm's .bin shim."""
    modules = PROJECT_ROOT / "node_modules"
    native = modules / "@foundry-rs" / "anvil-linux-amd64" / "bin"
    first = native if (native / "anvil").exists() else modules / ".bin"
    return f"{first}{os.pathsep}{os.environ.get('PATH', '')}"


# ape says this when its anvil could not bind the port; it then falls back to 8545, where `make up` may run.
FELL_BACK = "Retrying anvil subprocess startup"
PORT_ATTEMPTS = 3


def run_suite_on_anvil(port: int, log: Path) -> tuple[int | None, str]:
    """The suite's exit code and output with ape's anvil on `port`; None when the port turned out not to be free:
    someone else's node answers there (ape would use it without a word) or ape's anvil could not bind it. Decided
    by who listens on the port (/proc), and the run is stopped at once then."""
    env = {**os.environ, "APE_FOUNDRY_HOST": f"http://127.0.0.1:{port}", "PATH": anvil_path()}
    command = [sys.executable, "-m", "pytest", str(SUITE), "--network", ANVIL_NETWORK, "-q", "-p", "no:cacheprovider"]
    with log.open("w") as out:
        # Own process group, so anvil goes down with it whatever happens to the run.
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    try:
        while process.poll() is None and not port_open(port):
            if FELL_BACK in log.read_text():
                return None, log.read_text()
            assert time.monotonic() < deadline, "no anvil came up"
            time.sleep(0.1)
        ours = listening_ports(process.pid)  # ape's anvil is in the run's session
        if process.returncode is None and ours is not None and port not in ours:
            return None, log.read_text()
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
        return process.returncode, log.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the run if it is still going, and any straggler in its group
        process.wait()


def test_contract_suite_passes_on_anvil(tmp_path: Path):
    for attempt in range(PORT_ATTEMPTS):
        returncode, output = run_suite_on_anvil(free_port(), tmp_path / f"run{attempt}.log")
        if returncode is not None:
            break
    tail = "\n".join(output.splitlines()[-60:])
    assert returncode is not None, f"no port stayed free for ape's anvil in {PORT_ATTEMPTS} tries:\n{tail}"
    assert returncode == 0, f"contract suite failed on anvil:\n{tail}"
    assert "Starting 'anvil' process" in output, f"the run did not start its own anvil:\n{tail}"
    summary = output.strip().splitlines()
    passed = [line for line in summary if " passed" in line]
    assert passed and int(passed[-1].split()[0]) >= 50, f"too few tests ran on anvil:\n{tail}"
