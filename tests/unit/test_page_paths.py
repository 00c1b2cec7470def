"""Which request paths the web app answers with a prerendered page in place (webapp/page_paths.py): only a real
directory's index.html under the build, or the shell of a page with a parameter for one segment after its prefix;
never a path that climbs out of the build or names a file; tested in the main environment (the module needs
Starlette's types, not Reflex)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webapp"))
try:
    from webapp.page_paths import SHELLS, prerendered_page_dir, served_path, shell_paths
finally:
    sys.path.remove(str(Path(__file__).resolve().parents[2] / "webapp"))


def _pages(root: Path) -> Path:
    pages = root / "client"
    (pages / "verify").mkdir(parents=True)
    (pages / "verify" / "index.html").write_text("<html></html>")
    (pages / "m" / "_").mkdir(parents=True)
    (pages / "m" / "_" / "index.html").write_text("<html>the media page's shell</html>")
    (pages / "assets").mkdir()
    (pages / "assets" / "app.js").write_text("")
    (root / "secret").mkdir()
    (root / "secret" / "index.html").write_text("outside the build")
    return pages


def test_prerendered_page_dir_names_a_page_without_its_slash(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    assert prerendered_page_dir(pages, "/verify")
    assert not prerendered_page_dir(pages, "/verify/")  # already the directory's own path
    assert not prerendered_page_dir(pages, "/")
    assert not prerendered_page_dir(pages, "")
    assert not prerendered_page_dir(pages, "/assets")  # a directory without a page
    assert not prerendered_page_dir(pages, "/nope")


def test_prerendered_page_dir_refuses_hostile_paths(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    for hostile in ("/../secret", "/verify/../../secret", "/assets/app.js", "/verify/index.html", "/..", "/./verify"):
        assert not prerendered_page_dir(pages, hostile), hostile


@given(st.text(alphabet="./abcdefghijklmnopqrstuvwxyz%\\", max_size=24))
def test_prerendered_page_dir_fuzz_only_ever_names_the_one_page(path: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        pages = _pages(Path(scratch))
        if prerendered_page_dir(pages, "/" + path):
            assert (pages / path / "index.html").resolve().is_relative_to(pages.resolve())
            assert path.strip("/") == "verify" and not path.endswith("/")


def test_a_page_with_a_parameter_is_answered_by_its_shell(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    assert shell_paths() == ["/m/_"] and SHELLS == {"m": "_"}
    for key in ("/m/AbC1234", "/m/0x" + "ab" * 32, "/m/_"):
        assert served_path(pages, key) == "/m/_/", key
    assert served_path(pages, "/verify") == "/verify/"  # a prerendered page, as before
    for not_a_media_page in ("/m", "/m/", "/m/AbC1234/", "/m/a/b", "/m/photo.jpg", "/m/..", "/m/.hidden", "/u/0xab"):
        assert served_path(pages, not_a_media_page) is None, not_a_media_page


def test_no_shell_is_served_when_the_build_has_none(tmp_path: Path) -> None:
    pages = tmp_path / "client"
    pages.mkdir()
    assert served_path(pages, "/m/AbC1234") is None  # the dev server's build: Reflex answers as it always did


@given(st.text(alphabet="./abcdefghijklmnopqrstuvwxyz_%\\", max_size=24))
def test_served_path_fuzz_only_ever_names_a_page_or_the_shell(path: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        pages = _pages(Path(scratch))
        served = served_path(pages, "/" + path)
        if served is not None:
            assert served in ("/verify/", "/m/_/")
            assert (pages / served.strip("/") / "index.html").is_file()
