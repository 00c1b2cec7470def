"""Upload throughput through the upload service (stream in, hash, validate, store on R = 2 clusters) for 1 MB,
50 MB and 500 MB files, beside adding the same bytes straight to one js-ipfs daemon, in the same run.

`python bench/upload_throughput.py [MB ...]` (default 1 50 500). Files are real media the service accepts: a noise
JPEG for 1 MB, uncompressed (rawvideo) QuickTime movies for the larger sizes.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import imageio_ffmpeg
import numpy as np
from eth_account import Account
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._upload_common import start_stack
from mediaproof.clients.upload import UploadClient
from mediaproof.settings import ANVIL_TEST_KEYS

RESULTS = Path(__file__).resolve().parent / "results" / "upload_throughput.txt"
FRAME_BYTES = 1280 * 720 * 3  # one rgb24 720p frame (QuickTime stores raw video as packed RGB)


def media_of(megabytes: int, directory: Path, seed: int) -> Path:
    path = directory / f"{megabytes}mb-{seed}"
    if megabytes <= 2:
        side = int((megabytes * 1e6 / 0.8) ** 0.5)  # noise JPEG at q85: ~0.8 bytes a pixel
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=85)
        path = path.with_suffix(".jpg")
        path.write_bytes(out.getvalue())
        return path
    frames = max(1, round(megabytes * 1e6 / FRAME_BYTES))
    path = path.with_suffix(".mov")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=size=1280x720:rate=25,noise=alls={seed}:allf=t", "-frames:v", str(frames),
         "-c:v", "rawvideo", "-pix_fmt", "rgb24", str(path)],
        check=True, timeout=600,
    )  # fmt: skip
    return path


def chunks(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def wait_for_variants(url: str, upload: dict, limit: float = 300) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = httpx.get(f"{url}/uploads/{upload['upload_id']}", timeout=30).json()["variants_state"]
        if state in ("done", "failed"):
            return
        time.sleep(0.2)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 50, 500]
    stack, tmp = start_stack()
    lines = [
        "Upload throughput: POST /uploads (stream, sha256+CID in one pass, validate, store on R=2 of 3 clusters)",
        "vs `ipfs add` of the same bytes straight to one js-ipfs daemon (baseline), same run, same machine (2 cores)",
        f"{'size':>8}  {'service s':>9}  {'service MB/s':>12}  {'ipfs add s':>10}  {'ipfs MB/s':>9}  ratio",
    ]
    try:
        url = stack.settings.resolved_upload_url()
        with UploadClient(url, account=Account.from_key(ANVIL_TEST_KEYS[1])) as client:
            signed_in = {"authorization": f"Bearer {client.sign_in()}"}  # every upload carries a session (SIWE)
        warm = media_of(1, tmp, seed=1000)  # first request pays imports and connections: not measured
        warmed = httpx.post(url + "/uploads", content=warm.read_bytes(), headers=signed_in, timeout=60)
        wait_for_variants(url, warmed.json())
        for megabytes in sizes:
            path = media_of(megabytes, tmp, seed=megabytes % 97 + 1)
            size = path.stat().st_size
            started = time.perf_counter()
            answer = httpx.post(url + "/uploads", content=chunks(path), headers=signed_in, timeout=1800)
            service = time.perf_counter() - started
            if answer.status_code != 201:
                raise SystemExit(f"upload of {megabytes} MB failed: {answer.status_code} {answer.text}")
            wait_for_variants(url, answer.json())  # so the next measurement does not share the CPU with it
            # The baseline adds to the daemon of a cluster that did not take a copy: no blocks already there.
            spare = next(c for c in stack.clusters if c.cluster_id not in answer.json()["clusters"])
            started = time.perf_counter()
            with path.open("rb") as handle:
                spare.ipfs.client(timeout=1200).add(handle, pin=False)
            direct = time.perf_counter() - started
            mb = size / 1e6
            lines.append(
                f"{mb:>6.1f}MB  {service:>9.2f}  {mb / service:>12.1f}  {direct:>10.2f}  {mb / direct:>9.1f}"
                f"  {direct / service:.2f}x"
            )
            print(lines[-1], flush=True)
            path.unlink()
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lines.append(
        "ratio = ipfs-add time / service time. The service does two cluster adds (R=2, in parallel) plus hashing and"
    )
    lines.append("validation after the body has arrived, so ~0.4-0.6x of one bare add is the expected shape here.")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:3] + lines[-2:]))


if __name__ == "__main__":
    main()
