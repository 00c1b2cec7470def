"""The gateway database's contract: SQLite's spelling turned into PostgreSQL's in one place (properties over
generated statements), and both backends giving transactions and errors the same meaning."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mediaproof import gateway_db
from mediaproof.gateway_db import PostgresDialect
from mediaproof.settings import Settings

PG = PostgresDialect()
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ", min_size=1, max_size=12)
# A quoted SQL literal that may hold ? and % (PostgreSQL must keep its ? and see each % doubled).
LITERALS = st.text(alphabet="ab%?_ ", max_size=8).map(lambda t: f"'{t}'")
PIECES = st.lists(st.one_of(WORDS, LITERALS, st.just("?"), st.just("%"), st.just(", ")), max_size=20)


@given(pieces=PIECES)
def test_placeholders_outside_literals_become_psycopgs_and_every_percent_doubles_property(pieces: list[str]) -> None:
    statement = "SELECT " + " ".join(pieces)
    translated = PG.sql(statement)
    outside = [p for p in pieces if not p.startswith("'")]
    assert translated.replace("%%", "").count("%s") == outside.count("?")
    assert "%" not in translated.replace("%%", "").replace("%s", "")  # no lone % for psycopg to trip on
    # Undoing the translation gives the statement back: nothing else changed.
    undone = re.sub(r"%%|%s", lambda m: "%" if m.group(0) == "%%" else "?", translated)
    assert undone == statement


@given(columns=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True), returning=st.booleans())
def test_insert_or_ignore_becomes_on_conflict_do_nothing_before_any_returning_property(
    columns: list[str], returning: bool
) -> None:
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT OR IGNORE INTO t ({', '.join(columns)}) VALUES ({marks})" + (
        " RETURNING a" if returning else ""
    )
    translated = PG.sql(statement)
    assert translated.startswith("INSERT INTO t (") and "OR IGNORE" not in translated
    expected_tail = " ON CONFLICT DO NOTHING RETURNING a" if returning else " ON CONFLICT DO NOTHING"
    assert translated.endswith(expected_tail)
    assert gateway_db.Dialect().sql(statement) == statement  # SQLite's own spelling goes through untouched


def test_schema_types_widen_and_every_table_gets_a_rowid() -> None:
    ddl = "CREATE TABLE IF NOT EXISTS t (\n    k BLOB PRIMARY KEY, n INTEGER NOT NULL, r REAL, s TEXT\n);"
    assert PG.schema(ddl) == (
        "CREATE TABLE IF NOT EXISTS t ( rowid BIGINT GENERATED ALWAYS AS IDENTITY,\n"
        "    k BYTEA PRIMARY KEY, n BIGINT NOT NULL, r DOUBLE PRECISION, s TEXT\n);"
    )


def test_a_table_declaring_its_own_rowid_gets_one_identity_column_never_two() -> None:
    ddl = "CREATE TABLE IF NOT EXISTS v (\n    rowid INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused\n n INTEGER);"
    assert PG.schema(ddl) == (
        "CREATE TABLE IF NOT EXISTS v (\n    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused\n"
        " n BIGINT);"
    )


def test_only_a_postgresql_dsn_is_a_server_and_its_password_never_shows() -> None:
    assert gateway_db.is_dsn("postgresql://u@h/db") and gateway_db.is_dsn("postgres://u@h/db")
    assert not gateway_db.is_dsn(Path("postgresql:/x")) and not gateway_db.is_dsn("/data/gateway.db")
    assert gateway_db.describe("postgres://u:pw@h/db") == "postgres://u:***@h/db"
    assert gateway_db.describe(Path("/data/gateway.db")) == "/data/gateway.db"


SCHEMA = "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL, blob BLOB);"


def test_a_failed_transaction_writes_nothing(gateway_target: Path | str) -> None:
    db = gateway_db.connect(gateway_target, SCHEMA)
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO counters (name, n) VALUES (?, ?)", ("a", 1))
        raise RuntimeError("crash between two writes")
    assert db.execute("SELECT count(*) FROM counters").fetchone()[0] == 0
    db.execute("INSERT OR IGNORE INTO counters (name, n, blob) VALUES (?, ?, ?)", ("a", 2**40, b"\x00\xff"))
    db.execute("INSERT OR IGNORE INTO counters (name, n, blob) VALUES (?, ?, ?)", ("a", 7, b""))
    assert tuple(db.execute("SELECT n, blob FROM counters").fetchone()) == (2**40, b"\x00\xff")
    assert db.columns("counters") >= {"name", "n", "blob"} and db.columns("nothing") == set()


def in_threads(work: Callable[[], None], count: int) -> None:
    """Run `work` on `count` threads at once and wait for all of them (each call opens its own connection)."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_read_then_write_in_transactions_never_loses_an_update(gateway_target: Path | str) -> None:
    # Each thread reads the counter and writes it back plus one, on its own connection: transactions that take
    # turns (BEGIN IMMEDIATE; an advisory lock) lose no increment.
    gateway_db.connect(gateway_target, SCHEMA).execute("INSERT INTO counters (name, n) VALUES ('c', 0)")

    def bump() -> None:
        db = gateway_db.connect(gateway_target)
        for _ in range(25):
            with db.transaction("counters"):
                (n,) = db.execute("SELECT n FROM counters WHERE name = 'c'").fetchone()
                db.execute("UPDATE counters SET n = ? WHERE name = 'c'", (n + 1,))
        db.close()

    in_threads(bump, 4)
    db = gateway_db.connect(gateway_target)
    assert db.execute("SELECT n FROM counters WHERE name = 'c'").fetchone()[0] == 100


def test_turns_hold_on_a_server_whose_default_isolation_is_repeatable_read(postgres) -> None:  # type: ignore[no-untyped-def]
    # Under REPEATABLE READ a transaction's snapshot is taken when its first statement (the advisory lock) starts,
    # before the lock is granted: it would not see the last holder's rows, and a capped insert (a rate limit's
    # entry) would go over the cap. The connection asks for READ COMMITTED itself, whatever the server's default.
    dsn = postgres.database()
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as admin:
        admin.execute(
            f"ALTER DATABASE \"{dsn.rsplit('/', 1)[1]}\" SET default_transaction_isolation = 'repeatable read'"
        )
    gateway_db.connect(dsn, "CREATE TABLE IF NOT EXISTS taken (who TEXT NOT NULL);")

    def take() -> None:
        db = gateway_db.connect(dsn)
        for _ in range(25):
            with db.transaction("taken"):
                if db.execute("SELECT count(*) FROM taken").fetchone()[0] < 50:
                    db.execute("INSERT INTO taken (who) VALUES (?)", (threading.current_thread().name,))
        db.close()

    in_threads(take, 4)
    db = gateway_db.connect(dsn)
    assert db.execute("SHOW default_transaction_isolation").fetchone()[0] == "repeatable read"  # the server's
    assert db.execute("SELECT count(*) FROM taken").fetchone()[0] == 50


def test_a_missing_table_and_a_read_only_write_are_the_contracts_errors(gateway_target: Path | str) -> None:
    gateway_db.connect(gateway_target, SCHEMA).close()
    reader = gateway_db.connect(gateway_target, readonly=True)
    with pytest.raises(gateway_db.MissingTable):
        reader.execute("SELECT 1 FROM no_such_table")
    with pytest.raises(gateway_db.ReadOnly):
        reader.execute("INSERT INTO counters (name, n) VALUES ('x', 1)")
    assert reader.execute("SELECT count(*) FROM counters").fetchone()[0] == 0  # the connection is still good


@pytest.mark.parametrize("dsn", ["mysql://u@h/db", "/data/gateway.db", "sqlite:///x.db", " postgresql://u@h/db"])
def test_a_gateway_dsn_must_name_a_postgresql_server(dsn: str) -> None:
    with pytest.raises(ValidationError, match="gateway_dsn"):
        Settings(gateway_dsn=dsn)
    assert Settings(gateway_dsn="").resolved_gateway_store() == Settings().resolved_gateway_db()
    assert Settings(gateway_dsn="postgresql://u@h/db").resolved_gateway_store() == "postgresql://u@h/db"


HOSTILE_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60)


@given(text=HOSTILE_TEXT, data=st.binary(max_size=60), number=st.integers(-(2**63), 2**63 - 1))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_round_trips_unchanged_whatever_quotes_marks_or_percents_it_holds_property(
    gateway_target: Path | str, text: str, data: bytes, number: int
) -> None:
    # Values are always bound, never spliced into the statement: `'`, `?`, `%s`, `--` in them are just data.
    db = gateway_db.connect(gateway_target, SCHEMA)
    key = uuid.uuid4().hex + text
    db.execute("INSERT OR IGNORE INTO counters (name, n, blob) VALUES (?, ?, ?)", (key, number, data))
    row = db.execute("SELECT n, blob FROM counters WHERE name = ? AND name LIKE '%' || ''", (key,)).fetchone()
    db.close()
    assert (int(row[0]), bytes(row[1])) == (number, data)


def test_a_connection_the_server_dropped_is_opened_again(postgres) -> None:  # type: ignore[no-untyped-def]
    dsn = postgres.database()
    db = gateway_db.connect(dsn, SCHEMA)
    db.execute("INSERT INTO counters (name, n) VALUES ('a', 1)")
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as admin:  # the server ends every session of it
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dsn.rsplit("/", 1)[1],),
        )
    with pytest.raises(gateway_db.Error):
        db.execute("SELECT n FROM counters")  # the statement that finds it dropped fails ...
    assert db.execute("SELECT n FROM counters").fetchone()[0] == 1  # ... and the next one has a fresh connection
    db.close()
    with pytest.raises(gateway_db.Error):
        db.execute("SELECT 1")  # closed on purpose: stays closed


DRIVERLESS = """
import sys
sys.modules["psycopg"] = None  # as if the driver were not installed: any import of it fails
from mediaproof import gateway_db, keygen, gateway_store
db = gateway_db.connect(sys.argv[1], "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, n INTEGER NOT NULL);")
db.execute("INSERT INTO t (k, n) VALUES (?, ?)", ("a", 1))
assert db.execute("SELECT n FROM t WHERE k = ?", ("a",)).fetchone()[0] == 1
try:
    db.execute("INSERT INTO t (k, n) VALUES (?, ?)", ("a", 2))
except gateway_db.Error as exc:
    print("caught", type(exc).__name__)
try:
    gateway_db.connect("postgresql://u:hunter2@127.0.0.1:1/db")
except ModuleNotFoundError as exc:
    print("dsn:", exc)
"""


def test_sqlite_store_opens_without_the_postgresql_driver(tmp_path: Path) -> None:
    # The web app's environment has no psycopg and imports gateway_db (SIWE helpers): nothing may need it there.
    run = subprocess.run(
        [sys.executable, "-c", DRIVERLESS, str(tmp_path / "gateway.db")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "caught IntegrityError" in run.stdout
    assert "no psycopg" in run.stdout and "hunter2" not in run.stdout  # says what to install, not the password


def test_the_driver_is_imported_only_when_a_dsn_is_opened(tmp_path: Path) -> None:
    script = (
        "import sys; from mediaproof import gateway_db\n"
        "gateway_db.connect(sys.argv[1]).close()\n"
        "print('psycopg' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "g.db")], capture_output=True, text=True)
    assert run.stdout.strip() == "False", run.stderr


_HOLD_LOCK = """
import sys, time
from mediaproof.gateway_db import SessionLock
target = sys.argv[1]
lock = SessionLock(target if target.startswith("postgresql://") else __import__("pathlib").Path(target), "batcher")
assert lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_session_lock_has_one_holder_until_its_process_is_killed(gateway_target: Path | str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(gateway_target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        other = gateway_db.SessionLock(gateway_target, "batcher")
        assert not other.acquire(blocking=False)  # a second process never leads beside a live one
        assert not other.held()
        unrelated = gateway_db.SessionLock(gateway_target, "gateway-key")
        assert unrelated.acquire(blocking=False)  # locks of other names are other locks
        unrelated.close()
        holder.kill()
        holder.wait()
        # The server frees a dead session's locks once it sees its socket close: poll the state, not a clock.
        deadline = time.monotonic() + 30
        while not other.acquire(blocking=False):
            assert time.monotonic() < deadline, "the killed holder's lock was never freed"
            time.sleep(0.05)
        assert other.held()
        other.release()
        assert not other.held()
        assert other.acquire(blocking=False)  # released is free again
        other.close()
    finally:
        holder.kill()
        holder.wait()


def test_a_session_lock_lost_with_its_connection_is_no_longer_held(postgres) -> None:  # type: ignore[no-untyped-def]
    dsn = postgres.database()
    lock = gateway_db.SessionLock(dsn, "batcher")
    assert lock.acquire(blocking=False)
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as admin:  # a server restart, as its sessions see it
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dsn.rsplit("/", 1)[1],),
        )
    assert not lock.held()  # so a leader stops leading rather than lead beside the one that took over
    assert lock.acquire(blocking=False)  # on a fresh connection
    lock.close()


def test_a_held_lock_makes_other_processes_wait_and_statements_still_run(gateway_target: Path | str) -> None:
    db = gateway_db.connect(gateway_target, SCHEMA)
    other = gateway_db.connect(gateway_target, SCHEMA)
    entered = threading.Event()
    order: list[str] = []

    def contender() -> None:
        with other.hold("blob-abc"):
            order.append("other")

    with db.hold("blob-abc"):
        db.execute("INSERT INTO counters (name, n) VALUES ('a', 1)")  # autocommit, inside the hold
        thread = threading.Thread(target=lambda: (entered.set(), contender()))
        thread.start()
        entered.wait()
        with db.hold("commit-xyz"):  # another kind nests without waiting on itself
            order.append("nested")
        order.append("first")
    thread.join(timeout=30)
    assert order == ["nested", "first", "other"]
    assert other.execute("SELECT n FROM counters WHERE name = 'a'").fetchone()[0] == 1
    db.close()
    other.close()
