"""CORS on the upload service: a browser page from the configured web app origin may send files, others may not.

The app is built without its lifespan (which is what connects to the chain), so only the middleware answers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mediaproof.settings import Settings
from mediaproof.upload.app import create_app

ALLOWED = "https://app.example"


def test_preflight_echoes_only_the_allowed_origin(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, upload_cors_origins=f"{ALLOWED}/, https://other-app.example"))
    client = TestClient(app)  # not entered as a context: no lifespan, no chain
    asked = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}

    allowed = client.options("/uploads", headers={"origin": ALLOWED, **asked})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()

    refused = client.options("/uploads", headers={"origin": "https://evil.example", **asked})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
