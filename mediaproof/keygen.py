"""Short base62 ids for shareable links, from ranges each service process leases in the gateway database.

`ShortIdCodec` (pure) maps a sequence number to a fixed-width id through a keyed permutation, so consecutive
ids look unrelated; `KeyGenerator` (the I/O edge) leases ranges of sequence numbers so no two processes share one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import threading
import time
from pathlib import Path

from mediaproof import gateway_db
from mediaproof.errors import InputError, StorageError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT = {ch: i for i, ch in enumerate(ALPHABET)}
DEFAULT_WIDTH = 7  # 62**7 ~ 3.5e12 ids
DEFAULT_LEASE_SIZE = 10_000  # a lease costs ~2 ms (one fsync); a restart abandons at most this many
_FEISTEL_ROUNDS = 4
_U64 = (1 << 64) - 1


class ShortIdCodec:
    """A bijection between sequence numbers [0, 62**width) and fixed-width base62 strings.

    The number goes through a keyed Feistel network over the smallest even bit width that covers the id space,
    with cycle walking (re-encrypting until the value falls inside the space): a Feistel network is a
    permutation whatever its round function, and cycle walking restricts a permutation to a subset as
    another permutation. Then fixed-width base62. Scrambles, does not encrypt: the key is not a secret.
    """

    __slots__ = ("_half", "_mask", "_round_keys", "capacity", "width")

    def __init__(self, key: bytes, width: int = DEFAULT_WIDTH):
        if not isinstance(key, bytes) or not 16 <= len(key) <= 64:
            raise InputError("the short-id key must be 16 to 64 bytes")
        self.width = _checked_width(width)
        self.capacity = 62**width
        bits = (self.capacity - 1).bit_length()
        bits += bits & 1
        self._half = bits // 2
        self._mask = (1 << self._half) - 1
        # Round keys from the key; the round function is a splitmix64 finaliser (cheap, well mixed). Any round
        # function keeps a Feistel network a permutation, so mixing quality affects only how scrambled ids look.
        digest = hashlib.blake2b(key, digest_size=8 * _FEISTEL_ROUNDS, person=b"mp-short-id").digest()
        self._round_keys = tuple(int.from_bytes(digest[8 * r : 8 * r + 8], "big") for r in range(_FEISTEL_ROUNDS))

    def encode(self, seq: int) -> str:
        """The id of sequence number `seq`."""
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < self.capacity:
            raise InputError(f"sequence number must be an integer in [0, {self.capacity}), got {seq!r}")
        value = self._permute(seq)
        while value >= self.capacity:
            value = self._permute(value)
        chars = []
        for _ in range(self.width):
            value, digit = divmod(value, 62)
            chars.append(ALPHABET[digit])
        return "".join(reversed(chars))

    def decode(self, short_id: str) -> int:
        """The sequence number behind an id; InputError if it is not a well-formed id of this width."""
        value = 0
        for ch in validate_short_id(short_id, self.width):
            value = value * 62 + _DIGIT[ch]
        seq = self._unpermute(value)
        while seq >= self.capacity:
            seq = self._unpermute(seq)
        return seq

    def _round(self, r: int, half: int) -> int:
        z = (half + self._round_keys[r]) & _U64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64
        return (z ^ (z >> 31)) & self._mask

    def _permute(self, x: int) -> int:
        left, right = x >> self._half, x & self._mask
        for r in range(_FEISTEL_ROUNDS):
            left, right = right, left ^ self._round(r, right)
        return (left << self._half) | right

    def _unpermute(self, y: int) -> int:
        left, right = y >> self._half, y & self._mask
        for r in reversed(range(_FEISTEL_ROUNDS)):
            left, right = right ^ self._round(r, left), left
        return (left << self._half) | right


def _checked_width(width: object) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= 10:
        raise InputError(f"short-id width must be an integer from 2 to 10 characters, got {width!r}")
    return width


def validate_short_id(short_id: object, width: int = DEFAULT_WIDTH) -> str:
    """`short_id` if it has the form of an id (exact width, base62 characters only); InputError naming the fault."""
    if not isinstance(short_id, str):
        raise InputError(f"a short id is a string of {width} base62 characters, got {type(short_id).__name__}")
    if len(short_id) != width:
        raise InputError(f"a short id has exactly {width} characters, {short_id[:40]!r} has {len(short_id)}")
    bad = sorted({ch for ch in short_id if ch not in _DIGIT})
    if bad:
        raise InputError(f"short id {short_id!r} contains characters outside 0-9, A-Z, a-z: {''.join(bad)!r}")
    return short_id


_SCHEMA = """
CREATE TABLE IF NOT EXISTS keygen_state (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    codec_key  BLOB    NOT NULL,   -- the permutation key: fixed for the life of the database
    id_width   INTEGER NOT NULL,
    high_water INTEGER NOT NULL    -- every sequence number below this has been leased (or abandoned)
);
CREATE TABLE IF NOT EXISTS keygen_ranges (
    start     INTEGER PRIMARY KEY, -- half-open [start, stop) of sequence numbers
    stop      INTEGER NOT NULL,
    leased_by TEXT    NOT NULL,    -- host:pid[:label] of the process that took it
    leased_at REAL    NOT NULL     -- unix time
);
"""
# PostgreSQL: the high-water mark lives in a sequence, which never moves back, not on a rollback, nor after a crash.
_SEQUENCE = "CREATE SEQUENCE IF NOT EXISTS keygen_high_water MINVALUE 0 START WITH 0"


class KeyGenerator:
    """Hands out short ids from ranges leased in the gateway database shared by every service process.

    SQLite: a lease moves the high-water mark inside BEGIN IMMEDIATE (one writer at a time). PostgreSQL: a lease
    takes the next value of a sequence and moves the sequence past the range, under an advisory lock that only
    leases share (a sequence hands out one number at a time, a lease needs `lease_size` consecutive ones); a
    sequence never goes back, so neither a rolled-back lease nor a crash can hand a range out twice. Either way
    ranges never overlap. Ids of a range are handed out from memory once its lease is committed; a range not used
    up when the process ends is abandoned, never leased again, so a restart cannot reuse an id. Thread-safe; after
    a fork the child leases a range of its own instead of sharing its parent's.
    """

    def __init__(
        self,
        db_path: gateway_db.Target,
        lease_size: int = DEFAULT_LEASE_SIZE,
        width: int = DEFAULT_WIDTH,
        label: str = "",
        busy_timeout: float = 30.0,
    ):
        if isinstance(lease_size, bool) or not isinstance(lease_size, int) or not 1 <= lease_size <= 10**7:
            raise InputError(f"lease_size must be an integer from 1 to 10_000_000, got {lease_size!r}")
        self.target: gateway_db.Target = db_path if gateway_db.is_dsn(db_path) else Path(db_path)
        self._where = gateway_db.describe(self.target)
        self.lease_size = lease_size
        self.label = label
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._next = 0
        self._stop = 0  # empty range: the first next_id() leases
        self._pid = os.getpid()
        key, stored_width = self._initialise(_checked_width(width))
        if stored_width != width:
            raise InputError(
                f"{self._where} issues ids of {stored_width} characters, not {width}; "
                f"ids of one database keep one width"
            )
        self.codec = ShortIdCodec(key, width)

    def next_id(self) -> str:
        """A fresh short id that no process using this database has handed out or will."""
        with self._lock:
            if self._next >= self._stop or os.getpid() != self._pid:
                self._next, self._stop = self._lease()
                self._pid = os.getpid()
            seq = self._next
            self._next += 1
        return self.codec.encode(seq)

    def parse(self, short_id: str) -> int:
        """The sequence number of an id made by this database's codec; InputError for anything malformed."""
        return self.codec.decode(short_id)

    def _connect(self) -> gateway_db.GatewayDatabase:
        try:
            # FULL: a committed lease must survive a power cut, or a restart could hand out its ids again.
            # A connection per lease: leases are rare, and a forked child never shares its parent's.
            return gateway_db.connect(
                self.target, busy_timeout=self._busy_timeout, synchronous="FULL", check_same_thread=True
            )
        except OSError as exc:
            raise StorageError(f"cannot open the key generator database {self._where}: {exc}") from exc
        except gateway_db.Error as exc:  # read as the error arrives: a first DSN imports the driver inside the try
            raise StorageError(f"cannot open the key generator database {self._where}: {exc}") from exc

    def _initialise(self, width: int) -> tuple[bytes, int]:
        try:
            with contextlib.closing(self._connect()) as db:
                if db.dialect.name == "sqlite":
                    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                    if mode.lower() != "wal":
                        raise StorageError(f"{self._where} cannot use WAL journaling (got {mode}); use a local disk")
                with db.transaction("keygen"):
                    for statement in filter(str.strip, db.dialect.schema(_SCHEMA).split(";")):
                        db.execute(statement)
                    if db.dialect.name == "postgresql":
                        db.execute(_SEQUENCE)
                    db.execute(
                        "INSERT OR IGNORE INTO keygen_state (singleton, codec_key, id_width, high_water) "
                        "VALUES (1, ?, ?, 0)",
                        (secrets.token_bytes(32), width),
                    )
                    key, stored_width = db.execute(
                        "SELECT codec_key, id_width FROM keygen_state WHERE singleton = 1"
                    ).fetchone()
        except gateway_db.Error as exc:
            raise StorageError(f"cannot set up the key generator database {self._where}: {exc}") from exc
        return bytes(key), int(stored_width)

    def _lease(self) -> tuple[int, int]:
        leased_by = f"{socket.gethostname()}:{os.getpid()}" + (f":{self.label}" if self.label else "")
        try:
            with contextlib.closing(self._connect()) as db, db.transaction("keygen"):
                if db.dialect.name == "postgresql":
                    (start,) = db.execute("SELECT nextval('keygen_high_water')").fetchone()
                else:
                    (start,) = db.execute("SELECT high_water FROM keygen_state WHERE singleton = 1").fetchone()
                stop = min(start + self.lease_size, self.codec.capacity)
                if start >= stop:
                    raise StorageError(
                        f"{self._where} has handed out all {self.codec.capacity} ids of width "
                        f"{self.codec.width}; start a new database with a wider id"
                    )
                if db.dialect.name == "postgresql":
                    db.execute("SELECT setval('keygen_high_water', ?)", (stop - 1,))  # the next lease starts at stop
                db.execute(
                    "INSERT INTO keygen_ranges (start, stop, leased_by, leased_at) VALUES (?, ?, ?, ?)",
                    (start, stop, leased_by, time.time()),
                )
                db.execute("UPDATE keygen_state SET high_water = ? WHERE singleton = 1", (stop,))
        except gateway_db.Error as exc:
            raise StorageError(f"cannot lease an id range from {self._where}: {exc}") from exc
        return int(start), int(stop)
