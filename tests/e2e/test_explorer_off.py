"""With MEDIAPROOF_EXPLORER_URL empty (the default), the shareable proof pages keep their copy buttons but link
nowhere outside: a second web app on the same chain, built in a work directory of its own, runs with the setting
empty while the session's app keeps its explorer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import REFLEX_WORK, Chain, free_port, running_webapp, screenshot
from tests.e2e.test_verify import photo_bytes


@pytest.fixture(scope="module")
def registered(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("explorer-off") / "quay.jpg"
    data = bytearray(photo_bytes())
    data[-7] ^= 0x2D  # bytes no other module registers
    path.write_bytes(bytes(data))
    return chain.register(path, "Quay without explorer")


@pytest.fixture(scope="module")
def app_without_explorer(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    own = REFLEX_WORK.with_name("webapp-e2e-no-explorer")  # never the session app's build directory
    environment = {
        "MEDIAPROOF_EXPLORER_URL": "",
        "REFLEX_WEB_WORKDIR": str(own / "web"),
        "REFLEX_STATES_WORKDIR": str(own / "states"),
    }
    with running_webapp(chain, free_port(), tmp_path_factory.mktemp("reflex-no-explorer"), **environment) as url:
        yield url


def test_no_explorer_url_means_no_explorer_link_on_the_verify_pages(
    browser: Browser, app_without_explorer: str, registered: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        sha256 = "0x" + str(registered["sha256"]).lower().removeprefix("0x")
        for path, shows in (
            (f"/verify/{sha256}", "#verify-result[data-status=proven]"),
            (
                f"/verify?tx={registered['proof']['tx']}",
                "#verify-tx-files",
            ),
        ):
            page.goto(app_without_explorer + path)
            expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
            expect(page.locator(shows)).to_be_visible()
            expect(page.locator(".copyable").first).to_be_visible()  # the copy buttons stay
            expect(page.locator(".explorer-link")).to_have_count(0)
            assert page.locator("a[href*='explorer']").count() == 0
        screenshot(page, "verify-tx-no-explorer")
    finally:
        context.close()
