"""The README keeps pace with the code: every setting and every CLI command is documented there."""

from __future__ import annotations

import re

import pytest

from mediaproof.cli import app
from mediaproof.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_readme(name: str) -> None:
    assert f"MEDIAPROOF_{name.upper()}" in README, f"README.md does not mention MEDIAPROOF_{name.upper()}"


@pytest.mark.parametrize("command", sorted(c.name or c.callback.__name__ for c in app.registered_commands))
def test_every_cli_command_is_documented_in_readme(command: str) -> None:
    assert re.search(rf"mediaproof {command}\b", README), f"README.md does not show `mediaproof {command}`"


def test_readme_names_the_two_commands_ci_runs() -> None:
    assert "make up" in README and "make test" in README
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()
