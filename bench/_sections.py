"""Benchmarks made of named sections (`bench/abuse.py pixel-flood`, `bench/sync.py dedup`): run the ones asked for
(all by default), print each, and rewrite the results file with those sections replaced and every other section's
last result kept. A section that breaks is reported as FAILED with the end of its traceback, never fatal."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

Sections = dict[str, Callable[[], list[str]]]


def run_section(sections: Sections, name: str) -> list[str]:
    started = time.perf_counter()
    try:
        lines = sections[name]()
    except Exception:  # a benchmark reports what broke; it never fails the build
        lines = ["FAILED:", *traceback.format_exc().rstrip().splitlines()[-6:]]
    return [*lines, f"(section took {time.perf_counter() - started:.0f} s, {time.strftime('%Y-%m-%d %H:%M')})"]


def merge_results(sections: Sections, results: Path, fresh: dict[str, list[str]]) -> str:
    """The results file with these sections replaced and every other section's last result kept, in `sections`
    order (a section no longer listed is dropped)."""
    kept: dict[str, list[str]] = {}
    if results.exists():
        current = None
        for line in results.read_text().splitlines():
            if line.startswith("== ") and line[3:].strip() in sections:
                current = line[3:].strip()
                kept[current] = []
            elif current is not None:
                kept[current].append(line)
    kept.update(fresh)
    parts = ["\n".join([f"== {name}", *kept[name]]).rstrip() for name in sections if name in kept]
    return "\n\n".join(parts) + "\n"


def main(sections: Sections, results: Path, argv: list[str]) -> None:
    names = argv or list(sections)
    unknown = [n for n in names if n not in sections]
    if unknown:
        print(f"unknown section(s) {', '.join(unknown)}; there are: {', '.join(sections)}")
        return
    fresh = {}
    for name in names:
        print(f"== {name}", flush=True)
        fresh[name] = run_section(sections, name)
        print("\n".join(fresh[name]), flush=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(merge_results(sections, results, fresh))
