"""The clients of Mediaproof's services, one module each, used by the CLI, the services, the web app and the tests.

storage.py is the gateway-signed client of a storage cluster (the upload, download and observer services use it),
upload.py is the upload service's client (the CLI's `upload`, sign-in, register), indexer.py reads the indexer's API
(the CLI's `search`). Every error answer decodes through mediaproof.problems.error_from into the class the service
raised.
"""

from __future__ import annotations

from mediaproof.errors import MediaproofError


class ServiceUnavailable(MediaproofError, ConnectionError):
    """A service did not answer, or answered a success that is not a JSON object (what answers is not ours)."""
