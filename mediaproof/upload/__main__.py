"""Run the upload service: `python -m mediaproof.upload [--fd N]` (port MEDIAPROOF_UPLOAD_PORT, or the inherited
socket N its launcher bound; every knob from Settings)."""

from __future__ import annotations

import argparse

import uvicorn

from mediaproof.settings import Settings
from mediaproof.upload.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mediaproof.upload", description=__doc__)
    parser.add_argument("--fd", type=int, default=None, help="serve on this inherited, bound socket")
    fd = parser.parse_args(argv).fd
    settings = Settings()
    app = create_app(settings)
    # Limits count per client address: X-Forwarded-For is believed only from the proxies named in the settings
    # (uvicorn would otherwise believe it from 127.0.0.1, and any local client could pick its own address).
    trusted = settings.upload_trusted_proxies.strip()
    proxied, allowed = bool(trusted), trusted or None
    if fd is not None:
        uvicorn.run(app, fd=fd, log_level="warning", proxy_headers=proxied, forwarded_allow_ips=allowed)
    else:
        uvicorn.run(app, host="127.0.0.1", port=settings.upload_port, log_level="warning", proxy_headers=proxied,
                    forwarded_allow_ips=allowed)  # fmt: skip


if __name__ == "__main__":
    main()
