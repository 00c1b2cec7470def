"""CORS on the upload service: a browser page from the configured web app origin may send files, others may not.

The app is built without its lifespan (which is what connects to the chain), so only the middleware answers."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_the_web_app_may_send_its_bearer_token_and_read_retry_after(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path, upload_cors_origins=ALLOWED)))
    asked = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}
    allowed = client.options("/uploads", headers={"origin": ALLOWED, **asked})
    assert allowed.status_code == 200
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
@pytest.mark.parametrize("path", ["/uploads", "/uploads/abc/prepare", "/auth/nonce", "/auth/session", "/users"])
def test_writes_from_a_foreign_origin_are_refused_before_anything_else(
    tmp_path: Path, path: str, content_type: str
) -> None:
    """A page elsewhere can make a browser POST text/plain or a form without a preflight: it is refused (403), with
    or without a token, before its body is read. The app's lifespan (the chain) is never reached."""
    client = TestClient(create_app(Settings(data_dir=tmp_path, upload_cors_origins=ALLOWED)))
    for origin in ("https://evil.example", "null", f"{ALLOWED}.evil.example"):
        answer = client.post(
            path, content=b"x", headers={"origin": origin, "content-type": content_type, "authorization": "Bearer t"}
        )
        assert answer.status_code == 403, (origin, answer.text)
        assert "web origin" in answer.json()["detail"] and answer.json()["error"] == "Forbidden"
