"""The shareable verify pages' parsing of their address and the embed snippet (webapp.verify_links: pure, no
Reflex), and the badge (indexer.badge): what a hostile address or title can and cannot put into markup."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.badge import badge_svg
from mediaproof.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.verify_links import QUOTE_CHARS, embed, media_row, quoted, sha256_from_link, tx_from_link
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))

SHA = "ab" * 32
hexdigits = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)


@given(hexdigits, st.booleans())
def test_a_sha256_link_reads_with_or_without_0x_in_any_case_fuzz(digits: str, prefixed: bool) -> None:
    assert sha256_from_link(("0x" if prefixed else "") + digits) == digits.lower()


@given(st.text(max_size=200))
def test_anything_else_is_no_sha256_and_no_tx_fuzz(text: str) -> None:
    digest, tx = sha256_from_link(text), tx_from_link(text)
    assert digest is None or re.fullmatch("[0-9a-f]{64}", digest)
    assert tx is None or re.fullmatch("0x[0-9a-f]{64}", tx)


@pytest.mark.parametrize("text", ["", "0x12", "zz" * 32, SHA + "0", "<script>", "%3Cscript%3E", "0x" + SHA[:-1]])
def test_malformed_links_are_refused(text: str) -> None:
    assert sha256_from_link(text) is None and tx_from_link(text) is None


def test_a_tx_link_needs_its_0x() -> None:
    assert tx_from_link(SHA) is None and tx_from_link("0X" + SHA.upper()) == "0x" + SHA


@given(st.text(max_size=500))
def test_what_a_refusal_quotes_is_short_and_printable_fuzz(text: str) -> None:
    shown = quoted(text)
    assert len(shown) <= QUOTE_CHARS + 1 and shown.isprintable()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_embed_snippet_is_one_link_around_one_badge_image() -> None:
    made = embed("https://mediaproof.example/", "https://index.example", "0x" + SHA.upper())
    assert made["verify_url"] == f"https://mediaproof.example/verify/0x{SHA}"
    assert made["badge_url"] == f"https://index.example/badge/0x{SHA}.svg"
    parser = _Tags()
    parser.feed(made["snippet"])
    assert [t for t, _ in parser.tags] == ["a", "img"]
    assert parser.tags[0][1]["href"] == made["verify_url"] and parser.tags[1][1]["src"] == made["badge_url"]
    assert embed("https://x", "https://y", "<script>")["snippet"] == ""


@given(st.text(max_size=100))
def test_a_hostile_site_url_stays_inside_its_attribute_fuzz(site: str) -> None:
    parser = _Tags()
    parser.feed(embed(site, "https://index.example", SHA)["snippet"])
    assert [t for t, _ in parser.tags] == ["a", "img"] and set(parser.tags[0][1]) == {"href"}


def test_a_title_from_the_chain_is_text_not_markup() -> None:
    row = media_row({"title": '<script>alert("x")</script>\u202e', "sha256": "0x" + SHA, "id": "0x" + "cd" * 32}, "")
    assert "\u202e" not in row["title"] and row["verify_href"] == f"/verify/0x{SHA}"
    assert row["media_href"] == "/m/0x" + "cd" * 32


@given(st.one_of(st.none(), st.integers(min_value=0, max_value=2**63)))
def test_the_badge_is_well_formed_svg_saying_its_block_fuzz(block: int | None) -> None:
    svg = ElementTree.fromstring(badge_svg(block))
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert text.endswith(f"block {block}" if block is not None else "not proven")
    assert not [e for e in svg.iter() if e.tag.endswith("script") or any(a.startswith("on") for a in e.attrib)]


@pytest.mark.parametrize("url", ["javascript:alert(1)", 'https://x"onmouseover=1', "data:text/html,x", "ftp://x"])
def test_the_explorer_setting_takes_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Settings(explorer_url=url)
    assert Settings(explorer_url="https://etherscan.io").explorer_url == "https://etherscan.io"
    assert Settings().explorer_url == ""


@pytest.mark.parametrize("url", ["javascript:alert(1)", 'https://x"onerror=1', "data:image/svg+xml,x", "", "ftp://x"])
def test_the_public_indexer_setting_takes_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Settings(public_indexer_url=url)


def test_the_badge_comes_from_the_public_indexer_and_defaults_to_the_indexer_url() -> None:
    internal = Settings(indexer_url="http://indexer.internal:8702/")
    assert internal.resolved_public_indexer_url() == "http://indexer.internal:8702"
    public = internal.model_copy(update={"public_indexer_url": "https://proofs.example.org/"})
    assert public.resolved_public_indexer_url() == "https://proofs.example.org"
    snippet = embed("https://app.example.org", public.resolved_public_indexer_url(), SHA)["snippet"]
    assert f'src="https://proofs.example.org/badge/0x{SHA}.svg"' in snippet and "internal" not in snippet
