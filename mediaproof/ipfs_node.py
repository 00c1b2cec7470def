"""The development launcher of a real js-ipfs daemon on loopback: `IpfsNode` inits a repo once and starts/stops the
daemon. Talking to a running node is mediaproof/ipfs_client.py's job."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mediaproof.errors import StorageError
from mediaproof.ipfs_client import IpfsClient
from mediaproof.processes import ManagedProcess, PortInUse, ProcessFailed
from mediaproof.settings import PROJECT_ROOT, Settings

JSIPFS = PROJECT_ROOT / "node_modules" / ".bin" / "jsipfs"
LOOPBACK = "127.0.0.1"
LOG_NAME = "daemon.log"


@dataclass(frozen=True)
class IpfsPorts:
    """The three TCP ports one daemon listens on, all on 127.0.0.1."""

    api: int
    swarm: int
    gateway: int


def loopback_config(ports: IpfsPorts) -> dict[str, Any]:
    """The config keys that keep a node on loopback, offline from the public network, on these ports."""
    return {
        "Addresses": {
            "Swarm": [f"/ip4/{LOOPBACK}/tcp/{ports.swarm}"],
            "Announce": [],
            "NoAnnounce": [],
            "API": f"/ip4/{LOOPBACK}/tcp/{ports.api}",
            "Gateway": f"/ip4/{LOOPBACK}/tcp/{ports.gateway}",
            # Empty disables the gRPC-over-websocket server (ipfs-daemon starts it only if set): nothing uses it.
            "RPC": "",
            "Delegates": [],
        },
        "Discovery": {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}},
        "Bootstrap": [],
        "Routing": {"Type": "none"},
    }


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class IpfsNode:
    """One js-ipfs daemon with its repo in `repo_dir`; inits the repo on first start, keeps it afterwards.

    Ports of 0 are free ones picked at the first start (`ports` tells which). Its log is `repo_dir/daemon.log`.
    Use as a context manager or call `start()` / `stop()`.
    """

    def __init__(
        self,
        repo_dir: Path,
        api_port: int,
        swarm_port: int,
        gateway_port: int,
        jsipfs: Path = JSIPFS,
        ready_timeout: float = 60.0,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        self.ports = IpfsPorts(api=api_port, swarm=swarm_port, gateway=gateway_port)
        self.jsipfs = Path(jsipfs)
        self.ready_timeout = ready_timeout
        self._process: ManagedProcess | None = None

    @property
    def api_multiaddr(self) -> str:
        return f"/ip4/{LOOPBACK}/tcp/{self.ports.api}"

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.api}/api/v0"

    @property
    def log_path(self) -> Path:
        return self.repo_dir / LOG_NAME

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def exit_code(self) -> int | None:
        return self._process.exit_code if self._process else None

    @property
    def pid(self) -> int | None:
        return self._process.proc.pid if self._process and self._process.proc else None

    def client(self, timeout: float = 120.0) -> IpfsClient:
        return IpfsClient(self.api_multiaddr, timeout=timeout)

    def start(self) -> IpfsNode:
        """Start the daemon and return once its API answers; init the repo first if it has none. Ports given as 0
        are picked here (again if another process takes one first) and kept for restarts."""
        if self.running:
            return self
        if not self.jsipfs.exists():
            raise StorageError(f"{self.jsipfs} is missing: run `make install` (npm install) to get js-ipfs")
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            name=f"js-ipfs ({self.repo_dir})",
            argv=[],
            log_path=self.log_path,
            ready=self._answers,
            env={"IPFS_PATH": str(self.repo_dir)},
            ready_timeout=self.ready_timeout,
            ports=[self.ports.api, self.ports.swarm, self.ports.gateway],
            on_ports=self._configure,
        )
        try:
            self._process.start()
        except (ProcessFailed, PortInUse) as exc:
            raise StorageError(f"{exc}\n--- last lines of {self.log_path} ---\n{self._log_tail()}") from exc
        return self

    def _configure(self, ports: list[int]) -> None:
        """The daemon's command and config for these ports (API, swarm, gateway), before each try."""
        assert self._process is not None
        self.ports = IpfsPorts(*ports)
        argv = [str(self.jsipfs), "daemon", "--enable-preload=false"]
        config_path = self.repo_dir / "config"
        if config_path.exists():
            self._clear_stale_lock()
            # Ports may differ from the last run; rewrite the loopback keys while no daemon holds the repo.
            config = json.loads(config_path.read_text())
            config_path.write_text(json.dumps(_merge(config, loopback_config(self.ports)), indent=2))
        else:
            # The daemon inits a missing repo itself: one Node start-up (~7 s) instead of two.
            init_config = self.repo_dir.parent / f".{self.repo_dir.name}-init.json"
            init_config.write_text(json.dumps(loopback_config(self.ports)))
            argv += ["--init-profile", "test", "--init-config", str(init_config)]
        self._process.argv = argv

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the daemon's process group, SIGKILL after `grace` seconds."""
        if self._process is not None:
            self._process.stop(grace=grace)
            self._process = None

    def kill(self) -> None:
        """Stop at once, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    def __enter__(self) -> IpfsNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answers(self) -> bool:
        response = httpx.post(f"{self.api_url}/id", timeout=1.0)
        return response.status_code == 200

    def _clear_stale_lock(self) -> None:
        """Drop the lock a killed daemon left (js-ipfs treats it as stale only after 20 s) unless a daemon lives."""
        api_file = self.repo_dir / "api"
        if api_file.exists():
            address = api_file.read_text().strip()  # e.g. /ip4/127.0.0.1/tcp/5101/http
            match = re.search(r"/tcp/(\d+)", address)
            port = match.group(1) if match else "0"
            with contextlib.suppress(httpx.HTTPError, httpx.InvalidURL):
                httpx.post(f"http://{LOOPBACK}:{port}/api/v0/id", timeout=1.0).raise_for_status()
                raise StorageError(
                    f"a daemon already serves the repo {self.repo_dir} at {address}; stop it before starting another"
                )
            api_file.unlink()
        lock = self.repo_dir / "repo.lock"
        if lock.is_dir():
            shutil.rmtree(lock, ignore_errors=True)
        elif lock.exists():
            lock.unlink()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def node_ports(settings: Settings, index: int) -> IpfsPorts:
    """Ports of IPFS node `index` (0-based) under `make up`: API on ipfs_base_port + 10*index, then swarm, gateway;
    all 0 (free ones, picked at start) when ipfs_base_port is 0."""
    if settings.ipfs_base_port == 0:
        return IpfsPorts(0, 0, 0)
    api = settings.ipfs_base_port + 10 * index
    return IpfsPorts(api=api, swarm=api + 1, gateway=api + 2)


def node_from_settings(settings: Settings, index: int) -> IpfsNode:
    """IPFS node `index` (0-based) of the local system: repo in data_dir/ipfs/node<index>, ports from settings."""
    ports = node_ports(settings, index)
    return IpfsNode(settings.data_dir / "ipfs" / f"node{index}", ports.api, ports.swarm, ports.gateway)


def start_node(settings: Settings, index: int) -> IpfsNode:
    """Start (initialising on first use) IPFS node `index` of the local system; returns once its API answers."""
    return node_from_settings(settings, index).start()
