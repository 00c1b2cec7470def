"""Short ids: the codec is a bijection that hides order; the generator leases ranges and never repeats an id."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof import gateway_db
from mediaproof.errors import InputError, StorageError
from mediaproof.keygen import ALPHABET, DEFAULT_WIDTH, KeyGenerator, ShortIdCodec, validate_short_id

KEY = bytes(range(32))
CODEC = ShortIdCodec(KEY)
KEYS = st.binary(min_size=16, max_size=64)
VALID_IDS = st.text(alphabet=ALPHABET, min_size=DEFAULT_WIDTH, max_size=DEFAULT_WIDTH)


@given(seq=st.integers(0, 62**DEFAULT_WIDTH - 1), key=KEYS)
@settings(max_examples=300)
def test_encode_then_decode_round_trips_property(seq: int, key: bytes) -> None:
    codec = ShortIdCodec(key)
    short_id = codec.encode(seq)
    assert len(short_id) == DEFAULT_WIDTH and set(short_id) <= set(ALPHABET)
    assert codec.decode(short_id) == seq


@given(short_id=VALID_IDS, key=KEYS)
@settings(max_examples=300)
def test_every_well_formed_id_decodes_to_a_sequence_number_property(short_id: str, key: bytes) -> None:
    # decode∘encode = id makes encode injective; encode∘decode = id makes it onto: together, a bijection.
    codec = ShortIdCodec(key)
    seq = codec.decode(short_id)
    assert 0 <= seq < codec.capacity
    assert codec.encode(seq) == short_id


@given(key=KEYS)
@settings(max_examples=5, deadline=None)
def test_codec_is_a_bijection_on_the_whole_space_exhaustively_property(key: bytes) -> None:
    # The construction does not depend on the width, so the whole space of width 2 (3844 ids, a Feistel domain
    # of 4096 with cycle walking) is checked exhaustively for each key.
    codec = ShortIdCodec(key, width=2)
    ids = [codec.encode(seq) for seq in range(codec.capacity)]
    assert len(set(ids)) == codec.capacity == 62**2
    assert [codec.decode(i) for i in ids] == list(range(codec.capacity))


def test_hundred_thousand_consecutive_ids_never_collide_nor_look_sequential() -> None:
    ids = [CODEC.encode(seq) for seq in range(100_000)]
    assert len(set(ids)) == 100_000
    # Sequential ids would share long prefixes and sort in order; scrambled ones almost never do.
    shared_prefix = sum(a[:3] == b[:3] for a, b in itertools.pairwise(ids))
    ascending = sum(a < b for a, b in itertools.pairwise(ids))
    assert shared_prefix < 100
    assert 0.45 < ascending / len(ids) < 0.55
    first_chars = {i[0] for i in ids}
    assert first_chars == set(ALPHABET), "ids should spread over the whole space"


def test_different_keys_give_different_ids() -> None:
    other = ShortIdCodec(bytes(reversed(range(32))))
    assert sum(CODEC.encode(s) == other.encode(s) for s in range(1000)) < 5


@pytest.mark.parametrize(
    ("junk", "message"),
    [
        ("abc", "exactly 7 characters, 'abc' has 3"),
        ("abcdefgh", "has 8"),
        ("abc-efg", "outside 0-9, A-Z, a-z: '-'"),
        ("ab cd_f", "' _'"),
        ("abcdéfg", "'é'"),
        (None, "got NoneType"),
        (1234567, "got int"),
        (b"abcdefg", "got bytes"),
    ],
)
def test_decode_rejects_junk_with_a_clear_error(junk: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        CODEC.decode(junk)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        validate_short_id(junk)


@pytest.mark.parametrize("seq", [-1, 62**DEFAULT_WIDTH, True, "5"])
def test_encode_rejects_numbers_outside_the_space(seq: object) -> None:
    with pytest.raises(InputError, match="sequence number must be an integer in"):
        CODEC.encode(seq)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "width"), [(b"short", 7), (b"k" * 65, 7), ("k" * 32, 7), (KEY, 1), (KEY, 11)])
def test_codec_rejects_bad_keys_and_widths(key: object, width: int) -> None:
    with pytest.raises(InputError):
        ShortIdCodec(key, width)  # type: ignore[arg-type]


# The generator's tests below run on each backend (SQLite file, real PostgreSQL) unless they test SQLite's file.


def ranges(target: Path | str) -> list[tuple[int, int, str]]:
    with contextlib.closing(gateway_db.connect(target)) as db:
        rows = db.execute("SELECT start, stop, leased_by FROM keygen_ranges ORDER BY start").fetchall()
    return [(int(a), int(b), str(c)) for a, b, c in rows]


def test_generator_leases_consecutive_ranges_and_hands_out_each_id_once(gateway_target: Path | str) -> None:
    db = gateway_target
    gen = KeyGenerator(db, lease_size=100, label="upload-1")
    ids = [gen.next_id() for _ in range(250)]
    assert len(set(ids)) == 250
    assert sorted(gen.parse(i) for i in ids) == list(range(250))
    got = ranges(db)
    assert [(s, e) for s, e, _ in got] == [(0, 100), (100, 200), (200, 300)]
    assert all(by.endswith(f":{os.getpid()}:upload-1") for _, _, by in got)


def test_generator_keeps_its_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    KeyGenerator(tmp_path / "gateway.db").next_id()
    with contextlib.closing(sqlite3.connect(tmp_path / "gateway.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_generator_on_the_same_db_shares_the_key_and_not_the_ranges(gateway_target: Path | str) -> None:
    db = gateway_target
    first, second = KeyGenerator(db, lease_size=10), KeyGenerator(db, lease_size=10)
    a = [first.next_id() for _ in range(15)]
    b = [second.next_id() for _ in range(15)]
    assert not set(a) & set(b)
    assert first.codec.encode(3) == second.codec.encode(3)
    # Each id decodes with either generator: one database, one codec key.
    assert [second.parse(i) for i in a] == [first.parse(i) for i in a]


def test_restart_abandons_the_unfinished_range(gateway_target: Path | str) -> None:
    db = gateway_target
    gen = KeyGenerator(db, lease_size=100)
    before = {gen.next_id() for _ in range(30)}
    del gen
    restarted = KeyGenerator(db, lease_size=100)
    after = {restarted.next_id() for _ in range(30)}
    assert not before & after
    assert min(restarted.parse(i) for i in after) == 100


def test_generator_refuses_a_width_other_than_the_databases(gateway_target: Path | str) -> None:
    KeyGenerator(gateway_target)
    with pytest.raises(InputError, match="issues ids of 7 characters, not 8"):
        KeyGenerator(gateway_target, width=8)


def test_generator_with_a_bad_width_leaves_no_database_behind(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="width must be an integer from 2 to 10"):
        KeyGenerator(tmp_path / "g.db", width=11)
    assert not (tmp_path / "g.db").exists()


def test_generator_says_when_the_id_space_is_used_up(gateway_target: Path | str) -> None:
    gen = KeyGenerator(gateway_target, width=2, lease_size=3000)
    ids = [gen.next_id() for _ in range(62**2)]
    assert len(set(ids)) == 62**2
    with pytest.raises(StorageError, match="handed out all 3844 ids"):
        gen.next_id()
    with pytest.raises(StorageError, match="handed out all 3844 ids"):
        KeyGenerator(gateway_target, width=2).next_id()  # a restart finds it used up too


@pytest.mark.parametrize("size", [0, -5, 10**8, True])
def test_generator_rejects_bad_lease_sizes(tmp_path: Path, size: object) -> None:
    with pytest.raises(InputError, match="lease_size must be an integer"):
        KeyGenerator(tmp_path / "g.db", lease_size=size)  # type: ignore[arg-type]


def test_generator_reports_an_unusable_database_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="key generator database"):
        KeyGenerator(blocker / "g.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="key generator database"):
        KeyGenerator(garbage)


def test_forked_child_leases_its_own_range_instead_of_sharing_the_parents(gateway_target: Path | str) -> None:
    gen = KeyGenerator(gateway_target, lease_size=100)
    gen.next_id()  # the parent now holds [0, 100) in memory
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put([gen.next_id() for _ in range(5)]))
    child.start()
    from_child = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    from_parent = [gen.next_id() for _ in range(5)]
    assert not set(from_child) & set(from_parent)
    assert min(gen.parse(i) for i in from_child) >= 100


def test_a_dsn_in_a_message_never_shows_its_password() -> None:
    assert gateway_db.describe("postgresql://gw:s3cret@db.example:5432/gateway") == (
        "postgresql://gw:***@db.example:5432/gateway"
    )


def test_generator_reports_an_unreachable_postgresql_server(postgres) -> None:  # type: ignore[no-untyped-def]
    closed = postgres.admin_dsn.replace(f":{postgres.port}/", ":1/")  # nothing listens on port 1
    with pytest.raises(StorageError, match="key generator database postgresql://"):
        KeyGenerator(closed, busy_timeout=2)


class _DiesBeforeRecordingTheRange:
    """A connection that fails the lease's INSERT: the process died after taking the range, before its commit."""

    def __init__(self, db: gateway_db.GatewayDatabase) -> None:
        self._db = db
        self.dialect = db.dialect

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> object:
        if sql.startswith("INSERT INTO keygen_ranges"):
            raise sqlite3.OperationalError("simulated crash inside the lease")
        return self._db.execute(sql, params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


def test_a_lease_that_dies_before_its_commit_hands_out_nothing_and_no_id_comes_twice(
    gateway_target: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = KeyGenerator(gateway_target, lease_size=50)
    before = {gen.next_id() for _ in range(60)}  # two leases: [0, 50) and [50, 100)
    real = KeyGenerator._connect
    monkeypatch.setattr(KeyGenerator, "_connect", lambda self: _DiesBeforeRecordingTheRange(real(self)))
    crashed = KeyGenerator(gateway_target, lease_size=50)
    with pytest.raises(StorageError, match="cannot lease an id range"):
        crashed.next_id()
    monkeypatch.undo()
    after = {KeyGenerator(gateway_target, lease_size=50).next_id() for _ in range(3)} | {
        gen.next_id() for _ in range(60)
    }
    assert len(after) == 63 and not before & after
    # SQLite rolls the high-water mark back with the lease (nothing of it was handed out); PostgreSQL's sequence
    # never moves back, so that range is skipped for good. Either way the ranges on record never overlap.
    got = ranges(gateway_target)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(got))
