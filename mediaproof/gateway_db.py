"""The gateway database behind one small contract, on SQLite (the embedded default) or PostgreSQL (a DSN).

Stores write their SQL once, in SQLite's spelling (`?` placeholders, `INSERT OR IGNORE`, `BLOB`/`INTEGER`/`REAL`
column types in capitals, an implicit `rowid` or a declared `rowid INTEGER PRIMARY KEY AUTOINCREMENT`); `Dialect` is
the one place that turns it into PostgreSQL's. Both backends run in autocommit and give `transaction()` the same
meaning: writers inside it take turns (SQLite: BEGIN IMMEDIATE, the whole file; PostgreSQL: a transaction-scoped
advisory lock named by the caller), so a read-then-write in one is safe against every other process that writes
those rows in a transaction of the same name.

psycopg is imported only when a DSN is opened, so environments that never open one (the web app's) need no driver.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mediaproof import sqlite_db

if TYPE_CHECKING:
    import psycopg

Target = Path | str  # a SQLite file, or a postgresql:// DSN
Params = Sequence[Any]

_DSN_SCHEMES = ("postgresql://", "postgres://")


def __getattr__(name: str) -> tuple[type[Exception], ...]:
    """The error classes stores catch, and no driver's own: `Error` (whatever either driver raises), `MissingTable`
    (a read of a table another store creates, e.g. batches, before that store made it), `ReadOnly` (a write through
    a read-only connection). Read at each `except`, so psycopg's classes join once a DSN has imported the driver;
    before that no psycopg error can be raised."""
    pg = sys.modules.get("psycopg")
    if name == "Error":
        return (sqlite3.Error, pg.Error) if pg else (sqlite3.Error,)
    if name == "MissingTable":
        return (sqlite3.OperationalError, pg.errors.UndefinedTable) if pg else (sqlite3.OperationalError,)
    if name == "ReadOnly":
        return (sqlite3.OperationalError, pg.errors.ReadOnlySqlTransaction) if pg else (sqlite3.OperationalError,)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_dsn(target: Target) -> bool:
    return isinstance(target, str) and target.startswith(_DSN_SCHEMES)


def exists(target: Target) -> bool:
    """Whether there is a database to read: a SQLite file appears with the upload service's first start; a server's
    database is the operator's, made before any service runs."""
    return is_dsn(target) or Path(target).exists()


def describe(target: Target) -> str:
    """`target` for a message: a DSN without its password."""
    return re.sub(r"(://[^:@/]+):[^@/]*@", r"\1:***@", target) if is_dsn(target) else str(target)  # type: ignore[arg-type]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class GatewayDatabase(Protocol):
    """What a store needs of a connection; one per thread (or guarded by a lock)."""

    dialect: Dialect

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        """Run one statement written in SQLite's spelling; autocommit unless inside `transaction()`."""
        ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Append `rows` to `table` in the fastest way the backend has (PostgreSQL: COPY); no conflict handling."""
        ...

    def transaction(self, lock: str = "gateway") -> contextlib.AbstractContextManager[None]:
        """Commit on success, roll back on any exception. Writers holding the same `lock` take turns (SQLite: every
        writer takes turns, the whole file is locked)."""
        ...

    def columns(self, table: str) -> set[str]:
        """The column names of `table` (empty when it does not exist): for additive migrations."""
        ...

    def hold(self, lock: str) -> contextlib.AbstractContextManager[None]:
        """Hold `lock` (`kind-key`) for the block, across statements and against every process on this database;
        freed if the process dies. Statements inside run as usual (autocommit). Never nest two of one kind."""
        ...

    def close(self) -> None: ...


class Dialect:
    """SQLite's spelling, unchanged."""

    name = "sqlite"
    skip_locked = ""  # appended to a `SELECT … LIMIT n` that picks a row to claim
    for_update = ""  # appended to a SELECT whose rows the transaction then rewrites

    def sql(self, statement: str) -> str:
        return statement

    def schema(self, ddl: str) -> str:
        return ddl


class PostgresDialect(Dialect):
    name = "postgresql"
    # A claim's sub-select skips rows another transaction is claiming, instead of waiting for it and then finding
    # the row taken (SQLite has one writer at a time, so it never meets the case).
    skip_locked = " FOR UPDATE SKIP LOCKED"
    # A transaction's advisory lock holds off only transactions of its name; a row read to be rewritten is locked
    # against every other writer too, as SQLite's BEGIN IMMEDIATE locks the whole file.
    for_update = " FOR UPDATE"

    _TOKENS = re.compile(r"'[^']*'|\?|%")
    _OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO", re.IGNORECASE)
    _RETURNING = re.compile(r"\sRETURNING\s", re.IGNORECASE)
    # Schemas write types in capitals and names in lower case, so a column named `blob` stays one.
    _TYPES = (
        (re.compile(r"\bBLOB\b"), "BYTEA"),
        # SQLite's INTEGER holds 64 bits; PostgreSQL's holds 32.
        (re.compile(r"\bINTEGER\b"), "BIGINT"),
        (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    )
    # A table that declares its own `rowid INTEGER PRIMARY KEY AUTOINCREMENT` (ids never reused, even once every row
    # is deleted) gets an identity column of that name instead of a second one: a sequence never hands a value twice.
    _CREATE_TABLE = re.compile(r"(CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\w+\s*\()(?!\s*rowid\b)", re.IGNORECASE)
    _OWN_ROWID = re.compile(r"\browid\s+INTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b")

    def sql(self, statement: str) -> str:
        # `?` → `%s` outside quoted strings; every literal `%` doubles, quoted or not (psycopg reads each `%`).
        out = self._TOKENS.sub(
            lambda m: {"?": "%s", "%": "%%"}.get(m.group(0), m.group(0).replace("%", "%%")), statement
        )
        if self._OR_IGNORE.match(out):
            out = self._OR_IGNORE.sub("INSERT INTO", out, count=1)
            returning = self._RETURNING.search(out)
            cut = returning.start() if returning else len(out)
            out = f"{out[:cut]} ON CONFLICT DO NOTHING{out[cut:]}"
        return out

    def schema(self, ddl: str) -> str:
        ddl = self._OWN_ROWID.sub("rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", ddl)
        for pattern, replacement in self._TYPES:
            ddl = pattern.sub(replacement, ddl)
        # SQLite gives every table a `rowid` in insertion order (readers page by it); an identity column is the
        # same thing here. Unlike SQLite's, two concurrent writers may commit their rowids out of order.
        return self._CREATE_TABLE.sub(r"\1 rowid BIGINT GENERATED ALWAYS AS IDENTITY,", ddl)


class SqliteDatabase:
    """A gateway database in one SQLite file (WAL)."""

    dialect = Dialect()

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.raw = conn
        self._path = path

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.raw.executemany(sql, rows)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        marks = ", ".join("?" * len(columns))
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @contextlib.contextmanager
    def transaction(self, lock: str = "gateway") -> Iterator[None]:
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def columns(self, table: str) -> set[str]:
        return {str(row[0]) for row in self.raw.execute("SELECT name FROM pragma_table_info(?)", (table,))}

    @contextlib.contextmanager
    def hold(self, lock: str) -> Iterator[None]:
        # One flock file per kind and bucket (64 a kind): bounded, and two kinds never share a file, so a block that
        # holds a commit lock may take a blob lock.
        kind = lock.split("-", 1)[0]
        bucket = lock_id(lock) % 64
        with open(self._path.with_name(f"{self._path.name}.{kind}-{bucket}.lock"), "a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            yield

    def close(self) -> None:
        self.raw.close()


class PostgresDatabase:
    """A gateway database on a PostgreSQL server. A connection the server dropped (a restart, a failover, an idle
    timeout) fails the statement that finds it dropped; the next statement opens a fresh one, so a long-lived store
    outlives a database restart instead of failing until its process restarts."""

    dialect: Dialect = PostgresDialect()

    def __init__(self, dsn: str, *, readonly: bool, connect_timeout: int) -> None:
        self._dsn = dsn
        self._options = "-c default_transaction_read_only=on" if readonly else ""
        self._timeout = connect_timeout
        self._closed = False
        self.raw = self._open()

    def _open(self) -> psycopg.Connection[Any]:
        pg = driver(self._dsn)
        conn = pg.connect(self._dsn, autocommit=True, options=self._options, connect_timeout=self._timeout)
        # transaction()'s reads after its advisory lock must see what the last holder committed: true under READ
        # COMMITTED (a snapshot per statement), not under a server or role default of REPEATABLE READ or SERIALIZABLE
        # (one snapshot taken before the lock was granted), so say it rather than inherit it.
        conn.isolation_level = pg.IsolationLevel.READ_COMMITTED
        return conn

    def _live(self) -> psycopg.Connection[Any]:
        if self.raw.broken and not self._closed:
            self.raw.close()
            self.raw = self._open()
        return self.raw

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self._live().execute(self.dialect.sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        with self._live().cursor() as cursor:
            cursor.executemany(self.dialect.sql(sql), rows)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        # One stream instead of a statement per row: 100,000 view records took 1.1 s here against 5 s by executemany.
        with self._live().cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @contextlib.contextmanager
    def transaction(self, lock: str = "gateway") -> Iterator[None]:
        conn = self._live()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id(lock),))
            yield

    @contextlib.contextmanager
    def hold(self, lock: str) -> Iterator[None]:
        conn = self._live()
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_id(lock),))
        try:
            yield
        finally:
            if not conn.broken:  # a dropped session freed it already
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id(lock),))

    def columns(self, table: str) -> set[str]:
        rows = self._live().execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s",
            (table,),
        )
        return {str(row[0]) for row in rows}

    def close(self) -> None:
        self._closed = True
        self.raw.close()


class ThreadConnections:
    """One connection to the gateway database per calling thread (a sqlite3 connection is not for two threads at
    once, and a psycopg one runs one statement at a time); call it for this thread's."""

    def __init__(self, target: Target, schema: str | None = None) -> None:
        self.target = target
        self._local = threading.local()
        connect(target, schema).close()  # the tables exist before any thread uses them

    def __call__(self) -> GatewayDatabase:
        if not hasattr(self._local, "db"):
            self._local.db = connect(self.target)
        connection: GatewayDatabase = self._local.db
        return connection


def driver(dsn: str) -> Any:
    """The psycopg module, imported here and not at the top: only a PostgreSQL gateway needs the driver installed."""
    try:
        import psycopg
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{describe(dsn)} is a PostgreSQL server, but this environment has no psycopg: install "
            "requirements/ape.txt (the services' environment), or give a SQLite path instead"
        ) from exc
    return psycopg


class SessionLock:
    """A named lock one process holds for as long as it likes, across transactions, and that the system frees when
    that process dies (SIGKILL included), so another process can take over. PostgreSQL: a session advisory lock on
    a connection of its own; SQLite: flock on a file beside the database (one machine, as the file is)."""

    def __init__(self, target: Target, name: str) -> None:
        self._target = target
        self._name = name
        self._pg: psycopg.Connection[Any] | None = None
        self._file: Any = None
        self._held = False

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock (waiting for it if `blocking`); whether this process now holds it."""
        if is_dsn(self._target):
            if self._pg is None or self._pg.broken or self._pg.closed:
                self._pg = driver(str(self._target)).connect(str(self._target), autocommit=True)
            call = "pg_advisory_lock" if blocking else "pg_try_advisory_lock"
            row = self._pg.execute(f"SELECT {call}(%s)", (lock_id(self._name),)).fetchone()
            self._held = blocking or bool(row and row[0])
        else:
            if self._file is None:
                path = Path(self._target)
                self._file = open(path.with_name(f"{path.name}.{self._name}.lock"), "a+b")  # noqa: SIM115 - kept open
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                self._held = True
            except BlockingIOError:
                self._held = False
        return self._held

    def held(self) -> bool:
        """Whether this process still holds the lock: on PostgreSQL it is lost with its connection (a server
        restart), and then another process may have taken it."""
        if not self._held:
            return False
        if self._pg is not None:
            try:
                self._pg.execute("SELECT 1")
            except driver(str(self._target)).Error:
                self._held = False
        return self._held

    def release(self) -> None:
        if self._held and self._pg is not None and not self._pg.broken:
            with contextlib.suppress(driver(str(self._target)).Error):
                self._pg.execute("SELECT pg_advisory_unlock(%s)", (lock_id(self._name),))
        elif self._held and self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._held = False

    def close(self) -> None:
        self.release()
        if self._pg is not None:
            self._pg.close()
        if self._file is not None:
            self._file.close()


def lock_id(name: str) -> int:
    """The 64-bit advisory lock key of a lock name (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def connect(
    target: Target,
    schema: str | None = None,
    *,
    readonly: bool = False,
    synchronous: str = "NORMAL",
    busy_timeout: float = sqlite_db.BUSY_TIMEOUT,
    check_same_thread: bool = False,
) -> GatewayDatabase:
    """Open the gateway database at `target` and apply `schema` (SQLite's spelling) unless `readonly`.

    SQLite: WAL, `synchronous` as given (NORMAL: durable at checkpoints; FULL: every commit survives a power cut),
    a busy wait of `busy_timeout` seconds. PostgreSQL: every commit is durable; `readonly` makes the session refuse
    writes; the schema is applied under a lock, since two processes creating one table at once collide there."""
    if is_dsn(target):
        pg = PostgresDatabase(str(target), readonly=readonly, connect_timeout=int(busy_timeout) or 1)
        if schema and not readonly:
            with pg.transaction("schema"):
                for statement in _statements(pg.dialect.schema(schema)):
                    pg.raw.execute(statement)
        return pg
    path = Path(target)
    raw = sqlite_db.connect(
        path,
        readonly=readonly,
        busy_timeout=busy_timeout,
        synchronous=synchronous,
        check_same_thread=check_same_thread,
        schema=schema,
    )
    return SqliteDatabase(raw, path)


def _statements(script: str) -> list[str]:
    """A schema script's statements (our schemas put no `;` inside comments or strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
