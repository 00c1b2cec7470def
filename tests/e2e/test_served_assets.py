"""How the built front end is served (Lighthouse's network audits), asked of the real web app over HTTP: hashed
bundles compressed (brotli when the browser takes it, else gzip) and cacheable for a year; pages and missing files
never cached that way; no page ships what only some pages use (tus-js-client, all of lucide, Radix colour scales no
page names)."""

from __future__ import annotations

import re

import httpx
from webapp.bundle import COLORS, with_shells

from tests.e2e.conftest import REFLEX_WORK, ROOT

IMMUTABLE = "public, max-age=31536000, immutable"
# Reflex's build compresses files from 256 bytes up; a smaller one (a single icon) gains nothing and goes as is.
SMALLEST_COMPRESSED = 256


def _hashed_assets(app_url: str, path: str) -> list[str]:
    page = httpx.get(app_url + path, timeout=30)
    assert page.status_code == 200
    assert "immutable" not in page.headers.get("cache-control", ""), "a page must be asked for again"
    found = sorted(set(re.findall(r"(/assets/[\w.-]+\.(?:js|css))", page.text)))
    assert found, f"{path} names no bundled asset"
    return found


def test_hashed_assets_are_compressed_and_cached_for_a_year(app_url: str) -> None:
    compressed = 0
    for asset in _hashed_assets(app_url, "/"):
        plain = httpx.get(app_url + asset, headers={"Accept-Encoding": "identity"}, timeout=30)
        assert plain.status_code == 200, asset
        assert plain.headers.get("cache-control") == IMMUTABLE, asset
        if len(plain.content) < SMALLEST_COMPRESSED:
            continue
        brotli = httpx.get(app_url + asset, headers={"Accept-Encoding": "br, gzip"}, timeout=30)
        assert brotli.headers.get("content-encoding") == "br", asset
        assert brotli.headers.get("cache-control") == IMMUTABLE, asset
        # Fewer bytes on the wire (the sidecar's length; httpx decodes brotli only with a package the tests lack).
        assert int(brotli.headers["content-length"]) < len(plain.content), asset
        gzip = httpx.get(app_url + asset, headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert gzip.headers.get("content-encoding") == "gzip", asset
        assert gzip.content == plain.content, asset
        compressed += 1
    assert compressed > 0, "no bundle of the feed page was big enough to compress"


def test_a_missing_asset_is_a_404_never_cached_for_a_year(app_url: str) -> None:
    for path in ("/assets/no-such-bundle-0000.js", "/assets/../rxconfig.py", "/assets/%2e%2e/rxconfig.py"):
        answer = httpx.get(app_url + path, timeout=30)
        assert answer.status_code == 404, path
        assert "immutable" not in answer.headers.get("cache-control", ""), path


def test_pages_do_not_ship_tus_or_every_icon(app_url: str) -> None:
    for path in ("/", "/verify", "/upload"):
        page = httpx.get(app_url + path, timeout=30).text
        assert "tus.min.js" not in page, f"{path} loads tus-js-client before any resumable upload"
    # An icon named at run time (rx.icon(<a Var>)) makes the bundler emit lucide's every icon as this chunk.
    built = REFLEX_WORK / "web" / "build" / "client" / "assets"
    assert list(built.glob("*.js")), f"no build under {built}"
    assert not list(built.glob("DynamicIcon-*.js")), "a page names an icon at run time"


# Radix Themes' colour names: one of them quoted in the app's source is a colour a page may draw with.
RADIX_COLORS = (
    *("tomato", "red", "ruby", "crimson", "pink", "plum", "purple", "violet", "iris", "indigo", "blue", "cyan"),
    *("teal", "jade", "green", "grass", "brown", "orange", "sky", "mint", "lime", "yellow", "amber", "gold"),
    *("bronze", "gray", "mauve", "slate", "sage", "olive", "sand"),
)


def test_stylesheet_has_the_colours_the_pages_name_and_no_other(app_url: str) -> None:
    source = "\n".join(path.read_text() for path in sorted((ROOT / "webapp" / "webapp").rglob("*.py")))
    named = {color for color in RADIX_COLORS if f'"{color}"' in source}
    assert named <= set(COLORS), f"colours the pages name but bundle.COLORS lacks: {named - set(COLORS)}"
    assets = _hashed_assets(app_url, "/")
    css = "\n".join(httpx.get(app_url + asset, timeout=30).text for asset in assets if asset.endswith(".css"))
    assert css, "the feed page links no stylesheet"
    for color in RADIX_COLORS:
        # Each scale defines its steps as --<colour>-1 … -12; `gray` is also the name every theme's gray maps to.
        assert (f"--{color}-9:" in css) == (color in COLORS), color


def test_pages_preload_one_chunk_of_components_and_icons(app_url: str) -> None:
    # A page answered by the SPA fallback (a profile) learns of its route's chunk only once the app's own scripts have
    # run: without the ui chunk in the first HTML its components and icons would arrive a round trip after that
    # (webapp/bundle.py, one_ui_chunk).
    for path in ("/", "/m/no-such-link", "/u/0x" + "ab" * 20):
        assert any(asset.startswith("/assets/ui-") for asset in _hashed_assets(app_url, path)), path


def test_prerendered_pages_answer_at_their_own_path_without_a_redirect(app_url: str) -> None:
    # A shared /verify?tx=… link would otherwise pay a round trip for a redirect to /verify/ (webapp/page_paths.py).
    for path in ("/verify", "/verify?tx=0x" + "ab" * 32, "/clusters", "/verify/"):
        answer = httpx.get(app_url + path, timeout=30, follow_redirects=False)
        assert answer.status_code == 200, path
        assert 'id="page"' in answer.text, path


def test_a_media_link_is_answered_by_the_media_pages_prerendered_shell(app_url: str) -> None:
    # Its header and loading state paint before any script has run, and its route's chunk is preloaded by the first
    # HTML instead of being found once the app's scripts have run (webapp/page_paths.py, SHELLS).
    for path in ("/m/no-such-link", "/m/0x" + "ab" * 32):
        answer = httpx.get(app_url + path, timeout=30, follow_redirects=False)
        assert answer.status_code == 200, path
        assert 'id="media-loading"' in answer.text and 'id="main-nav"' in answer.text, path
        assert re.search(r'rel="modulepreload" href="/assets/_m_\.__media_key_\._index-[\w-]+\.js"', answer.text), path
    profile = httpx.get(f"{app_url}/u/0x{'ab' * 20}", timeout=30)
    assert 'id="media-loading"' not in profile.text  # only the media page has a shell


def test_the_router_config_prerenders_the_shells_only_when_it_prerenders() -> None:
    prerendering = 'export default {"ssr": false, "prerender": true, "build": "build"};'
    changed = with_shells(prerendering, ["/m/_"])
    assert '"prerender": async ({ getStaticPaths }) => [...getStaticPaths(), ...["/m/_"]]' in changed
    assert '"build": "build"' in changed
    dev = 'export default {"ssr": false};'
    assert with_shells(dev, ["/m/_"]) == dev
