"""Cache headers for the built front end: the bundler's files under /assets/ are named by their content's hash, so
a browser may keep them for a year without asking again; everything else keeps the server's revalidation."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HASHED_PREFIX = "/assets/"  # Vite's output directory: every name there carries its content's hash
IMMUTABLE = b"public, max-age=31536000, immutable"


def is_hashed_asset(path: str) -> bool:
    return path.startswith(HASHED_PREFIX) and ".." not in path


def immutable_assets(app: ASGIApp) -> ASGIApp:
    """Wraps the web app: a successful GET of a hashed asset is marked cacheable for a year (Lighthouse's
    uses-long-cache-ttl; a repeat visit loads nothing but the page)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_hashed_asset(str(scope.get("path", ""))):
            await app(scope, receive, send)
            return

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message["headers"] = [*headers, (b"cache-control", IMMUTABLE)]
            await send(message)

        await app(scope, receive, send_with_cache)

    return wrapped
