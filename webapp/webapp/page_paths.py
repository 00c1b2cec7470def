"""Prerendered pages answered at their own paths, and shells for pages with a parameter in their path.

- /verify is served verify/index.html itself, not a redirect to /verify/ (Starlette's static files redirect a
  directory's path without its slash), so a shared link such as /verify?tx=… starts loading one round trip sooner
  (Lighthouse: redirects; on a phone ~0.6 s of the first paint).
- /m/<key> is served the media page prerendered once as /m/_ (SHELLS): its header and loading state, with the page's
  scripts preloaded, instead of the app's empty SPA fallback, which learns of the page's scripts only once its own
  have run. The page is the same for every key (its data comes over the socket once it is hydrated), so the shell
  hydrates as it is; without it a phone painted nothing until the media's data had arrived and been drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

# Pages with a parameter in their path, prerendered once with this placeholder for it (never a valid key: short ids
# and media ids have no "_"): /m/<short id or media id> is served m/_/index.html.
SHELLS = {"m": "_"}


def shell_paths() -> list[str]:
    """The paths the build prerenders besides the static pages."""
    return [f"/{prefix}/{placeholder}" for prefix, placeholder in SHELLS.items()]


def built_pages() -> Path:
    """Where the production build keeps its prerendered pages (REFLEX_WEB_WORKDIR's build/client)."""
    from reflex import constants
    from reflex.utils.prerequisites import get_web_dir

    return get_web_dir() / constants.Dirs.STATIC


def _page_name(path: str) -> list[str] | None:
    """`path`'s segments when it may name a page: no trailing slash, no empty, "." or ".." segment, and a last
    segment that is not a file's name (no dot)."""
    name = path.strip("/")
    parts = name.split("/")
    if not name or path.endswith("/") or any(not part or part.startswith(".") for part in parts) or "." in parts[-1]:
        return None
    return parts


def prerendered_page_dir(pages: Path, path: str) -> bool:
    """Whether `path` (no trailing slash) names a directory of `pages` holding a prerendered index.html."""
    parts = _page_name(path)
    return parts is not None and (pages / "/".join(parts) / "index.html").is_file()


def served_path(pages: Path, path: str) -> str | None:
    """The path whose file answers `path` when it is not its own: a prerendered page's directory (with its slash),
    or the shell of a page with a parameter; None otherwise."""
    if prerendered_page_dir(pages, path):
        return path + "/"
    parts = _page_name(path)
    if parts is not None and len(parts) == 2 and parts[0] in SHELLS:
        shell = f"/{parts[0]}/{SHELLS[parts[0]]}"
        if prerendered_page_dir(pages, shell):
            return shell + "/"
    return None


def prerendered_in_place(app: ASGIApp, pages: Callable[[], Path] = built_pages) -> ASGIApp:
    """Wraps the web app: a GET or HEAD of a prerendered page's path, or of a path a shell answers, is served that
    page's index.html."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            served = served_path(pages(), str(scope.get("path", "")))
            if served is not None:
                scope = {**scope, "path": served, "raw_path": served.encode()}
        await app(scope, receive, send)

    return wrapped
