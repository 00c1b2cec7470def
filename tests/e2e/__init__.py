"""Browser tests of the web app: real Chromium, a real Reflex server, a real anvil chain."""
