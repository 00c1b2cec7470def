"""Radix Themes as the pages use it, for a phone's first paint (Lighthouse mobile performance):

- its stylesheet cut to the colours the app draws with: base tokens, components and utilities and the colour scales
  below, instead of styles.css with all thirty scales (Radix's documented per-colour imports); styles.css is 700 KB
  of render-blocking CSS a phone parses before the first paint and matches on every render, a ninth of it scales the
  app never names;
- the package not registered for dynamic components (which the app has none of): Reflex's plugin registers it, so
  the app root may `import("@radix-ui/themes")` whole, and the bundler then keeps every Radix component (dialogs,
  menus, sliders…) in the chunk every page loads first instead of only the ones the pages import.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

ACCENT = "indigo"
# The accent, the gray Radix pairs with it (gray_color="auto"), and every colour_scheme / rx.color the pages name.
# A colour missing here draws unstyled (transparent): tests/unit/test_radix_styles.py checks the pages against it.
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


class PageRadixThemes(rx.plugins.RadixThemesPlugin):
    """The Radix Themes plugin, importing only the stylesheets above and leaving the package out of the dynamic
    components' libraries (the components that use it still declare and install it)."""

    def get_stylesheet_paths(self, **context: Any) -> tuple[str, ...]:
        return stylesheets() if self.enabled else ()

    def get_frontend_dependencies(self, **context: Any) -> tuple[str, ...]:
        return ()
