"""Run the download service: `python -m mediaproof.download [--server granian|uvicorn]` (port, workers, cache from
MEDIAPROOF_* settings). Served by granian (HTTP in Rust) when installed, else uvicorn (httptools, uvloop): same app.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from mediaproof.download.app import create_app
from mediaproof.settings import Settings

APP_FACTORY = "mediaproof.download.app:create_app"  # each worker process builds its own app (and cache)


def serve_granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    Granian(
        APP_FACTORY,
        factory=True,
        address="127.0.0.1",
        port=settings.download_port,
        # RSGI sends a cached answer in one call: 1.2-1.6x the requests/s of granian's own ASGI interface (which
        # was no faster than uvicorn) in bench/read_path.py. __rsgi_init__/__rsgi_del__ start and stop the app.
        interface=Interfaces.RSGI,
        workers=settings.download_processes,
        # A worker that dies (killed, out of memory) is started again; the others serve meanwhile.
        respawn_failed_workers=True,
        http=HTTPModes.http1,  # plain-text HTTP/2 (h2c) is not something browsers speak
        websockets=False,
        log_level=LogLevels.warning,
        log_access=False,  # a log line per view costs more than the view; views go to the view records
    ).serve()


def serve_uvicorn(settings: Settings) -> None:
    import uvicorn

    common: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": settings.download_port,
        "log_level": "warning",
        "access_log": False,
        "http": "auto",  # httptools and uvloop when installed, h11 and asyncio otherwise
        "loop": "auto",
    }
    if settings.download_processes > 1:
        uvicorn.run(APP_FACTORY, factory=True, workers=settings.download_processes, **common)
    else:
        uvicorn.run(create_app(settings), **common)


SERVERS = {"granian": serve_granian, "uvicorn": serve_uvicorn}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mediaproof.download", description=__doc__)
    parser.add_argument(
        "--server", choices=sorted(SERVERS), help="HTTP server (default: granian, RSGI, when installed)"
    )
    server = parser.parse_args(argv).server
    if server is None:
        # granian (RSGI) beat uvicorn on requests/s and p99 in bench/read_path.py; uvicorn stays as the fallback.
        server = "granian" if importlib.util.find_spec("granian") is not None else "uvicorn"
    SERVERS[server](Settings())


if __name__ == "__main__":
    main()
