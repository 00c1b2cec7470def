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
import os
import threading

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


class _Trimmer:
    """Trims on a thread of its own: one trim takes up to ~0.1 s (madvise over hundreds of MiB of freed pages), and
    an upload's check is released in the event loop, which must not stall. One trim at a time; a release during a
    trim asks for one more after it, so no freed memory is left behind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._run, name="malloc-trim", daemon=True).start()

    def _run(self) -> None:
        while True:
            trim()
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False


_trimmer = _Trimmer()


def trim_after(cost: int) -> None:
    """The decode budget's release hook: once a big decode has let go of its pixels, trim (in the background)."""
    if cost >= TRIM_ABOVE:
        _trimmer.request()


def memory_of(pid: int | None = None) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak) of a process, in bytes, from /proc (Linux)."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found
