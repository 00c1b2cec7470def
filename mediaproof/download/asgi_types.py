"""The ASGI shapes the download service's two server interfaces share (app.py serves ASGI, rsgi.py adapts RSGI to
it), kept apart so neither module has to import the other for its types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# The ASGI read path for one http request: the scope, and where its answer goes.
HttpHandler = Callable[[Scope, Send], Awaitable[None]]
