"""Runs the node scripts beside this file (ethers, @openzeppelin/merkle-tree) with the repo's node and its
node_modules: one long-lived process per script, one JSON request and one JSON answer per line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]


class NodeScript:
    """`node <script>` kept running; `ask(request)` sends one JSON line and reads one back."""

    def __init__(self, script: str) -> None:
        node = shutil.which("node")
        assert node, "node is not on PATH (the repo's node runs these checks)"
        assert (PROJECT_ROOT / "node_modules" / ".installed").exists(), "run `make install` first"
        self.proc = subprocess.Popen(
            [node, str(HERE / script)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"node exited ({self.proc.wait()}): {stderr}")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
