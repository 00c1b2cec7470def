"""Taking a file in: the request body streamed to a temp file while it is hashed, then checked by its content.

Nothing is kept of a file that fails: the caller removes the temp file on any error. `inspect_media` decides what
a file is from its bytes (never its name) and refuses anything that is not a whole, sane photo or video.

Checking is planned from the header first (`plan_check`: type, size, pixel limit, and the memory the check and the
later variants will take) and run second (`run_check`), so the upload service can make the decode wait for room in
its decode budget (`inspect_bounded`). A PNG is checked by streaming through it (mediaproof.pngscan), never decoded
whole; a JPEG at 1/8 scale; other formats are decoded, under the budget.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from PIL import Image

from mediaproof import mediatype, pngscan, variants, video
from mediaproof.content import ContentDigest, ContentHasher
from mediaproof.errors import ClientTooSlow, InputError, MediaTooLarge
from mediaproof.upload.decode_budget import DecodeBudget

# Bytes gathered from the socket before one hand-off to a worker thread for writing and hashing: big enough that the
# hop costs nothing next to the work, small enough to stay a few MiB per upload in flight.
WRITE_BATCH = 4 << 20
ACCEPTED = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
    "video/mp4": None,
    "video/quicktime": None,
    "video/webm": None,
}
ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, HEIC/HEIF, MP4, MOV or WebM"
# A check that goes through at most this many pixels (a JPEG's at 1/8 scale: a 24 MP photo is 0.4 MP) takes ~0.1 s
# and may pass bigger ones waiting for the decode budget (see decode_budget); a video's probe (its header) is quick.
SMALL_PIXELS = 4_000_000
_heif_registered = False


@dataclass(frozen=True)
class Received:
    path: Path
    digest: ContentDigest
    head: bytes  # the first bytes, for sniffing


@dataclass(frozen=True)
class MediaFacts:
    media_type: str
    width: int | None
    height: int | None
    duration: float | None = None  # seconds, videos only

    @property
    def is_video(self) -> bool:
        return self.media_type.startswith("video/")


@dataclass(frozen=True)
class Check:
    """One file's check as planned from its header alone, before anything is decoded."""

    path: Path
    media_type: str
    cost: int = 0  # bytes of decoded pixels the check holds at once (a video is probed by ffmpeg, out of process)
    needs: int = 0  # the most any later step holds (the variants): more than the budget could ever admit is refused
    scan_png: bool = True  # a PNG is streamed through, not decoded (False: Pillow decodes it whole, the old way)
    pixels: int = 0  # what the check goes through (its time, as `cost` is its memory)


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF (iPhone photos); once per process."""
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


async def arriving(
    body: AsyncIterator[bytes], idle_timeout: float | None, stalled: Callable[[], str]
) -> AsyncIterator[bytes]:
    """The chunks of a request body as they come; ClientTooSlow with the sentence `stalled()` gives when none came
    for `idle_timeout` seconds, if one is set (a slow client holds a socket and a temp file: it is cut off, not
    waited for)."""
    chunks = body.__aiter__()
    while True:
        try:
            with anyio.fail_after(idle_timeout):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ClientTooSlow(stalled()) from None
        yield chunk


async def receive(
    body: AsyncIterator[bytes],
    directory: Path,
    limit: int,
    idle_timeout: float | None = None,
    charge: Callable[[int], Awaitable[None]] | None = None,
) -> Received:
    """Stream `body` into a new file in `directory`, hashing it in the same pass; MediaTooLarge past `limit` bytes,
    ClientTooSlow when no byte arrives for `idle_timeout` seconds. `charge(n)` is awaited before each batch of `n`
    bytes is written (a quota may refuse it by raising).

    The temp file is removed on any failure (including the client hanging up); on success the caller owns it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
    path = Path(name)
    hasher = ContentHasher()
    head = b""
    size = 0
    pending: list[bytes] = []
    pending_size = 0

    def flush(chunks: list[bytes]) -> None:
        data = b"".join(chunks)
        _write_all(fd, data)
        hasher.update(data)

    async def write(batch: list[bytes], batch_size: int) -> None:
        if charge is not None:
            await charge(batch_size)
        await anyio.to_thread.run_sync(flush, batch)

    def stalled() -> str:
        return (f"no bytes of the upload arrived for {idle_timeout:g} s after {size} bytes: the upload is cut off "
                "(MEDIAPROOF_UPLOAD_IDLE_TIMEOUT); send it again")  # fmt: skip

    try:
        async for chunk in arriving(body, idle_timeout, stalled):
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise MediaTooLarge(
                    f"the file is over the upload limit of {_human(limit)}: send a smaller file "
                    "(the limit is MEDIAPROOF_MAX_UPLOAD_BYTES)"
                )
            if len(head) < mediatype.SNIFF_BYTES:
                head += chunk[: mediatype.SNIFF_BYTES - len(head)]
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_BATCH:
                batch, batch_size, pending, pending_size = pending, pending_size, [], 0
                await write(batch, batch_size)
        if pending:
            await write(pending, pending_size)
        digest = hasher.finish()
        os.close(fd)
        fd = -1
    except BaseException:
        if fd >= 0:
            os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return Received(path, digest, head)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def inspect_media(path: Path, head: bytes, size: int, *, scan_png: bool = True) -> MediaFacts:
    """What the file is and its dimensions; InputError with a sentence for anything Mediaproof does not accept."""
    return run_check(plan_check(path, head, size, scan_png=scan_png))


async def inspect_bounded(
    budget: DecodeBudget, path: Path, head: bytes, size: int, *, scan_png: bool = True
) -> MediaFacts:
    """`inspect_media` within the decode budget: the header is read first, then the decode waits for room (in the
    event loop, holding no worker thread) and runs on a thread. Busy when the wait would be too long; InputError
    when the image needs more memory than the budget could ever admit (refused before a pixel is decoded)."""
    check = await anyio.to_thread.run_sync(lambda: plan_check(path, head, size, scan_png=scan_png))
    budget.refuse_if_over(max(check.cost, check.needs))
    async with budget.hold_async(check.cost, small=check.pixels <= SMALL_PIXELS):
        return await anyio.to_thread.run_sync(run_check, check)


def plan_check(path: Path, head: bytes, size: int, *, scan_png: bool = True) -> Check:
    """The file's type by its bytes, and for an image its header checked (format, pixel limit) and the memory its
    check and its variants will take; InputError with a sentence for anything Mediaproof does not accept."""
    if size == 0:
        raise InputError("the file is empty (0 bytes): there is nothing to register")
    media_type = mediatype.sniff(head)
    if media_type is None or media_type not in ACCEPTED:
        seen = f" (its content looks like {media_type})" if media_type else ""
        raise InputError(
            f"the file is not a photo or video Mediaproof accepts{seen}: send {ACCEPTED_NAMES}; "
            "the type is read from the bytes, not the file name"
        )
    if media_type.startswith("video/"):
        return Check(path, media_type)
    expected = ACCEPTED[media_type] or ""
    with _opened(path, expected) as image:
        needs = variants.variant_cost(variants.drafted(image))
    with _opened(path, expected) as image:
        streamed = image.format == "PNG" and scan_png
        cost = pngscan.SCAN_BYTES if streamed else variants.decode_cost(_check_draft(image), all_frames=True)
        pixels = image.width * image.height * int(getattr(image, "n_frames", 1))  # after the draft
    return Check(path, media_type, cost, needs, scan_png, pixels)


def run_check(check: Check) -> MediaFacts:
    """Decode (or stream through) the file to prove it whole; its facts. InputError with a sentence if not."""
    if check.media_type.startswith("video/"):
        info = video.probe(check.path)
        return MediaFacts(check.media_type, info.width, info.height, info.duration)
    if check.media_type == "image/png" and check.scan_png:
        try:
            header = pngscan.scan(check.path, lambda h: variants.check_pixels(h.width, h.height))
        except pngscan.PngError as exc:
            raise InputError(f"the image is truncated or corrupt: {exc}") from exc
        return MediaFacts(check.media_type, header.width, header.height)
    width, height = check_image(check.path, ACCEPTED[check.media_type] or "")
    return MediaFacts(check.media_type, width, height)


@contextlib.contextmanager
def _opened(path: Path, expected_format: str) -> Iterator[Image.Image]:
    """The image opened (its header read, nothing decoded) and checked against the format its bytes announced and
    the pixel limit."""
    register_heif()
    try:
        with Image.open(path) as image:
            if image.format != expected_format:
                raise InputError(
                    f"the file starts like {expected_format} but decodes as {image.format}: "
                    "a disguised or polyglot file"
                )
            variants.check_pixels(*image.size)
            yield image
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"the image claims more pixels than the limit of {variants.MAX_PIXELS / 1e6:.0f} megapixels: "
            "a decompression bomb"
        ) from exc
    except Exception as exc:  # Pillow's decoders raise many unrelated types (OSError, SyntaxError, struct.error…)
        raise InputError(f"the image is truncated or corrupt ({type(exc).__name__}: {exc})"[:300]) from exc


def _check_draft(image: Image.Image) -> Image.Image:
    """A JPEG set to decode at 1/8 scale, which still reads (and so checks) every byte."""
    if image.format == "JPEG":
        width, height = image.size
        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    return image


def check_image(path: Path, expected_format: str) -> tuple[int, int]:
    """Decode the image (a JPEG at 1/8 scale) to prove it is whole; its size."""
    with _opened(path, expected_format) as image:
        width, height = image.size
        _check_draft(image).load()
        frames = int(getattr(image, "n_frames", 1))
        if image.format == "GIF" and frames > 1:
            image.seek(frames - 1)  # reaching the last frame proves the animation is whole
            image.load()
    return width, height


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@dataclass
class IncomingDirectory:
    """This process's directory for bodies being received, beside the other upload processes' of this machine.
    Its lock file is flock-ed for the process's life, so a starting process removes only what dead ones left (a
    body a live process is still receiving is never swept from under it)."""

    path: Path
    _lock: Any

    @classmethod
    def claim(cls, root: Path) -> IncomingDirectory:
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.glob("upload-*.part"):  # bodies of a process from before directories were per process
            remove_quietly(leftover)
        for lock_path in root.glob("*.lock"):
            with open(lock_path, "a+b") as other:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive
                shutil.rmtree(lock_path.with_suffix(""), ignore_errors=True)
                remove_quietly(lock_path)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        lock = open(root / f"{name}.lock", "a+b")  # noqa: SIM115 - held open for the process's life
        fcntl.flock(lock, fcntl.LOCK_EX)
        (root / name).mkdir()
        return cls(root / name, lock)
