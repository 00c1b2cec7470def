"""The clients of Mediaproof's services, one module each, used by the CLI, the services, the web app and the tests.

storage.py is the gateway-signed client of a storage cluster (the upload, download and observer services use it),
upload.py is the upload service's client (the CLI's `upload`, sign-in, register) and upload_async.py its async one
for the web app (both build their paths from upload_routes.py), download.py reads project files (sync and async),
indexer.py reads the indexer's API (the CLI's `search`, the web app). Every error answer decodes through
mediaproof.problems.error_from into the class the service raised.
"""

from __future__ import annotations

from typing import Any

import httpx

from mediaproof.errors import MediaproofError
from mediaproof.problems import error_from


class ServiceUnavailable(MediaproofError, ConnectionError):
    """A service did not answer, or answered a success that is not a JSON object (what answers is not ours)."""


def json_answer(reply: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a success from the service `what` names; else the error it answered, as
    mediaproof.problems reads it (a 4xx with the service's own sentence, a 5xx saying which service failed)."""
    status = reply.status_code
    if status >= 400:
        raise error_from(status, reply.content, reply.headers, f"the {what} failed ({status})" if status >= 500 else "")
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ServiceUnavailable(f"the {what} answered {status} without a JSON object: {reply.text[:200]}")
    return body
