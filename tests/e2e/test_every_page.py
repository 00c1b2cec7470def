"""Every route of the web app in real Chromium, at 1280 and at 390 px: it loads with no console error, no page error
and no failed request, a phone never scrolls sideways, the navigation stays one row, and axe-core finds no serious or
critical accessibility violation. Screenshots of each go to test-artifacts/page-<route>-<width>.png.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, Chain, screenshot, wait_for
from tests.e2e.test_projects import project_on_chain
from tests.e2e.test_verify import photo_bytes

# What makes an accessibility violation block a page: axe's two worst impacts (minor and moderate are reported by
# bench/web_audit.py, not failed on).
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # with {sha256}, {short_id}, {owner}, {tx}, {project} from the seeded media and project
    shows: str  # what is on screen once the page has loaded its data
    click: str = ""  # a tab to open first (the Following feed is a tab of /)
    allowed: tuple[str, ...] = ()  # answer statuses the page is meant to get (404 for the unknown route)


ROUTES = [
    Route("feed", "/", "#feed-grid .media-card"),
    Route("following", "/", "#feed-needs-wallet", click="#feed-tab-following"),
    Route("media", "/m/{short_id}", "#media-proof"),
    Route("profile", "/u/{owner}", "#profile-grid .media-card"),
    Route("own-profile", "/profile", "#profile-signed-out"),
    Route("upload", "/upload", "#upload-signed-out"),
    Route("search", "/search", "#search-hint"),
    Route("projects", "/projects", "#projects-signed-out"),
    Route("project", "/projects/{project}", "#project-versions"),
    Route("verify", "/verify", "#verify-drop"),
    Route("verify-sha256", "/verify/{sha256}", "#verify-result[data-status=proven]"),
    Route("verify-tx", "/verify?tx={tx}", "#verify-tx-files"),
    Route("clusters", "/clusters", "#clusters-list"),
    Route("not-found", "/no/such/page", "#not-found", allowed=("404",)),
]


@pytest.fixture(scope="module")
def seeded(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return seed(chain, tmp_path_factory.mktemp("every-page"))


def seed(chain: Chain, work: Path) -> dict[str, str]:
    """One proven photo (in the feed, a profile, a transaction) and one project: the routes' placeholders."""
    path = work / "harbour.jpg"
    data = bytearray(photo_bytes())
    data[-5] ^= 0x3C  # bytes no other module registers
    path.write_bytes(bytes(data))
    proof = chain.register(path, "Harbour at dawn")
    project, _ = project_on_chain(chain, f"every page survey {secrets.token_hex(3)}")
    return {
        "sha256": "0x" + str(proof["sha256"]).lower().removeprefix("0x"),
        "short_id": proof["short_id"],
        "owner": proof["owner"],
        "tx": proof["proof"]["tx"],
        "project": project,
    }


def loaded(visit: Any, route: Route, seeded: dict[str, str], viewport: tuple[int, int]) -> tuple[Page, list[str]]:
    page, problems = visit(route.path.format(**seeded), viewport, allowed=route.allowed)
    # The indexer may still be a block behind the seeded photo: the data-backed routes reload until it shows.
    wait_for(lambda: _shows(page, route), 60, f"{route.name} shows {route.shows}")
    page.wait_for_load_state("networkidle")  # thumbnails and the badge too, so a failed one is caught
    return page, problems


def _shows(page: Page, route: Route) -> bool:
    if route.click:
        page.click(route.click)
    try:
        expect(page.locator(route.shows).first).to_be_visible(timeout=5_000)
        return True
    except AssertionError:
        page.reload()
        expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
        return False


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_page_loads_cleanly_and_fits_the_screen(visit, seeded, route: Route, viewport) -> None:
    page, problems = loaded(visit, route, seeded, viewport)
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{route.name} is {scroll_width - width}px wider than the {width}px screen"
    nav = page.locator("#main-nav")
    links = nav.locator("a")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, f"the navigation wraps onto {len(tops)} rows at {width}px"
    right = max(links.nth(i).bounding_box()["x"] + links.nth(i).bounding_box()["width"] for i in range(links.count()))
    assert right <= width, "a navigation link is off the screen"
    screenshot(page, f"page-{route.name}-{viewport[0]}")
    assert problems == [], problems


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_page_has_no_serious_accessibility_violation(visit, seeded, route: Route) -> None:
    page, _ = loaded(visit, route, seeded, DESKTOP)
    blocking = serious_violations(page)
    assert blocking == [], "\n".join(blocking)


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each with where."""
    found = Axe().run(page).response["violations"]
    return [
        f"{v['impact']} {v['id']}: {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in BLOCKING
    ]
