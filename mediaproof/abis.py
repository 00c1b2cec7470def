"""The contracts' ABIs and creation bytecode as exported to mediaproof/abi/ (`ape run export_abis`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mediaproof.errors import DeploymentError

ABI_DIR = Path(__file__).resolve().parent / "abi"
BYTECODE_FILE = ABI_DIR / "bytecode.json"


def load_abi(name: str) -> list[dict[str, Any]]:
    path = ABI_DIR / f"{name}.json"
    try:
        return list(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise DeploymentError(f"no ABI for {name} at {path}; run `ape run export_abis`") from exc


def load_bytecode(name: str) -> str:
    try:
        return str(json.loads(BYTECODE_FILE.read_text())[name])
    except (FileNotFoundError, KeyError) as exc:
        raise DeploymentError(f"no bytecode for {name} in {BYTECODE_FILE}; `ape run export_abis`") from exc
