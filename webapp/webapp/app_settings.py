"""The web app's settings (mediaproof.settings), read from the environment once per process: this app is their
entry point, and every event handler asks here instead of parsing the environment again."""

from __future__ import annotations

from functools import cache

from mediaproof.settings import Settings


@cache
def app_settings() -> Settings:
    return Settings()
