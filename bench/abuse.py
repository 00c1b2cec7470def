"""Abuse benchmarks: each section attacks a real stack and prints its figures beside a baseline measured in the same
run, against the same stack with that section's limits turned off.

`python bench/abuse.py [section ...]` runs the named sections (default: all) and rewrites their parts of
bench/results/abuse.txt, keeping the other sections' last results. A section that breaks is reported in its part
and the others still run: this never fails a build (benchmarks are not part of `make test`).

Sections:
  pixel-flood   8 parallel uploads of a 10000×10000 PNG (~300 KB, 400 MB decoded): the upload service's peak RSS,
                its RSS afterwards, and /health and small-upload latency during the flood; bounded (the shipped
                settings), bounded without malloc_trim, and with every bound off (MEDIAPROOF_DECODE_BOUNDS=false).
  wallet-flood  200 concurrent uploads from one signed-in wallet (201 / 429 / other, p99 of the answers) while wrk
                reads a photo's small size at 64 connections from the download service (p99, beside the same reads
                on the quiet stack); with the shipped rate limits, and with every limit raised out of reach.
  indexer-reads 16 threads read the indexer's API (/recent, /search, /users, /media, /health) while a wallet commits
                batched uploads: errors (non-200 or broken connections) and p99, beside the same reads with no commits.

wrk (Debian package `wrk`) is needed by wallet-flood.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from eth_account import Account
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _sections as sections
from bench import _wrk
from bench._upload_common import start_stack
from mediaproof import eip712
from mediaproof.clients.upload import UploadClient
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from mediaproof.upload.memory import memory_of
from tests.integration.test_upload_flood import FLOOD, flood_pngs  # the test's flood, measured here

RESULTS = Path(__file__).resolve().parent / "results" / "abuse.txt"
MiB = 1 << 20
GUARD = 600.0  # seconds any wait may take before the section gives up (a broken service, not a slow one)


# --- shared helpers ---


def until(what: str, condition: Callable[[], bool], guard: float = GUARD, pause: float = 0.25) -> None:
    deadline = time.monotonic() + guard
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {guard:.0f} s")
        time.sleep(pause)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 40 samples is the largest: said as it is, not interpolated)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))] if ordered else float("nan")


def commit_photo(client: UploadClient, data: bytes, title: str) -> dict[str, Any]:
    """Upload, sign and commit one photo in the next batch as the client's account; its status once anchored."""
    assert client.account is not None
    upload_id = client.upload_bytes(data)["upload_id"]
    typed = client.prepare(upload_id, client.account.address, title)["typed_data"]
    client.commit(upload_id, eip712.sign(typed, client.account.key))
    until(f"upload {upload_id} anchored", lambda: client.status(upload_id)["state"] == "committed")
    return client.status(upload_id)


def small_photo(seed: int) -> bytes:
    """A 640×480 phone-like JPEG (~100 KB): noise over a gradient, so it does not compress to nothing."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
    pixels = np.clip(gradient + rng.normal(0, 30, (480, 640, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


# --- section: pixel-flood ---

FLOOD_RUNS: list[tuple[str, dict[str, object]]] = [
    ("bounded (shipped settings)", {}),
    ("bounded, no malloc_trim", {"memory_trim": False}),
    ("baseline: bounds off", {"decode_bounds": False, "memory_trim": False}),
]


@dataclass
class FloodRun:
    label: str
    before: int = 0
    peak: int = 0
    after: int = 0
    outcomes: dict[int, int] = field(default_factory=dict)
    flood_seconds: float = 0.0
    variants_seconds: float = 0.0
    health: list[float] = field(default_factory=list)
    small: list[float] = field(default_factory=list)
    small_refused: int = 0


def settled_rss(pid: int, quiet: float = 5.0, guard: float = 120.0) -> int:
    """RSS once it stops falling: no new low for `quiet` seconds (freeing is done), at most `guard` seconds."""
    low, since, deadline = memory_of(pid)["VmRSS"], time.monotonic(), time.monotonic() + guard
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.25)
        now = memory_of(pid)["VmRSS"]
        if now < low - MiB:
            low, since = now, time.monotonic()
    return memory_of(pid)["VmRSS"]


def one_flood(label: str, overrides: dict[str, object], pngs: list[bytes]) -> FloodRun:
    run = FloodRun(label)
    # One cluster: the flood is about the upload service's memory, not replication.
    # 8 big and a stream of small uploads from one address at once: its concurrency limit is raised out of reach.
    stack, tmp = start_stack(clusters=1, replication_factor=1, upload_concurrent=10**6, **overrides)
    try:
        assert stack.upload is not None and stack.upload.proc is not None
        pid = stack.upload.proc.pid
        url = stack.settings.resolved_upload_url()
        with UploadClient(url, account=Account.from_key(ANVIL_TEST_KEYS[1])) as client:
            headers = {"authorization": f"Bearer {client.sign_in()}"}
        with httpx.Client(base_url=url, timeout=GUARD, headers=headers) as http:

            def variants_settled(ids: list[str]) -> bool:
                states = (http.get(f"/uploads/{i}").json()["variants_state"] for i in ids)
                return all(s in ("done", "failed") for s in states)

            warm = http.post("/uploads", content=small_photo(1)).json()["upload_id"]  # connections, caches
            until("the warm-up's variants", lambda: variants_settled([warm]))
            run.before = settled_rss(pid)
            answers: dict[int, httpx.Response] = {}

            def send(n: int) -> None:
                with httpx.Client(base_url=url, timeout=GUARD, headers=headers) as own:
                    answers[n] = own.post("/uploads", content=pngs[n])

            senders = [threading.Thread(target=send, args=(n,)) for n in range(FLOOD)]
            started = time.perf_counter()
            for sender in senders:
                sender.start()
            seed = 100
            while any(s.is_alive() for s in senders):
                t0 = time.perf_counter()
                http.get("/health").raise_for_status()
                run.health.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                small = http.post("/uploads", content=small_photo(seed))
                run.small.append(time.perf_counter() - t0)
                run.small_refused += small.status_code != 201
                seed += 1
                time.sleep(0.1)
            for sender in senders:
                sender.join(GUARD)
            run.flood_seconds = time.perf_counter() - started
            for answer in answers.values():
                run.outcomes[answer.status_code] = run.outcomes.get(answer.status_code, 0) + 1
            accepted = [a.json()["upload_id"] for a in answers.values() if a.status_code == 201]
            until("the flood's variants", lambda: variants_settled(accepted))
            run.variants_seconds = time.perf_counter() - started
        run.after = settled_rss(pid)
        run.peak = memory_of(pid)["VmHWM"]
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return run


def pixel_flood() -> list[str]:
    pngs = flood_pngs()
    runs = [one_flood(label, overrides, pngs) for label, overrides in FLOOD_RUNS]
    lines = [
        f"{FLOOD} parallel uploads of a 10000×10000 RGB PNG ({len(pngs[0]) / 1000:.0f} KB each, 100 MP: the pixel "
        "limit, 400 MB decoded), 1 cluster;",
        "meanwhile, again and again: GET /health and POST of a 640×480 JPEG (~100 KB). RSS of the upload service "
        "process (/proc: VmHWM = peak).",
        "goal: peak < 1024 MiB, RSS back near its level before, /health and small uploads answered during the flood",
        "",
        f"{'':28} {'peak':>9} {'before':>8} {'after':>8} {'flood':>7} {'+variants':>10} {'small p50':>10} "
        f"{'small p99':>10} {'health p99':>11}  flood answers",
    ]
    for run in runs:
        answers = ", ".join(f"{n}×{code}" for code, n in sorted(run.outcomes.items()))
        refused = f", {run.small_refused} small refused" if run.small_refused else ""
        lines.append(
            f"{run.label:28} {run.peak / MiB:5.0f} MiB {run.before / MiB:4.0f} MiB {run.after / MiB:4.0f} MiB "
            f"{run.flood_seconds:5.1f} s {run.variants_seconds:8.1f} s {percentile(run.small, 0.5):8.2f} s "
            f"{percentile(run.small, 0.99):8.2f} s {percentile(run.health, 0.99):9.2f} s  {answers}{refused} "
            f"({len(run.small)} small uploads)"
        )
    bounded, _, baseline = runs
    met = bounded.peak < 1 << 30 and bounded.after < bounded.before + 128 * MiB
    lines += [
        "",
        f"bounded peak {bounded.peak / MiB:.0f} MiB vs {baseline.peak / MiB:.0f} MiB unbounded "
        f"({baseline.peak / max(bounded.peak, 1):.1f}x less); after the flood {bounded.after / MiB:.0f} MiB "
        f"(+{(bounded.after - bounded.before) / MiB:.0f} MiB on before). goal: {'met' if met else 'NOT met'}",
    ]
    return lines


# --- section: wallet-flood ---

WALLET_FLOOD = 200
READERS = 64
LIMITS_OFF: dict[str, object] = {
    "upload_rate_per_minute": 10**6, "upload_concurrent": 10**6, "upload_max_open": 10**6,
    "upload_bytes_per_day": 1 << 50,
}  # fmt: skip
SHIPPED = {name: Settings.model_fields[name].default for name in LIMITS_OFF}


@dataclass
class WalletFloodRun:
    label: str
    outcomes: dict[int, int] = field(default_factory=dict)
    answers: list[float] = field(default_factory=list)
    seconds: float = 0.0
    quiet: dict[str, float] = field(default_factory=dict)
    during: dict[str, float] = field(default_factory=dict)


async def _flood_one_wallet(url: str, headers: dict[str, str], photos: list[bytes], run: WalletFloodRun) -> None:
    limits = httpx.Limits(max_connections=len(photos), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=GUARD, limits=limits) as http:

        async def one(data: bytes) -> None:
            t0 = time.perf_counter()
            try:
                code = (await http.post("/uploads", content=data)).status_code
            except httpx.HTTPError:
                code = 0  # the connection broke: counted as "other"
            run.answers.append(time.perf_counter() - t0)
            run.outcomes[code] = run.outcomes.get(code, 0) + 1

        await asyncio.gather(*(one(data) for data in photos))


def one_wallet_flood(label: str, overrides: dict[str, object], photos: list[bytes]) -> WalletFloodRun:
    run = WalletFloodRun(label)
    stack, tmp = start_stack(clusters=1, replication_factor=1, **overrides)
    try:
        url = stack.settings.resolved_upload_url()
        # Alice's photo is what readers fetch; Bob floods (limits are per wallet and per address: the readers' wrk
        # does not write, so only the flood's own wallet and address are limited).
        with UploadClient(url, account=Account.from_key(ANVIL_TEST_KEYS[1]), notify=lambda _: None) as alice:
            short_id = commit_photo(alice, small_photo(7), "read me")["short_id"]
        read_url = f"{stack.settings.resolved_download_url()}/m/{short_id}?size=small"
        httpx.get(read_url, timeout=GUARD).raise_for_status()
        run.quiet = _wrk.run(read_url, 10, READERS) or {}
        with UploadClient(url, account=Account.from_key(ANVIL_TEST_KEYS[2])) as bob:
            headers = {"authorization": f"Bearer {bob.sign_in()}"}
        with _wrk.held(read_url, READERS, run.during):
            started = time.perf_counter()
            asyncio.run(_flood_one_wallet(url, headers, photos, run))
            run.seconds = time.perf_counter() - started
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return run


def wallet_flood() -> list[str]:
    photos = [small_photo(1000 + n) for n in range(WALLET_FLOOD)]
    runs = [
        one_wallet_flood("limits on (shipped settings)", dict(SHIPPED), photos),
        one_wallet_flood("baseline: limits off", LIMITS_OFF, photos),
    ]
    shipped = ", ".join(f"{k.removeprefix('upload_')}={v}" for k, v in SHIPPED.items())
    lines = [
        f"{WALLET_FLOOD} uploads at once from one signed-in wallet and one address (640×480 JPEGs, ~100 KB, all "
        "different), 1 cluster;",
        f"meanwhile wrk reads /m/<id>?size=small at {READERS} connections from the download service.",
        f"shipped limits: {shipped}",
        "",
        f"{'':30} {'201':>5} {'429':>5} {'503':>5} {'other':>5} {'answer p50':>11} {'answer p99':>11} {'flood':>7} "
        f"{'reads quiet p99':>16} {'reads during p99':>17} {'reads during rps':>17}",
    ]
    for run in runs:
        other = sum(n for code, n in run.outcomes.items() if code not in (201, 429, 503))
        lines.append(
            f"{run.label:30} {run.outcomes.get(201, 0):5} {run.outcomes.get(429, 0):5} {run.outcomes.get(503, 0):5} "
            f"{other:5} {percentile(run.answers, 0.5):9.2f} s {percentile(run.answers, 0.99):9.2f} s "
            f"{run.seconds:5.1f} s {run.quiet.get('p99', float('nan')):13.1f} ms "
            f"{run.during.get('p99', float('nan')):14.1f} ms {run.during.get('rps', float('nan')):17.0f}"
        )
    limited, baseline = runs
    met = limited.outcomes.get(429, 0) > 0 and not set(limited.outcomes) - {201, 429, 503}
    lines += [
        "",
        f"with limits: {limited.outcomes.get(201, 0)} accepted, {limited.outcomes.get(429, 0)} told to wait (429 + "
        f"Retry-After) in {limited.seconds:.1f} s; without: {baseline.outcomes.get(201, 0)} accepted in "
        f"{baseline.seconds:.1f} s. reads p99 during the flood {limited.during.get('p99', float('nan')):.1f} ms vs "
        f"{baseline.during.get('p99', float('nan')):.1f} ms without limits. goal (429s, nothing else refused): "
        f"{'met' if met else 'NOT met'}",
    ]
    return lines


# --- section: indexer-reads ---

INDEX_READERS = 16
COMMITS = 20


@dataclass
class ReadLoad:
    ok: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.ok.append(seconds)
            else:
                self.errors[error] = self.errors.get(error, 0) + 1


def read_indexer(url: str, paths: list[str], load: ReadLoad, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=GUARD) as http:
        n = 0
        while not stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            t0 = time.perf_counter()
            try:
                answer = http.get(path)
                error = None if answer.status_code == 200 else f"{answer.status_code} {path.split('?')[0]}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            load.record(time.perf_counter() - t0, error)


def read_while(url: str, paths: list[str], work: Callable[[], None]) -> ReadLoad:
    load, stop = ReadLoad(), threading.Event()
    readers = [threading.Thread(target=read_indexer, args=(url, paths, load, stop)) for _ in range(INDEX_READERS)]
    for reader in readers:
        reader.start()
    try:
        work()
    finally:
        stop.set()
        for reader in readers:
            reader.join(GUARD)
    return load


def indexer_reads() -> list[str]:
    stack, tmp = start_stack(clusters=1, replication_factor=1, batch_interval=0.5)
    try:
        url, index = stack.settings.resolved_upload_url(), stack.settings.resolved_indexer_url()
        account = Account.from_key(ANVIL_TEST_KEYS[3])
        with UploadClient(url, account=account, notify=lambda _: None) as client:
            first = commit_photo(client, small_photo(1), "harbour at dawn")
            until("the indexer has the first photo", lambda: httpx.get(f"{index}/media/{first['short_id']}").is_success)
            paths = ["/recent?limit=20", "/search?q=harbour", "/search?q=harb", f"/users/{account.address}",
                     f"/media/{first['short_id']}", "/health", "/clusters"]  # fmt: skip
            quiet = read_while(index, paths, lambda: time.sleep(15))
            committed: list[str] = []

            def commits() -> None:
                for n in range(COMMITS):
                    committed.append(str(commit_photo(client, small_photo(2000 + n), f"harbour {n}")["short_id"]))
                until("the indexer has every commit", lambda: all(
                    httpx.get(f"{index}/media/{short}").is_success for short in committed))  # fmt: skip

            busy = read_while(index, paths, commits)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def row(label: str, load: ReadLoad) -> str:
        errors = sum(load.errors.values())
        kinds = ", ".join(f"{n}×{kind}" for kind, n in sorted(load.errors.items()))
        return (f"{label:34} {len(load.ok) + errors:8} {errors:7} {percentile(load.ok, 0.5) * 1000:8.1f} ms "
                f"{percentile(load.ok, 0.99) * 1000:8.1f} ms  {kinds}")  # fmt: skip

    return [
        f"{INDEX_READERS} threads read the indexer ({', '.join(p.split('?')[0] for p in paths)}) in turn, one "
        "connection each;",
        f"baseline: 15 s with no writes; then while one wallet commits {COMMITS} batched uploads (batch interval "
        "0.5 s) and the indexer indexes them.",
        "",
        f"{'':34} {'requests':>8} {'errors':>7} {'p50':>11} {'p99':>11}",
        row("baseline: no commits", quiet),
        row(f"during {COMMITS} commits", busy),
        "",
        f"errors during commits: {sum(busy.errors.values())}. goal (0): {'met' if not busy.errors else 'NOT met'}",
    ]


# --- running sections and keeping their results ---

SECTIONS: dict[str, Callable[[], list[str]]] = {
    "pixel-flood": pixel_flood,
    "wallet-flood": wallet_flood,
    "indexer-reads": indexer_reads,
}


if __name__ == "__main__":
    sections.main(SECTIONS, RESULTS, sys.argv[1:])
