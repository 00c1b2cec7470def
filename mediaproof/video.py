"""Video facts and poster frames through the ffmpeg binary that ships inside the imageio-ffmpeg wheel."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from mediaproof.errors import InputError

_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(rb"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
PROBE_TIMEOUT = 30.0
POSTER_EDGE = 1600


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds
    codec: str
    width: int
    height: int


def _ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def probe(path: Path) -> VideoInfo:
    """Duration, codec and frame size; InputError when ffmpeg finds no playable video stream."""
    result = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, timeout=PROBE_TIMEOUT
    )
    stream = _VIDEO_STREAM.search(result.stderr)
    duration = _DURATION.search(result.stderr)
    if stream is None or duration is None:
        reason = result.stderr.strip().splitlines()[-1:] or [b"no video stream"]
        raise InputError(
            f"the video cannot be read ({reason[0].decode(errors='replace')}): it is truncated, corrupt, or not a video"
        )
    hours, minutes, seconds = duration.groups()
    return VideoInfo(
        duration=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        codec=stream.group(1).decode(),
        width=int(stream.group(2)),
        height=int(stream.group(3)),
    )


def poster_frame(path: Path, at_seconds: float = 0.0, long_edge: int = POSTER_EDGE) -> bytes:
    """One JPEG frame (the first, or at `at_seconds`), scaled down to `long_edge` at most."""
    scale = f"scale='min({long_edge},iw)':'min({long_edge},ih)':force_original_aspect_ratio=decrease"
    result = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{at_seconds:.3f}", "-i", str(path),
         "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-vcodec", "mjpeg", "-q:v", "4", "-"],
        capture_output=True,
        timeout=PROBE_TIMEOUT,
    )  # fmt: skip
    if result.returncode != 0 or not result.stdout.startswith(b"\xff\xd8"):
        raise InputError(f"no frame could be decoded from the video ({result.stderr.decode(errors='replace')[:200]})")
    return result.stdout
