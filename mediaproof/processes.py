"""Start, watch and stop the local processes `make up` and the tests run (anvil, IPFS nodes, services).

Each process gets its own session (so a stop reaches its children), a log file, and a readiness check.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mediaproof.errors import MediaproofError


class ProcessFailed(MediaproofError, RuntimeError):
    """A managed process exited early or never became ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    """True when a GET of `url` answers 200 within a second (a readiness check)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


class ManagedProcess:
    """One child process with a log file; `start()` waits until `ready()` answers True."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready = ready
        self.env = env
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its whole life
        env = {**os.environ, **(self.env or {})}
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ProcessFailed(f"{self.name} exited with code {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(Exception):
                if self.ready():
                    return self
            time.sleep(0.1)
        self.stop()
        raise ProcessFailed(f"{self.name} was not ready after {self.ready_timeout:.0f} s; see {self.log_path}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
        """Ask the whole process group to stop; kill it if it has not gone after `grace` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL to the group)."""
        self.stop(grace=0.0, sig=signal.SIGKILL)
