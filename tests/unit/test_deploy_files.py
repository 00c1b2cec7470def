"""deploy/ keeps pace with the code: every unit and Procfile line starts a module that exists and takes the flags
given, and every MEDIAPROOF_ variable the example environment sets is a setting (or one the storage unit reads)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from mediaproof.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
UNIT_ONLY = {"MEDIAPROOF_CHAIN_ID", "MEDIAPROOF_TOPOLOGY", "MEDIAPROOF_MEDIA_APP"}  # mediaproof-storage@ reads these


def _commands() -> list[str]:
    lines = [line.split(":", 1)[1] for line in (DEPLOY / "Procfile").read_text().splitlines()
             if line and not line.startswith("#")]  # fmt: skip
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        lines += re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
    return lines


@pytest.mark.parametrize("command", _commands())
def test_each_command_runs_a_module_with_flags_it_takes(command: str) -> None:
    module = re.search(r"python -m ([\w.]+)", command)
    assert module, command
    assert importlib.util.find_spec(module.group(1) + ".__main__"), f"{module.group(1)} has no __main__"
    flags = re.findall(r"(?<=\s)(--[a-z-]+)", command.split(module.group(1), 1)[1])
    if flags:
        help_text = subprocess.run([sys.executable, "-m", module.group(1), "--help"], capture_output=True,
                                   text=True, cwd=PROJECT_ROOT, timeout=120).stdout  # fmt: skip
        for flag in flags:
            assert flag in help_text, f"`{module.group(1)}` takes no {flag}"


def test_example_environment_sets_only_real_settings() -> None:
    known = {f"MEDIAPROOF_{name.upper()}" for name in Settings.model_fields} | UNIT_ONLY
    names = re.findall(r"^(MEDIAPROOF_\w+)=", (DEPLOY / "mediaproof.env.example").read_text(), re.MULTILINE)
    assert names and set(names) <= known, set(names) - known
