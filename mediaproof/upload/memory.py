"""Handing freed memory back to the operating system, and reading what a process holds.

Freeing a 400 MB decoded image returns it to glibc's malloc, not always to the system: Pillow allocates images in
16 MiB blocks, below glibc's (self-raising) mmap threshold, so they come from heap arenas, and an arena keeps its
free pages when anything small still lives above them. The upload service then sits on its peak for good (a flood
of big PNGs left 1.09 GB behind). `malloc_trim(0)` gives every arena's free pages back; measured by bench/abuse.py.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

logger = logging.getLogger(__name__)
TRIM_ABOVE = 32 << 20  # a decode that held at least this much is worth a trim afterwards (~1 ms for a big heap)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with, and nothing lost
        return None
    return libc


def trim() -> bool:
    """Return free heap pages to the OS (glibc `malloc_trim(0)`); False where that does not exist."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)  # ctypes releases the GIL for the call: other threads go on meanwhile
    return True


def trim_after(cost: int) -> None:
    """The decode budget's release hook: trim once a big decode has let go of its pixels."""
    if cost >= TRIM_ABOVE:
        trim()


def memory_of(pid: int | None = None) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak) of a process, in bytes, from /proc (Linux)."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found
