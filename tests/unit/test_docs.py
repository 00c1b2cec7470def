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


LAYOUT = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
# Made by installs, builds and runs, never committed (see .gitignore).
NOT_IN_LAYOUT = {"node_modules", "deployments", "test-artifacts", "uploaded_files"}


def _top_level_directories() -> list[str]:
    return sorted(
        p.name
        for p in PROJECT_ROOT.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and not p.name.endswith(".egg-info")
        and p.name not in NOT_IN_LAYOUT
    )


def _mediaproof_packages_and_modules() -> list[str]:
    """Every subpackage (as `name/`) and module (by name) of mediaproof/, without `__init__` and `__main__`."""
    root = PROJECT_ROOT / "mediaproof"
    found = {f"{p.name}/" for p in root.rglob("*") if p.is_dir() and (p / "__init__.py").exists()}
    found |= {p.stem for p in root.rglob("*.py") if p.stem not in ("__init__", "__main__")}
    return sorted(found)


@pytest.mark.parametrize("directory", _top_level_directories())
def test_readme_layout_names_every_top_level_directory(directory: str) -> None:
    assert re.search(rf"^{re.escape(directory)}/", LAYOUT, re.MULTILINE), f"README's Layout has no `{directory}/` line"


@pytest.mark.parametrize("name", _mediaproof_packages_and_modules())
def test_readme_layout_names_every_mediaproof_package_and_module(name: str) -> None:
    pattern = rf"(?<![\w/]){re.escape(name)}" if name.endswith("/") else rf"(?<![\w.]){re.escape(name)}\b"
    assert re.search(pattern, LAYOUT), f"README's Layout does not name mediaproof's `{name}`"
