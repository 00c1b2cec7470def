"""A real short MP4 through the upload page, proven directly: the new wallet creates its account (one transaction
with its deposit), the bytes go from the browser straight to the upload service with a progress bar that follows the
transfer, the record is signed in the wallet and registered in its own transaction, and the media page plays the
video in a <video> element with the poster frame the download service serves.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import Request, expect

from tests.e2e.conftest import MAIN_PYTHON, Chain, WalletConfig, screenshot
from tests.e2e.test_pages import choose_file, go, hydrated, sign_in

TITLE = "Test pattern in motion"
VIDEO_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # anvil account 4, new here
# Slow the page's uploads to this many seconds for the video, so the bar has more to show than 0 and 100.
UPLOAD_SECONDS = 2.0

# Records every value the progress bar shows, from the moment it appears (set before the file is chosen).
WATCH_PROGRESS = """() => {
  window.__progressSeen = [];
  const record = () => {
    const bar = document.getElementById("upload-progress");
    if (!bar) return;
    const value = Number(bar.getAttribute("data-progress"));
    if (window.__progressSeen[window.__progressSeen.length - 1] !== value) window.__progressSeen.push(value);
  };
  new MutationObserver(record).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-progress"],
  });
}"""


def pattern_video(path: Path) -> Path:
    """Two seconds of ffmpeg's test pattern as H.264 MP4, made with the ffmpeg imageio-ffmpeg bundles (in .venv).

    High quality (crf 4, ~66 KB) only so the transfer spans a few of Chromium's 16 KiB upload reads: more steps to see.
    """
    ffmpeg = subprocess.run(
        [str(MAIN_PYTHON), "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    source = ["-f", "lavfi", "-i", "testsrc=duration=2:size=640x360:rate=25"]
    encode = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "4", "-movflags", "+faststart"]
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error", *source, *encode, str(path)],
        check=True,
        timeout=120,
    )
    return path


def test_video_goes_straight_to_the_upload_service_and_plays_on_its_page(
    open_page, chain: Chain, app_url: str, tmp_path: Path
) -> None:
    video = pattern_video(tmp_path / "test-pattern.mp4")
    sha256 = hashlib.sha256(video.read_bytes()).hexdigest()
    wallet = WalletConfig(key=VIDEO_KEY, signing_key=VIDEO_KEY)
    page = open_page("/", wallet)
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    sign_in(page, wallet)
    page.locator("#main-nav").get_by_text("Upload", exact=True).click()
    hydrated(page)
    expect(page.locator("#account-step")).to_have_count(0)  # batched, the default, needs no account
    page.click("#upload-mode-direct")
    expect(page.locator("#account-step")).to_be_visible()
    screenshot(page, "upload-direct-new-wallet")
    page.click("#register-account")
    expect(page.locator("#account-ready")).to_contain_text("deposit 0.01 ETH", timeout=30_000)
    assert "eth_sendTransaction" in wallet.calls

    # The page's own request carries the bytes; a throttled link lets the bar move through the transfer.
    page.evaluate(WATCH_PROGRESS)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    throttle = {"offline": False, "latency": 0, "downloadThroughput": -1}
    rate = video.stat().st_size / UPLOAD_SECONDS
    cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": rate})
    choose_file(page, video)
    page.wait_for_function(
        "() => { const p = Number(document.getElementById('upload-progress')?.getAttribute('data-progress'));"
        " return p > 0 && p < 100; }"
    )
    screenshot(page, "upload-video-progress")
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": -1})
    seen = page.evaluate("() => window.__progressSeen")
    print(f"progress bar showed {seen}")
    assert seen and max(seen) == 100 and seen == sorted(seen), f"progress bar showed {seen}"
    assert any(0 < value < 100 for value in seen), f"the bar jumped straight to the end: {seen}"
    uploads = [r for r in posts if r.url == f"{chain.upload_url}/uploads"]
    assert len(uploads) == 1 and uploads[0].header_value("origin") == app_url
    assert not [r for r in posts if r.url.startswith(app_url)], "the file went through the web app's backend"

    # The preview plays the file from the page itself; the facts come from the upload service.
    preview = page.locator("#upload-preview")
    assert preview.evaluate("(el) => el.tagName") == "VIDEO"
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    expect(page.locator("#upload-facts")).to_contain_text("video/mp4")
    expect(page.locator("#upload-facts")).to_contain_text("640×360")
    page.fill("#upload-title", TITLE)
    screenshot(page, "upload-video-review")
    page.click("#upload-prepare")
    expect(page.locator("#record-sha256")).to_have_text("0x" + sha256, timeout=30_000)
    expect(page.locator("#record-variants")).to_contain_text("poster")
    expect(page.locator("#record-how")).to_contain_text("Direct: its own transaction")
    page.click("#upload-sign")
    expect(page.locator("#upload-result")).to_be_visible(timeout=60_000)
    assert "eth_signTypedData_v4" in wallet.calls
    link = page.locator("#upload-link").inner_text()
    block = page.locator("#upload-block").inner_text()
    expect(page.locator("#upload-proven")).to_have_text(f"Proven directly in block {block}.")
    expect(page.locator("#upload-batch")).to_have_count(0)
    expect(page.locator("#upload-proof")).to_have_attribute("href", re.compile(r"^data:application/json"))
    screenshot(page, "upload-video-done")

    # The media page: a <video> of the original, its poster frame from the download service, and it plays.
    go(page, link)
    expect(page.locator("#media-title")).to_have_text(TITLE, timeout=30_000)
    player = page.locator("#media-video")
    download = f"http://127.0.0.1:{chain.download_port}{link}"
    expect(player).to_have_attribute("poster", f"{download}?size=poster")
    expect(player).to_have_attribute("src", f"{download}?size=original")
    assert player.evaluate("(el) => el.tagName") == "VIDEO"
    poster = httpx.get(f"{download}?size=poster", timeout=30)
    assert poster.status_code == 200 and poster.headers["content-type"].startswith("image/")
    poster_size = page.evaluate(
        "(url) => new Promise((done) => { const i = new Image(); i.onload = () => done([i.naturalWidth,"
        " i.naturalHeight]); i.onerror = () => done(null); i.src = url; })",
        f"{download}?size=poster",
    )
    assert poster_size and poster_size[0] > 0, "the browser could not load the poster frame"
    page.wait_for_function(
        "() => { const v = document.getElementById('media-video'); return v && v.readyState >= 1; }", timeout=30_000
    )
    assert player.evaluate("(v) => [v.videoWidth, v.videoHeight]") == [640, 360]
    assert 1.5 < player.evaluate("(v) => v.duration") < 2.5
    screenshot(page, "media-video-poster")
    player.evaluate("(v) => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.getElementById('media-video').currentTime > 0.5", timeout=30_000)
    player.evaluate("(v) => v.pause()")
    screenshot(page, "media-video-playing")
    expect(page.locator("#media-sha256")).to_have_text(sha256)
    expect(page.locator("#media-proof-kind")).to_have_text("direct")
    expect(page.locator("#media-proven-where")).to_have_text(f"directly in block {block}")
    page.click("#media-verify")  # the direct path: the registration's event, checked in the browser
    expect(page.locator("#media-verify-result")).to_have_attribute("data-status", "proven", timeout=30_000)
    inclusion = page.locator(".proof-report .proof-check[data-check=inclusion]")
    expect(inclusion).to_have_attribute("data-ok", "true")
    expect(inclusion).to_contain_text(f"registered this media id in block {block}")
