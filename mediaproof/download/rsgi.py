"""The download app under granian's RSGI interface: what the hot table does not answer goes to the ASGI read path.

RSGI sends a whole answer in one synchronous call (no message dicts, no awaits), which is why the cached answers
are served this way under granian; the rarer answers (errors, ranges, 304s, streams) are shared with the ASGI path
through an adapter that turns its messages into RSGI responses.
"""

from __future__ import annotations

from typing import Any

from mediaproof.download.asgi_types import HttpHandler, Message


def asgi_scope(scope: Any) -> dict[str, Any]:
    """The ASGI http scope the read path needs, from an RSGI scope (headers as lower-case latin-1 bytes)."""
    return {
        "type": "http",
        "method": scope.method,
        "path": scope.path,
        "query_string": scope.query_string.encode("latin-1"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
    }


class RSGISend:
    """An ASGI `send` for one request that answers through an RSGI protocol: one call for a whole body, a stream
    when the app sends the body in parts."""

    __slots__ = ("headers", "protocol", "status", "stream")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.stream: Any = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
            return
        body = message.get("body", b"")
        if self.stream is None:
            if not message.get("more_body", False):
                self.protocol.response_bytes(self.status, self.headers, body)
                return
            self.stream = self.protocol.response_stream(self.status, self.headers)
        if body:
            await self.stream.send_bytes(body)


async def serve(http: HttpHandler, scope: Any, protocol: Any) -> None:
    """A request the hot table did not answer, through the ASGI read path `http` (DownloadApp.http)."""
    if scope.proto != "http":
        return  # websockets are switched off; nothing else is served
    await http(asgi_scope(scope), RSGISend(protocol))
