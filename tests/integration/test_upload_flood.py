"""Bounded work on a real stack: eight parallel uploads of a 10000×10000 PNG (~300 KB each, exactly at the pixel
limit, 400 MB each once decoded) against the upload service as it ships (default decode budget).

Once, the same flood drove the service from 98 MB to 2.96 GB and left 1.09 GB behind. Here: its peak (VmHWM of the
upload process) stays under 1 GiB; /health and small uploads answer meanwhile; every flood upload ends in a defined
state (201, or a 4xx/503 with a sentence); the variants of the accepted ones are made; and its memory falls back
to within 128 MiB of where it stood before the flood. Every wait is decided by observed state, under a guard.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from PIL import Image

from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.memory import memory_of
from tests.integration.auth import auth
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
MiB = 1 << 20
FLOOD = 8
PEAK_LIMIT = 1 << 30  # the goal: the flood peaks under 1 GiB
RETURN_MARGIN = 128 * MiB  # afterwards, back within this of the pre-flood level (a flood image decodes to 381 MiB)
GUARD = 300.0  # seconds: generous, only there so a broken service fails the test instead of hanging it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # One cluster is enough: the flood is about the upload service's memory, not about replication.
    # Eight big uploads and a small one at a time, all from one wallet and address: the flood is about memory,
    # so the per-wallet cap on uploads in flight (8 by default) is lifted here.
    settings = stack_settings(tmp_path_factory.mktemp("flood")).model_copy(update={"upload_concurrent": 64})
    running = LocalStack(settings).start()
    yield running
    running.stop()


def flood_pngs() -> list[bytes]:
    """Eight distinct 10000×10000 RGB PNGs: one encoded (Image.new, optimize), then told apart by a text chunk, so
    each has its own sha256 and its own variant job."""
    out = io.BytesIO()
    Image.new("RGB", (10_000, 10_000), (40, 90, 160)).save(out, "PNG", optimize=True)
    png = out.getvalue()
    assert 250_000 < len(png) < 400_000, f"the flood PNG is {len(png)} bytes, not ~300 KB"
    iend = png.rindex(b"IEND") - 4
    pngs = []
    for n in range(FLOOD):
        text = b"Comment\x00flood %d" % n
        chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
        pngs.append(png[:iend] + chunk + png[iend:])
    return pngs


def until(what: str, condition: Callable[[], bool], guard: float = GUARD, pause: float = 0.2) -> None:
    deadline = time.monotonic() + guard
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {guard:.0f} s"
        time.sleep(pause)


def variants_settled(http: httpx.Client, upload_ids: list[str]) -> bool:
    return all(http.get(f"/uploads/{i}").json()["variants_state"] in ("done", "failed") for i in upload_ids)


def test_a_flood_of_pixel_limit_pngs_stays_under_1_gib_and_memory_comes_back(stack: LocalStack) -> None:
    assert stack.upload is not None and stack.upload.proc is not None
    pid = stack.upload.proc.pid
    url = stack.settings.resolved_upload_url()
    pngs = flood_pngs()
    signed_in = auth(url, Account.from_key(ANVIL_TEST_KEYS[0]))
    with httpx.Client(base_url=url, timeout=GUARD, headers=signed_in) as http:
        warm = http.post("/uploads", content=photo_bytes(200, (2000, 1500)))  # connections, caches, first variants
        assert warm.status_code == 201, warm.text
        until("the warm-up's variants", lambda: variants_settled(http, [warm.json()["upload_id"]]))
        before = memory_of(pid)["VmRSS"]

        answers: dict[int, httpx.Response] = {}

        def send(n: int) -> None:
            with httpx.Client(base_url=url, timeout=GUARD, headers=signed_in) as own:
                answers[n] = own.post("/uploads", content=pngs[n])

        senders = [threading.Thread(target=send, args=(n,)) for n in range(FLOOD)]
        for sender in senders:
            sender.start()
        during = sample_while(http, lambda: any(s.is_alive() for s in senders))
        for sender in senders:
            sender.join(GUARD)

        accepted = []
        for n, answer in sorted(answers.items()):
            assert answer.status_code in (201, 413, 422, 429, 503), (n, answer.status_code, answer.text)
            if answer.status_code == 201:
                accepted.append(answer.json()["upload_id"])
                assert (answer.json()["width"], answer.json()["height"]) == (10_000, 10_000)
            else:
                detail = answer.json()["detail"]
                assert len(detail) > 20 and " " in detail, detail
                if answer.status_code == 503:
                    assert int(answer.headers["retry-after"]) >= 1
        assert len(answers) == FLOOD and accepted, "no flood upload was accepted: nothing was tested"

        until("the flood's variants", lambda: variants_settled(http, accepted))
        made = [http.get(f"/uploads/{i}").json() for i in accepted]
        assert all(sorted(m["variants"]) == ["large", "medium", "small"] for m in made), made
        until("the budget to empty", lambda: http.get("/health").json()["decoding"]["used"] == 0)
        until(
            "RSS to come back near its level before the flood",
            lambda: memory_of(pid)["VmRSS"] <= before + RETURN_MARGIN,
            guard=60,
        )
        after = memory_of(pid)

    print(
        f"\nflood of {FLOOD} × 10000×10000 PNG: {len(accepted)} accepted; RSS before {before / MiB:.0f} MiB, "
        f"peak {after['VmHWM'] / MiB:.0f} MiB, after {after['VmRSS'] / MiB:.0f} MiB; during it /health "
        f"max {max(during['health']):.2f} s, small uploads max {max(during['small']):.2f} s "
        f"({len(during['small'])}); decodes at once max {during['running']}"
    )
    assert after["VmHWM"] < PEAK_LIMIT, f"the upload service peaked at {after['VmHWM'] / MiB:.0f} MiB"
    assert during["health"] and during["small"], "neither /health nor a small upload answered during the flood"
    assert during["running"] <= stack.settings.decode_slots + 1  # one more for small ones, never the 40 of before


def sample_while(http: httpx.Client, flooding: Callable[[], bool]) -> dict[str, Any]:
    """While the flood is on: /health and a small upload, again and again; their latencies (only answers that
    came back while the flood was still on count) and the most decodes the service reported at once."""
    seen: dict[str, Any] = {"health": [], "small": [], "running": 0}
    seed = 300
    while flooding():
        started = time.perf_counter()
        health = http.get("/health")
        took = time.perf_counter() - started
        assert health.status_code == 200, health.text
        seen["running"] = max(seen["running"], health.json()["decoding"]["running"])
        if flooding():
            seen["health"].append(took)
        started = time.perf_counter()
        small = http.post("/uploads", content=photo_bytes(seed, (640, 480)))
        took = time.perf_counter() - started
        assert small.status_code == 201, small.text
        if flooding():
            seen["small"].append(took)
        seed += 1
        time.sleep(0.1)
    return seen
