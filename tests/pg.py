"""A real PostgreSQL server for tests: Debian's binaries, its own data directory and loopback port, stopped at the end.

PostgreSQL refuses to run as root, and tests run as root here: the server then runs as the `postgres` user (Debian's
package makes it) from a directory outside pytest's root-only temp tree.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from mediaproof.ports import free_port

PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)


def pg_bin(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


class PostgresServer:
    """initdb + pg_ctl in a temp dir; `database()` makes a fresh, empty database and returns its DSN."""

    def __init__(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL is not installed: run `make install` (it installs Debian's postgresql)")
        self._pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="mediaproof-pg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self.port = free_port()
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        # fsync off: a test server's data need not survive a power cut (crashes of clients are what tests simulate).
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run([pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o", options, "start"])
        self.admin_dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {done.stderr or done.stdout}\n{tail}")

    def database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run([self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()
