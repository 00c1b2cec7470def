"""Run the upload service: `python -m mediaproof.upload` (port MEDIAPROOF_UPLOAD_PORT; every knob from Settings)."""

from __future__ import annotations

import uvicorn

from mediaproof.settings import Settings
from mediaproof.upload.app import create_app


def main() -> None:
    settings = Settings()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.upload_port, log_level="warning")


if __name__ == "__main__":
    main()
