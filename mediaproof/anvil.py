"""A local anvil node (npm @foundry-rs/anvil) whose chain state survives restarts (`--state FILE`)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from mediaproof.processes import ManagedProcess
from mediaproof.settings import PROJECT_ROOT

# The platform package's native binary, not the npm wrapper script: a wrapper exits before the node it started
# has written its state and released its port, so a quick restart would find the port still taken.
_NATIVE = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ANVIL_BIN = _NATIVE if _NATIVE.exists() else PROJECT_ROOT / "node_modules" / ".bin" / "anvil"


def rpc_answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=1) as response:
        return "result" in json.loads(response.read())


class AnvilNode(ManagedProcess):
    """anvil on 127.0.0.1:`port` (0: a free port, kept for restarts; `port` and `url` tell which once started);
    with `state_file` the chain is dumped there every few seconds and on exit."""

    def __init__(
        self,
        port: int,
        data_dir: Path,
        state_file: Path | None = None,
        block_time: float | None = None,
        chain_id: int | None = None,
    ):
        self._options: list[str] = []
        if chain_id is not None:
            self._options += ["--chain-id", str(chain_id)]
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            # --state loads the file at start and writes it on exit; the interval bounds what a crash can lose.
            self._options += ["--state", str(state_file), "--state-interval", "2"]
        if block_time is not None:
            self._options += ["--block-time", str(block_time)]
        super().__init__(
            "anvil", [], data_dir / "anvil.log", ready=lambda: rpc_answers(self.url), ports=[port], on_ports=self._use
        )
        self._use([port])

    def _use(self, ports: list[int]) -> None:
        self.port = ports[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port), "--silent", *self._options]
