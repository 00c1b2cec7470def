"""The upload service's limits: limits' own strategies over the gateway database's storage (shared by processes; each
test on a SQLite file and on a real PostgreSQL), leases for uploads in flight, and the Retry-After arithmetic of a
moving window."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from limits import RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from mediaproof.errors import MediaTooLarge, RateLimited
from mediaproof.settings import Settings
from mediaproof.upload.limit_store import SLICES, GatewayStorage, seconds_until_room, storage_uri
from mediaproof.upload.quotas import Leases, Quotas


def storage(target: Path | str) -> GatewayStorage:
    made = storage_from_string(storage_uri(target))
    assert isinstance(made, GatewayStorage)
    return made


def test_the_scheme_is_registered_and_both_strategies_count(gateway_target: Path | str) -> None:
    db = gateway_target
    item = RateLimitItemPerMinute(3)
    for strategy in (MovingWindowRateLimiter, FixedWindowRateLimiter):
        limiter = strategy(storage(db))
        assert [limiter.hit(item, strategy.__name__) for _ in range(4)] == [True, True, True, False]
        assert not limiter.test(item, strategy.__name__)
        assert limiter.test(item, "someone else")
        limiter.clear(item, strategy.__name__)
        assert limiter.hit(item, strategy.__name__)
    # A second storage on the same file (another process) sees the same counts.
    first, second = (MovingWindowRateLimiter(storage(db)) for _ in range(2))
    assert first.hit(item, "shared") and second.hit(item, "shared") and first.hit(item, "shared")
    assert not second.test(item, "shared") and not second.hit(item, "shared")
    assert storage(db).check()


def _hammer(target: Path | str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    limiter = MovingWindowRateLimiter(storage(target))
    # An hour's window, so that no entry leaves it while a busy machine runs the test.
    out.put(sum(limiter.hit(RateLimitItemPerHour(50), "shared") for _ in range(40)))


def test_processes_sharing_the_database_never_take_more_than_the_limit(gateway_target: Path | str) -> None:
    db = gateway_target
    storage(db)  # the table exists before the processes race
    out: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.get_context("spawn").Process(target=_hammer, args=(db, out)) for _ in range(3)]
    for p in procs:
        p.start()
    taken = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(taken) == 50, taken


def test_costs_count_as_bytes_and_the_refusal_says_when(gateway_target: Path | str) -> None:
    quotas = Quotas(gateway_target, Settings(upload_bytes_per_day=1000, upload_rate_per_minute=2))
    quotas.charge_bytes("0xA", "10.0.0.1", 600)
    with pytest.raises(RateLimited) as caught:
        quotas.charge_bytes("0xA", "10.0.0.2", 600)  # the wallet is over, whatever its address
    assert "wallet 0xA" in str(caught.value) and 86400 - 600 <= caught.value.retry_after <= 86400
    with pytest.raises(RateLimited, match=r"client address 10\.0\.0\.1"):
        quotas.charge_bytes("0xB", "10.0.0.1", 600)  # and so is the address, whatever the wallet
    quotas.charge_bytes("0xB", "10.0.0.3", 600)
    with pytest.raises(MediaTooLarge, match="daily upload quota"):
        quotas.charge_bytes("0xC", "10.0.0.4", 1001)
    quotas.take_upload("0xD", "10.0.0.5")
    quotas.take_upload("0xD", "10.0.0.6")
    with pytest.raises(RateLimited, match="2 uploads in the last minute") as caught:
        quotas.take_upload("0xD", "10.0.0.7")
    assert 1 <= caught.value.retry_after <= 60


def test_a_syncs_burst_of_project_files_counts_apart_from_uploads(gateway_target: Path | str) -> None:
    quotas = Quotas(gateway_target, Settings(upload_rate_per_minute=1, upload_project_files_per_minute=3))
    for _ in range(3):
        quotas.take_project_file("0xA", "10.0.0.1")
    with pytest.raises(RateLimited, match="3 project files in the last minute"):
        quotas.take_project_file("0xA", "10.0.0.2")
    quotas.take_upload("0xA", "10.0.0.3")  # the burst used none of the wallet's uploads
    with pytest.raises(RateLimited, match="1 uploads in the last minute"):
        quotas.take_upload("0xA", "10.0.0.4")


def test_leases_cap_uploads_in_flight_and_lapse(gateway_target: Path | str) -> None:
    leases = Leases(gateway_target)
    now = time.time()
    assert leases.acquire("a", ["wallet:1", "address:x"], cap=2, now=now) is None
    assert leases.acquire("b", ["wallet:1", "address:y"], cap=2, now=now) is None
    assert leases.acquire("c", ["wallet:2", "address:x"], cap=2, now=now) is None
    assert leases.acquire("d", ["wallet:1", "address:z"], cap=2, now=now) == "wallet:1"
    assert leases.acquire("d", ["wallet:3", "address:x"], cap=2, now=now) == "address:x"
    assert leases.held("wallet:3") == 0  # all or nothing
    leases.release("a")
    assert leases.acquire("d", ["wallet:1", "address:x"], cap=2, now=now) is None
    assert leases.acquire("e", ["wallet:1", "address:q"], cap=2, now=now + 3600) is None  # the others lapsed


def test_a_window_is_the_last_minute_wherever_the_wall_clocks_minute_starts(gateway_target: Path | str) -> None:
    """Three a minute: three taken a moment before a wall-clock minute starts leave no room a moment after it (a
    sliding window counter, weighing the last minute's count down, let a fourth through there), and room comes back
    when the first of them is a minute old (kept to the end of its slice, a tenth of a second)."""
    made = storage(gateway_target)
    limiter, item, edge = MovingWindowRateLimiter(made), RateLimitItemPerMinute(3), 1_800_000_000.0  # edge % 60 == 0
    for at in (edge - 0.3, edge - 0.2, edge - 0.1):
        made.clock = lambda at=at: at
        assert limiter.hit(item, "edge")
    for at in (edge + 0.1, edge + 30, edge + 59.69):
        made.clock = lambda at=at: at
        assert not limiter.hit(item, "edge") and not limiter.test(item, "edge"), at
        assert made.wait_for_room(item.key_for("edge"), 3, 1) == pytest.approx(edge + 59.7 - at)
        reset, remaining = limiter.get_window_stats(item, "edge")
        assert reset == pytest.approx(edge + 59.7) and remaining == 0
    made.clock = lambda: edge + 59.71
    assert limiter.hit(item, "edge") and not limiter.hit(item, "edge")


def test_a_days_entries_are_kept_in_a_bounded_number_of_rows(gateway_target: Path | str) -> None:
    """Every upload of a day counts against the bytes quota; the rows kept for it are one per slice of the window,
    not one per upload, so checking a busy wallet's quota reads at most SLICES rows."""
    made = storage(gateway_target)
    limiter, item, start = MovingWindowRateLimiter(made), RateLimitItemPerDay(10**9), 1_800_000_000.0
    for n in range(3 * SLICES):
        made.clock = lambda n=n: start + n * 43.2  # 1,800 uploads spread over 21.6 hours
        assert limiter.hit(item, "busy", cost=1000)
    key = item.key_for("busy")
    rows = made._db().execute("SELECT count(*) FROM rate_entries WHERE key = ?", (key,)).fetchone()[0]
    assert rows <= SLICES
    assert limiter.get_window_stats(item, "busy")[1] == 10**9 - 3 * SLICES * 1000  # every byte still counted


# Entries already gone (expires_at <= now = 0) are among them: they leave no mark on the wait.
ENTRIES = st.lists(st.tuples(st.floats(-60.0, 60.0), st.integers(1, 400)), max_size=30)


@given(limit=st.integers(1, 2000), amount=st.integers(1, 2000), entries=ENTRIES)
def test_retry_after_is_when_the_amount_first_fits(limit: int, amount: int, entries: list[tuple[float, int]]) -> None:
    """At the time seconds_until_room names, the entries still in the window leave room for `amount`; a moment
    earlier they did not. An amount over the limit never fits."""
    wait = seconds_until_room(limit, amount, entries, 0.0)

    def used(t: float) -> int:
        return sum(cost for expires_at, cost in entries if expires_at > max(t, 0.0))

    if amount > limit:
        assert wait == float("inf")
        return
    assert 0 <= wait <= max([0.0, *(e for e, _ in entries)])
    assert used(wait) + amount <= limit
    if wait > 0:
        assert used(wait - 1e-9) + amount > limit


@pytest.mark.parametrize(
    "target", [Path("/srv/data/gate way.db"), "postgresql://gw:p%40ss@db.example:5432/gateway?sslmode=require"]
)
def test_a_storage_uri_names_its_database_exactly(target: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the parsing: no database is opened.
    monkeypatch.setattr("mediaproof.gateway_db.ThreadConnections", lambda target, schema: None)
    assert storage(target).target == target


@pytest.mark.parametrize("uri", ["mediaproof-gateway://", "mediaproof-gateway:"])
def test_a_storage_uri_without_a_database_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="needs the gateway database"):
        GatewayStorage(uri)
