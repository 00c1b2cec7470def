"""Resumable uploads from a browser with a third-party tus client (npm `tus-js-client`, its own browser bundle) to the
upload service's /files/, from the web app's origin (CORS: preflights, the tus headers sent and read): an upload cut
at half and resumed by a new tus.Upload sends only the rest and ends as a normal upload of the same bytes.

The page is served by Playwright itself on the web app's origin (no Reflex build needed): it only loads the bundle.
A fulfilled page has no address, so Chromium's Local Network Access check would take it for a public page reaching
into loopback; the real web app is itself served from loopback, so this browser turns that check off.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from typing import Any

import httpx
import pytest
from eth_account import Account
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Route

from tests.e2e.conftest import ANVIL_KEY, CHROMIUM, CHROMIUM_FLAGS, ROOT, Chain, sign_in

BUNDLE = ROOT / "node_modules" / "tus-js-client" / "dist" / "tus.min.js"
CHUNK = 32 << 10
PAGE = """<!doctype html><html><head><script src="/tus.min.js"></script></head><body><script>
// Upload `b64` to `endpoint` in CHUNK-byte chunks; stop (abort) once `stopAt` bytes are accepted, or resume `url`.
window.sendTus = (endpoint, token, b64, chunkSize, stopAt, url) => new Promise((resolve, reject) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const file = new Blob([bytes], {type: "image/jpeg"});
  const seen = {firstOffset: null, url: null, uploadId: null, stopped: false};
  const upload = new tus.Upload(file, {
    endpoint, uploadUrl: url || null, chunkSize, retryDelays: [],
    headers: {Authorization: "Bearer " + token},
    metadata: {filename: "browser.jpg", filetype: "image/jpeg"},
    storeFingerprintForResuming: false,
    onChunkComplete: (size, accepted) => {
      if (seen.firstOffset === null) seen.firstOffset = accepted - size;
      seen.url = upload.url;
      if (stopAt && accepted >= stopAt && !seen.stopped) {
        seen.stopped = true;
        upload.abort().then(() => resolve(seen));
      }
    },
    onSuccess: (payload) => {
      seen.url = upload.url;
      seen.uploadId = payload.lastResponse.getHeader("Mediaproof-Upload-Id");
      resolve(seen);
    },
    onError: (error) => reject(String(error)),
  });
  upload.start();
});
</script></body></html>"""


def photo(size: tuple[int, int] = (900, 700)) -> bytes:
    """A JPEG of noise (~1 MB: it does not compress), new bytes each run."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.skipif(not BUNDLE.exists(), reason="npm tus-js-client is not installed (make install)")
def test_tus_js_client_cut_at_half_resumes_and_ends_as_an_upload(
    chain: Chain, webapp_port: int, browser: Browser
) -> None:
    origin = f"http://127.0.0.1:{webapp_port}"
    data = photo()
    token = sign_in(chain.upload_url, Account.from_key(ANVIL_KEY))["authorization"].removeprefix("Bearer ")
    flags = [*CHROMIUM_FLAGS, "--disable-features=LocalNetworkAccessChecks"]
    # A browser of its own (other flags), from the session's Playwright: a second sync_playwright() in one session
    # fails once another test has started the first.
    own = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=flags)
    try:
        half, held, rest = send_cut_and_resume(own.new_context(), origin, chain.upload_url, token, data)
    finally:
        own.close()
    assert half["stopped"] and half["uploadId"] is None and len(data) // 2 <= held < len(data)
    assert rest["firstOffset"] == held, "the resumed upload went on from the service's offset: only the rest was sent"
    described = httpx.get(f"{chain.upload_url}/uploads/{rest['uploadId']}", timeout=30).json()
    assert described["sha256"] == hashlib.sha256(data).hexdigest() and described["media_type"] == "image/jpeg"


def send_cut_and_resume(
    context: BrowserContext, origin: str, upload_url: str, token: str, data: bytes
) -> tuple[dict[str, Any], int, dict[str, Any]]:
    """In a page on `origin`: tus.Upload stopped once half is accepted; the offset the service holds; a new
    tus.Upload resuming the first one's URL to the end."""
    try:

        def serve(route: Route) -> None:
            if route.request.url.endswith("/tus.min.js"):
                route.fulfill(body=BUNDLE.read_text(), content_type="text/javascript")
            else:
                route.fulfill(body=PAGE, content_type="text/html")

        context.route(f"{origin}/**", serve)
        page = context.new_page()
        page.goto(f"{origin}/tus-check")
        args = [upload_url + "/files/", token, base64.b64encode(data).decode(), CHUNK]
        half = page.evaluate("(a) => window.sendTus(...a)", [*args, len(data) // 2, None])
        asked = httpx.head(half["url"], headers={"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"})
        held = int(asked.headers["upload-offset"])
        rest = page.evaluate("(a) => window.sendTus(...a)", [*args, 0, half["url"]])
    finally:
        context.close()
    return half, held, rest
