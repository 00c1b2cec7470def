"""How the front end is bundled for a phone's first paint (Lighthouse mobile performance), through the Radix Themes
plugin Reflex already runs:

- its stylesheet cut to the colours the app draws with: base tokens, components and utilities and the colour scales
  below, instead of styles.css with all thirty scales (Radix's documented per-colour imports); styles.css is 700 KB
  of render-blocking CSS a phone parses before the first paint and matches on every render, a ninth of it scales the
  app never names;
- the package not registered for dynamic components (which the app has none of): Reflex's plugin registers it, so
  the app root may `import("@radix-ui/themes")` whole, and the bundler then keeps every Radix component (dialogs,
  menus, sliders…) in the chunk every page loads first instead of only the ones the pages import;
- the Radix components and lucide icons the pages use in one chunk the first HTML preloads (one_ui_chunk);
- the shells of pages with a parameter in their path prerendered too (webapp.page_paths.SHELLS, with_shells).
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from webapp.page_paths import shell_paths

ACCENT = "indigo"
# The accent, the gray Radix pairs with it (gray_color="auto"), and every colour_scheme / rx.color the pages name.
# A colour missing here draws unstyled (transparent): tests/e2e/test_served_assets.py checks the pages against it.
COLORS = (ACCENT, "slate", "gray", "amber", "blue", "crimson", "green", "red")
PACKAGE = "@radix-ui/themes"


def stylesheets(colors: tuple[str, ...] = COLORS) -> tuple[str, ...]:
    """The Radix Themes stylesheets to import, in the order styles.css has them."""
    return (
        f"{PACKAGE}/tokens/base.css",
        *(f"{PACKAGE}/tokens/colors/{color}.css" for color in colors),
        f"{PACKAGE}/components.css",
        f"{PACKAGE}/utilities.css",
    )


class LeanRadixThemes(rx.plugins.RadixThemesPlugin):
    """The Radix Themes plugin, importing only the stylesheets above, leaving the package out of the dynamic
    components' libraries (the components that use it still declare and install it) and adding the ui chunk to
    Reflex's vite.config.js (a file the plugin API lets plugins modify)."""

    def get_stylesheet_paths(self, **context: Any) -> tuple[str, ...]:
        return stylesheets() if self.enabled else ()

    def get_frontend_dependencies(self, **context: Any) -> tuple[str, ...]:
        return ()

    def pre_compile(self, **context: Any) -> None:
        super().pre_compile(**context)
        context["add_modify_task"]("vite.config.js", one_ui_chunk)
        context["add_modify_task"]("react-router.config.js", with_shells)


# Rolldown's code-splitting groups in Reflex's vite.config.js; ours goes before Reflex's own.
GROUPS = "groups: ["
UI_GROUP = '{ test: /node_modules[\\\\/](@radix-ui|lucide-react)[\\\\/]/, name: "ui" },'


def one_ui_chunk(vite_config: str) -> str:
    """Every Radix component and lucide icon the pages use in one chunk beside the app root, which the first HTML
    preloads: a page (the media page above all, which is not prerendered) otherwise learns of a dozen tiny chunks only
    once its route's own chunk has arrived and been parsed, a further round trip on a phone."""
    if UI_GROUP in vite_config or GROUPS not in vite_config:
        return vite_config
    return vite_config.replace(GROUPS, GROUPS + "\n" + UI_GROUP, 1)


# Reflex's react-router.config.js when it prerenders (production builds): every page without a parameter.
PRERENDER_ALL = '"prerender": true'


def with_shells(router_config: str, shells: list[str] | None = None) -> str:
    """React Router's config prerendering the page shells as well as every static page; a config that does not
    prerender (the dev server) is left as it is."""
    if PRERENDER_ALL not in router_config:
        return router_config
    paths = json.dumps(shell_paths() if shells is None else shells)
    return router_config.replace(
        PRERENDER_ALL, f'"prerender": async ({{ getStaticPaths }}) => [...getStaticPaths(), ...{paths}]', 1
    )
