"""Where batch manifests come from: a `ManifestSource` gives the bytes of the manifest a BatchAnchored event names.

The production source asks the download service (`GET {download_url}/manifests/{cid}`, the setting
MEDIAPROOF_DOWNLOAD_URL, `Settings.resolved_download_url()`), which serves manifests once their batch is anchored.
Whatever it answers is checked by indexer.batch_manifest; a source only says "here are the bytes" or "not now".
"""

from __future__ import annotations

import base64
from typing import Protocol

import httpx

from mediaproof.content import parse_cid

MAX_MANIFEST_BYTES = 256 << 20  # 65 536 entries of ~2 KiB each, with room to spare


class ManifestUnavailable(Exception):
    """The manifest could not be fetched now (no answer, an error status, too large): the follower retries."""


class ManifestSource(Protocol):
    def fetch(self, cid: str) -> bytes:
        """The manifest's bytes; ManifestUnavailable when they cannot be had right now."""
        ...


def manifest_cid_text(raw: bytes) -> str:
    """The base32 CIDv1 text (`b…`) of the binary CID a BatchAnchored event carries; InputError when those bytes
    are not a sha2-256 CIDv1, so no source could ever serve them."""
    text = "b" + base64.b32encode(bytes(raw)).decode("ascii").lower().rstrip("=")
    parse_cid(text)  # raises InputError naming what is wrong
    return text


class HttpManifestSource:
    """Manifests from the download service: `GET {base_url}/manifests/{cid}` answers the manifest JSON."""

    def __init__(self, base_url: str, timeout: float = 10.0, max_bytes: int = MAX_MANIFEST_BYTES):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client: httpx.Client | None = None

    @property
    def _http(self) -> httpx.Client:
        # Made at the first batch: an httpx client costs ~0.5 s (its TLS context), which a restart should not pay
        # before it has any manifest to fetch.
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def fetch(self, cid: str) -> bytes:
        url = f"{self.base_url}/manifests/{cid}"
        try:
            with self._http.stream("GET", url) as reply:
                if reply.status_code != 200:
                    raise ManifestUnavailable(f"{url} answered {reply.status_code}")
                body = bytearray()
                for chunk in reply.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise ManifestUnavailable(f"{url} sent more than {self.max_bytes} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise ManifestUnavailable(f"{url} did not answer ({type(exc).__name__}: {exc})") from exc
