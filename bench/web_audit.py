"""Lighthouse scores of the feed, media and verify pages, and axe-core's accessibility violations on every page of
the web app, against the local system with one proven photo and one project (the browser tests' stack and app).

Run: .venv-web/bin/python bench/web_audit.py [--page feed|media|verify …] [--preset mobile|desktop] [--runs N]
(the web app's environment: Playwright and axe; started from .venv, as `make bench` does, it runs itself again
there). Lighthouse is npm `lighthouse` (package.json) on Node, driving the browser tests' Chromium headless, with its
mobile defaults (a mid-range phone on a throttled network, simulated) and with `--preset=desktop`; each page and
preset N times (5 by default), keeping the run of median performance, as Lighthouse's own guidance on variability
advises (five runs): its simulated throttling scales the CPU time it observes, so a busy machine moves single runs.
Writes bench/results/web_audit.txt; a run narrowed by --page or --preset only prints (and skips axe), to iterate on
one page. Never fails the build: a missing environment or a broken run is reported, and the goal (performance,
accessibility and best practices >= 90; no serious or critical axe violation) is a line in the results, not an
exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "web_audit.txt"
WEB_PYTHON = ROOT / ".venv-web" / "bin" / "python"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
GOAL = 90
AUDITED = ("feed", "media", "verify")  # the routes Lighthouse scores (tests/e2e/test_every_page.py names them)
PRESETS = ("mobile", "desktop")
# The metrics behind the performance score (audit id, how it is printed), so a change is seen in the metric it moves.
METRICS = (
    ("first-contentful-paint", "FCP", 1000, "s"),
    ("largest-contentful-paint", "LCP", 1000, "s"),
    ("total-blocking-time", "TBT", 1, "ms"),
    ("speed-index", "SI", 1000, "s"),
    ("cumulative-layout-shift", "CLS", 1, ""),
)


def main() -> int:
    try:
        import playwright  # noqa: F401  (only .venv-web has it)
    except ImportError:
        # Compared by environment, not by interpreter: both venvs' pythons link to the same binary.
        if WEB_PYTHON.exists() and Path(sys.prefix).resolve() != WEB_PYTHON.parents[1].resolve():
            return subprocess.call([str(WEB_PYTHON), __file__, *sys.argv[1:]], cwd=ROOT)
        print("web_audit: skipped, .venv-web is missing (make web-install)")
        return 0
    if not LIGHTHOUSE.exists():
        print("web_audit: skipped, node_modules/.bin/lighthouse is missing (make install)")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", action="append", choices=AUDITED, help="audit only this page (repeatable)")
    parser.add_argument("--preset", choices=PRESETS, help="audit only this Lighthouse preset")
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs per page and preset (median kept)")
    parser.add_argument("--keep", type=Path, help="copy every Lighthouse JSON report into this directory")
    args = parser.parse_args()
    narrowed = bool(args.page or args.preset)
    sys.path.insert(0, str(ROOT))
    try:
        lines = audit(
            tuple(args.page or AUDITED),
            (args.preset,) if args.preset else PRESETS,
            max(1, args.runs),
            not narrowed,
            args.keep,
        )
    except Exception as exc:  # a benchmark reports what broke; it never fails the build
        lines = [f"web_audit FAILED: {type(exc).__name__}: {exc}"]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if not narrowed:
        RESULTS.write_text(text)
    return 0


def audit(
    pages: tuple[str, ...], presets: tuple[str, ...], runs: int, with_axe: bool, keep: Path | None = None
) -> list[str]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, DESKTOP, free_port, running_stack, running_webapp
    from tests.e2e.test_every_page import ROUTES, seed

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="web-audit-") as scratch:
        work = Path(scratch)
        port = free_port()
        with running_stack(work, port) as chain, running_webapp(chain, port, work) as url:
            seeded = seed(chain, work)
            paths = {route.name: route.path.format(**seeded) for route in ROUTES}
            scores = {
                (name, preset): median_run(
                    [lighthouse(url + paths[name], preset, work, keep, f"{name}-{preset}-{n}") for n in range(runs)]
                )
                for name in pages
                for preset in presets
            }
            if not with_axe:
                return report(scores, {}, time.monotonic() - started, runs)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
                try:
                    axe = {route.name: axe_page(browser, url, route, seeded, DESKTOP) for route in ROUTES}
                finally:
                    browser.close()
    return report(scores, axe, time.monotonic() - started, runs)


def median_run(runs: list[dict[str, int | str]]) -> dict[str, int | str]:
    """The run of median performance among those that gave scores (the upper middle of an even count), or the
    last failure if none did."""
    scored = sorted((run for run in runs if "error" not in run), key=lambda run: int(run["performance"]))
    return scored[len(scored) // 2] if scored else runs[-1]


def lighthouse(url: str, preset: str, work: Path, keep: Path | None, name: str) -> dict[str, int | str]:
    """The page's category scores (0–100) and the metrics behind performance from one Lighthouse run, or the
    reason it gave none."""
    from tests.e2e.conftest import CHROMIUM

    out = work / f"lighthouse-{abs(hash((url, preset)))}.json"
    out.unlink(missing_ok=True)  # a failed run must not read the previous run's scores
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
        "--quiet",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    done = subprocess.run(
        command, env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0 or not out.exists():
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:200]}
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{name}.json").write_bytes(out.read_bytes())
    result = json.loads(out.read_text())
    scores: dict[str, int | str] = {c: round(100 * (result["categories"][c]["score"] or 0)) for c in CATEGORIES}
    audits = result.get("audits", {})
    scores["metrics"] = " ".join(
        f"{label} {(audits.get(key, {}).get('numericValue') or 0) / scale:.{2 if unit != 'ms' else 0}f}{unit}"
        for key, label, scale, unit in METRICS
    )
    return scores


def axe_page(browser: Any, url: str, route: Any, seeded: dict[str, str], viewport: tuple[int, int]) -> Counter[str]:
    """Violations (counted by impact) axe-core finds on one route once its data has loaded."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    from tests.e2e.test_every_page import loaded

    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(20_000)
    try:

        def visit(path: str, size: tuple[int, int], allowed: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
            page = context.new_page()
            page.goto(url + path)
            expect(page.locator("#page")).to_have_attribute("data-hydrated", "true", timeout=30_000)
            return page, []

        page, _ = loaded(visit, route, seeded, viewport)
        violations = Axe().run(page).response["violations"]
        return Counter({v["id"] + ":" + str(v["impact"]): len(v["nodes"]) for v in violations})
    finally:
        context.close()


def report(
    scores: dict[tuple[str, str], dict[str, int | str]], axe: dict[str, Counter[str]], took: float, runs: int
) -> list[str]:
    lines = [
        "web audit: Lighthouse 12.2.3 (headless Chromium; mobile = its default throttled phone, desktop = --preset"
        f"=desktop; the run of median performance of {runs}) on one proven photo's pages; axe-core"
        " (axe-playwright-python) on every route at 1280 px",
        f"{'page':<10}{'preset':<9}" + "".join(f"{c:>16}" for c in CATEGORIES),
    ]
    below = []
    for (name, preset), score in scores.items():
        if "error" in score:
            lines.append(f"{name:<10}{preset:<9}  no scores: {score['error']}")
            below.append(f"{name}/{preset}")
            continue
        lines.append(
            f"{name:<10}{preset:<9}" + "".join(f"{score[c]:>16}" for c in CATEGORIES) + f"    {score['metrics']}"
        )
        below += [f"{name}/{preset} {c} {score[c]}" for c in CATEGORIES if int(score[c]) < GOAL]
    lines.append(
        f"Lighthouse goal (every category >= {GOAL}): " + ("met" if not below else "missed: " + "; ".join(below))
    )
    if not axe:
        lines.append("axe-core: not run (a run narrowed by --page or --preset)")
        lines.append(f"(took {took:.0f} s, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f})")
        return lines
    lines.append("axe-core violations per route (rule:impact x nodes):")
    blocking = []
    for name, found in axe.items():
        lines.append(f"  {name:<14}" + (", ".join(f"{k} x{n}" for k, n in sorted(found.items())) or "none"))
        blocking += [f"{name} {k}" for k in found if k.endswith((":serious", ":critical"))]
    lines.append(
        "axe goal (no serious or critical violation): " + ("met" if not blocking else "missed: " + "; ".join(blocking))
    )
    lines.append(f"(took {took:.0f} s, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f})")
    return lines


if __name__ == "__main__":
    sys.exit(main())
