"""`make up` starts the system without a browser: only the browser tests install Chromium (apt can be locked or
absent on a machine that only wants to run Mediaproof)."""

from __future__ import annotations

import subprocess

from mediaproof.settings import PROJECT_ROOT


def _dry_run(target: str) -> list[str]:
    out = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines()]


def test_make_up_sets_up_the_web_app_without_chromium() -> None:
    lines = _dry_run("up")
    setups = [line for line in lines if "web_setup.sh" in line]
    assert setups == ["bash tooling/web_setup.sh --no-browser"], setups
    assert not any("apt-get" in line or "chromium" in line for line in lines)


def test_the_browser_tests_still_install_chromium() -> None:
    assert "bash tooling/web_setup.sh" in _dry_run("test-e2e")


def test_no_browser_skips_the_chromium_install() -> None:
    script = (PROJECT_ROOT / "tooling" / "web_setup.sh").read_text()
    assert '"${1:-}" != "--no-browser" && ! -x /usr/bin/chromium' in script


def test_the_tests_install_postgresql_and_make_up_does_not() -> None:
    # The store suite's PostgreSQL runs on Debian's binaries; `make up` (SQLite by default) must not need apt.
    assert any("apt-get install -y -qq postgresql" in line for line in _dry_run("test-unit"))
    assert not any("postgresql" in line for line in _dry_run("up"))
