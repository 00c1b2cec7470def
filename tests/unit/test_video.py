"""Video probing and poster frames on real files made by the bundled ffmpeg."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from mediaproof.errors import InputError
from mediaproof.video import poster_frame, probe


def make_video(path: Path, codec: list[str], seconds: float = 2.0, size: str = "640x360") -> Path:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=duration={seconds}:size={size}:rate=25", *codec, str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"])


def test_probe_reads_duration_codec_and_size(mp4: Path) -> None:
    info = probe(mp4)
    assert info.codec == "h264"
    assert (info.width, info.height) == (640, 360)
    assert info.duration == pytest.approx(2.0, abs=0.1)


def test_poster_frame_is_a_jpeg_of_the_video_size(mp4: Path) -> None:
    frame = Image.open(io.BytesIO(poster_frame(mp4)))
    assert frame.format == "JPEG"
    assert frame.size == (640, 360)


def test_webm_av1_is_probed(tmp_path: Path) -> None:
    webm = make_video(tmp_path / "clip.webm", ["-c:v", "libsvtav1", "-preset", "12"], seconds=1.0, size="320x240")
    assert probe(webm).codec == "av1"


def test_truncated_video_is_refused_with_a_sentence(mp4: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(mp4.read_bytes()[:2000])
    with pytest.raises(InputError, match="cannot be read"):
        probe(broken)


def test_random_bytes_are_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(InputError):
        probe(junk)
