"""Run the download service: `python -m mediaproof.download` (port, workers, cache from MEDIAPROOF_* settings)."""

from __future__ import annotations

from typing import Any

import uvicorn

from mediaproof.download.app import create_app
from mediaproof.settings import Settings


def main() -> None:
    settings = Settings()
    common: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": settings.download_port,
        "log_level": "warning",
        "access_log": False,  # a log line per view costs more than the view; views go to the view records
        "http": "auto",  # httptools and uvloop when installed, h11 and asyncio otherwise
        "loop": "auto",
    }
    if settings.download_workers > 1:
        # Each worker process builds its own app (and cache) from the same environment.
        uvicorn.run("mediaproof.download.app:create_app", factory=True, workers=settings.download_workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)


if __name__ == "__main__":
    main()
