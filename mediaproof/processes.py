"""Start, watch and stop the local processes `make up` and the tests run (anvil, IPFS nodes, services).

Each process gets its own session (so a stop reaches its children), a log file, and a readiness check. Ports are
race-free: a child either inherits a socket bound here, or binds its ports itself and is started again on fresh
ones when another process took one first (it says so in its log).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mediaproof.errors import MediaproofError
from mediaproof.ports import PortInUse, free_port, listening_ports, port_of

__all__ = ["ManagedProcess", "PortInUse", "ProcessFailed", "free_port", "http_ok", "log_says", "port_open"]

PORT_ATTEMPTS = 5
# What anvil, uvicorn, granian and js-ipfs (API and gateway; libp2p for the swarm) log when a port is taken.
_PORT_TAKEN = re.compile(rb"address already in use|EADDRINUSE|could not listen on any available address", re.I)


class ProcessFailed(MediaproofError, RuntimeError):
    """A managed process exited early or never became ready."""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def log_says(log_path: Path, line: bytes) -> Callable[[], bool]:
    """A readiness check for a process that has no port to ask: whether `line` appears in its log after where the
    log ends now (a restart appends to the same log, so an earlier run's line must not count)."""
    start_size = log_path.stat().st_size if log_path.exists() else 0

    def ready() -> bool:
        with open(log_path, "rb") as handle:
            handle.seek(start_size)
            return line in handle.read()

    return ready


def http_ok(url: str) -> bool:
    """True when a GET of `url` answers 200 within a second (a readiness check)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


class ManagedProcess:
    """One child process with a log file; `start()` waits until `ready()` answers True.

    `ports`: TCP ports the child binds itself, 0 for any free one (picked at each try; `self.ports` holds them).
    `on_ports` writes the picked ports into argv, env or config files before each try. The child counts as ready
    only once its own process tree listens on them, so a server of someone else's on a taken port is never taken
    for it. `sockets`: bound sockets (mediaproof.ports.reserve_port) the child inherits and serves on; they are
    handed over once, so a process built with them starts once.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 60.0,
        *,
        ports: Sequence[int] = (),
        on_ports: Callable[[list[int]], None] | None = None,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready = ready
        self.env = env
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.sockets = list(sockets)
        self._wanted = [port_of(s) for s in sockets] or list(ports)
        self.ports = list(self._wanted)
        self.on_ports = on_ports

    def start(self) -> ManagedProcess:
        """Starts the child and returns once it is ready. When a port picked here was taken by another process
        before the child bound it, starts it again on fresh ones; a port asked for by number is never changed."""
        attempt = 1
        while True:
            self.ports = [port or free_port() for port in self._wanted]
            if self.on_ports is not None and self.ports:
                self.on_ports(self.ports)
            try:
                self._start_once()
            except PortInUse:
                if all(self._wanted) or attempt == PORT_ATTEMPTS:
                    raise
                attempt += 1
                continue
            self._wanted = list(self.ports)  # a restart comes back where its clients look for it
            return self

    def _start_once(self) -> None:
        if any(sock.fileno() == -1 for sock in self.sockets):
            raise ProcessFailed(f"{self.name} handed its socket over already: build a new process to restart it")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its whole life
        log_start = log.tell()
        env = {**os.environ, **(self.env or {})}
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=[s.fileno() for s in self.sockets],
            )
        finally:
            log.close()
            for sock in self.sockets:
                sock.close()  # the child has its own copy; ours would keep the port open after it exits
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if self._port_taken(log_start):
                    raise PortInUse(f"{self.name}: one of ports {self.ports} was taken; see {self.log_path}")
                raise ProcessFailed(f"{self.name} exited with code {self.proc.returncode}; see {self.log_path}")
            if self.ports and self._port_taken(log_start):  # js-ipfs says so and lives on
                self.stop()
                raise PortInUse(f"{self.name}: one of ports {self.ports} was taken; see {self.log_path}")
            with contextlib.suppress(Exception):
                if self.ready() and self._listens():
                    return
            time.sleep(0.1)
        self.stop()
        raise ProcessFailed(f"{self.name} was not ready after {self.ready_timeout:.0f} s; see {self.log_path}")

    def _port_taken(self, log_start: int) -> bool:
        with open(self.log_path, "rb") as log:
            log.seek(log_start)
            return _PORT_TAKEN.search(log.read()) is not None

    def _listens(self) -> bool:
        """True when the child's own process tree listens on each of its ports (or /proc cannot tell)."""
        if not self.ports or self.proc is None:
            return True
        ours = listening_ports(self.proc.pid)
        return ours is None or set(self.ports) <= ours

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The child's exit status once it has ended (negative: killed by that signal); None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def reap(self) -> None:
        """SIGKILL to what is left of the process group after its leader died (workers it forked, which may still
        hold its ports), before it is started again."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

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
