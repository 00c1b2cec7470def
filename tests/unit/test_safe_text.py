"""Titles: control and bidi characters refused at prepare with a sentence; whatever is on chain printed escaped, by
the CLI (here `mediaproof search` against a real HTTP server playing a hostile indexer) and the web app's rows."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproof.errors import InputError
from mediaproof.safe_text import check_title, printable, unsafe_characters
from mediaproof.settings import PROJECT_ROOT

ESC_REWRITE = "Harbour\x1b[2K\r\x1b[1Aproven: 0xAttacker held these bytes"  # erase line, carriage return, cursor up
HOSTILE = {
    "NUL": "a\x00b",
    "ESC sequence": ESC_REWRITE,
    "CR": "first\rsecond",
    "LF": "one\ntwo",
    "TAB": "a\tb",
    "DEL": "a\x7fb",
    "C1 CSI": "a\x9b2Jb",
    "RTL override": "invoice_\u202egpj.exe",
    "RTL isolate": "a\u2067b\u2069",
    "LRE": "a\u202ab",
    "RLM": "a\u200fb",
    "ALM": "a\u061cb",
    "line separator": "a\u2028b",
    "paragraph separator": "a\u2029b",
    "lone surrogate": "a\ud800b",
}


@pytest.mark.parametrize("title", HOSTILE.values(), ids=HOSTILE.keys())
def test_titles_with_control_or_bidi_characters_are_refused_with_a_sentence(title: str) -> None:
    with pytest.raises(InputError) as refused:
        check_title(title)
    sentence = str(refused.value)
    assert "the title carries U+" in sentence and "remove them" in sentence
    assert not unsafe_characters(sentence)  # names the characters, never carries them


@pytest.mark.parametrize(
    "title", ["Harbour at dawn", "Zürich — 東京 — القاهرة", "Family 👨\u200d👩\u200d👧", "می\u200cخواهم", "  padded  "]
)
def test_ordinary_titles_pass_and_print_as_they_are(title: str) -> None:
    assert check_title(title) == title.strip()
    assert printable(title) == title


def test_empty_and_long_titles_keep_their_sentences() -> None:
    with pytest.raises(InputError, match="missing or empty"):
        check_title("   ")
    with pytest.raises(InputError, match="over 1000 bytes"):
        check_title("é" * 501)


def test_printable_escapes_what_could_rewrite_a_terminal() -> None:
    shown = printable(ESC_REWRITE)
    assert "\x1b" not in shown and "\r" not in shown
    assert shown == "Harbour\\x1b[2K\\r\\x1b[1Aproven: 0xAttacker held these bytes".replace("\\r", "\\x0d")
    assert printable("invoice_\u202egpj.exe") == "invoice_\\u202egpj.exe"


@given(st.text())
def test_printable_output_never_carries_a_refused_character(text: str) -> None:
    shown = printable(text)
    assert not unsafe_characters(shown)
    assert all(c.isprintable() or c in "\u200c\u200d" for c in shown)


class _HostileIndexer(BaseHTTPRequestHandler):
    rows: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        body = json.dumps({"query": "x", "limit": 20, "offset": 0, "results": self.rows}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_indexer() -> Iterator[str]:
    _HostileIndexer.rows = [
        {"id": "0x" + "ab" * 32, "title": ESC_REWRITE, "owner": "0x" + "11" * 20, "block": 7},
        {
            "id": "0x" + "cd" * 32,
            "title": "invoice_\u202egpj.exe",
            "owner": "0x" + "22" * 20,
            "block": 8,
            "short_id": "Ab3",
        },
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileIndexer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_cli_search_prints_titles_from_the_chain_escaped(hostile_indexer: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", "search", "harbour", "--indexer", hostile_indexer],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout and "\u202e" not in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Harbour\\x1b[2K\\x0d\\x1b[1Aproven: 0xAttacker") and "block 7" in lines[0]
    assert lines[1].startswith("invoice_\\u202egpj.exe")
    assert lines[0].endswith("0x" + "ab" * 32)  # no short link: its media id
    assert lines[1].endswith("/m/Ab3")  # the web app's page, the link people share


def test_cli_upload_refuses_a_hostile_title_before_anything_else(tmp_path: Any) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff bytes")
    result = subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", "upload", str(photo), "--title", "a\x1b[2Kb"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "U+001B ESCAPE" in result.stderr and "\x1b" not in result.stderr


def test_web_app_rows_show_titles_from_the_chain_escaped() -> None:
    # The web app's pure row builders (they need no Reflex): feed, search and profile cards, and proof reports.
    sys.path.insert(0, str(PROJECT_ROOT / "webapp"))
    try:
        from webapp.media_rows import media_card
        from webapp.proof_reports import report_from
    finally:
        sys.path.remove(str(PROJECT_ROOT / "webapp"))
    card = media_card({"id": "0x" + "ab" * 32, "title": ESC_REWRITE, "owner": "0x" + "11" * 20}, "", "")
    assert card["title"] == printable(ESC_REWRITE) and "\x1b" not in card["title"]
    report = report_from({"proven": True, "title": "invoice_\u202egpj.exe", "checks": [], "receipts": []})
    assert report.title == "invoice_\\u202egpj.exe"
