"""Reflex configuration of the Mediaproof web app (run from this directory: `reflex run --env prod`)."""

import reflex as rx
from webapp.bundle import ACCENT, LeanRadixThemes

config = rx.Config(
    app_name="webapp",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # On by default and warns on every build; an app served from 127.0.0.1 has no use for a sitemap.
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Every page's root would otherwise import the whole of Radix Themes and Emotion for dynamic components, which
    # the app has none of: the namespaces load only if one is ever evaluated (Lighthouse: unused JavaScript, TBT).
    frontend_lazy_bundled_libraries=True,
    # Sidecars the server picks by Accept-Encoding: brotli where the browser asks for it, gzip otherwise.
    frontend_compression_formats=["brotli", "gzip"],
    # Radix Themes with only the colour scales and components the pages use (webapp/bundle.py).
    plugins=[LeanRadixThemes(theme=rx.theme(accent_color=ACCENT, radius="medium"))],
)
