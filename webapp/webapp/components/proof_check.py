"""The browser's proof check (assets/proofcheck.js, an ES module using ethers v6) brought into a page.

Rendering ProofCheck imports the module, which installs `window.mediaproofCheck` for rx.call_script; declaring
`ethers` here makes Reflex install it (pinned in reflex.lock/) and bundle it. The import is dynamic, once the page
is on screen (a NoSSRComponent), and pages render ProofCheck only once a check is asked for (the media page's
button, a file or bundle chosen on /verify) or is the page's point (/verify/<sha256>): ethers is a third of a page's
JavaScript and nothing of it is needed to paint. A call made before the module has arrived waits for its ready event
(_when_loaded).
"""

import json
from typing import Any

import reflex as rx

ETHERS = "ethers@6.17.0"


class ProofCheck(rx.NoSSRComponent):
    """Renders nothing; its import puts the proof checker in the page."""

    library = "$/public/proofcheck.js"
    tag = "ProofCheck"
    lib_dependencies: list[str] = [ETHERS]  # noqa: RUF012 (Reflex reads it as a class attribute)


def check_call(config: dict[str, Any], bundles: list[dict[str, Any]], sha256: str, sha_source: str, tag: str) -> str:
    """The JS expression rx.call_script awaits: the check of `bundles` against the chain. `sha_source` says what
    `sha256` is the hash of: "file" (a file the user chose) or "page" (the record the page shows)."""
    request = {"config": config, "bundles": bundles, "sha256": sha256, "shaSource": sha_source, "tag": tag}
    return _when_loaded(f"window.mediaproofCheck.check({json.dumps(request)})")


def read_bundle_call(input_id: str) -> str:
    """The JS expression that reads the bundle file chosen in <input id=input_id> (JSON, never uploaded)."""
    return _when_loaded(f"window.mediaproofCheck.readBundleFile({json.dumps(input_id)})")


def _when_loaded(call: str) -> str:
    """`call` once the module is in place: pages mount ProofCheck when a check is first asked for, and the event
    asking for it may reach the browser before the module does, so it waits for the module's ready event."""
    return (
        "(window.mediaproofCheck ? Promise.resolve() : new Promise((ready) => "
        'window.addEventListener("mediaproofcheck-ready", ready, { once: true })))'
        f".then(() => {call})"
    )
