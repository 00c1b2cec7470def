"""TCP ports on 127.0.0.1 for the processes we start: picking a free one, holding one for a child that serves on an
inherited socket, and telling which ports a child's process tree listens on.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from mediaproof.errors import MediaproofError

LOOPBACK = "127.0.0.1"
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortInUse(MediaproofError, RuntimeError):
    """A port a process was to listen on was bound by another process first."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (someone may take it before you bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def reserve_port(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: a free port) for a child to inherit and serve on (uvicorn's fd).

    Held from the pick to the child, the port cannot be taken in between; connections made meanwhile wait in the
    backlog until the child accepts them. SO_REUSEADDR only so a restart is not refused by TIME_WAIT."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {LOOPBACK} is taken: stop what listens there or pick another") from exc
        raise
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def listening_ports(session: int) -> set[int] | None:
    """TCP ports that processes of session `session` (a child started with start_new_session: its pid) listen on,
    from /proc; None where /proc cannot tell (not Linux)."""
    inodes = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session
            if int(fields[3]) != session:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == _LISTEN and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports
