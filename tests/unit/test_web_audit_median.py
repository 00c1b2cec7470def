"""bench/web_audit.py keeps, of several Lighthouse runs of one page, the run of median performance."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.web_audit import median_run

scores = st.integers(min_value=0, max_value=100)
runs = st.lists(
    st.one_of(
        st.builds(lambda p, a: {"performance": p, "accessibility": a, "best-practices": 100}, scores, scores),
        st.builds(lambda why: {"error": why}, st.text(max_size=20)),
    ),
    min_size=1,
    max_size=7,
)


@given(runs)
def test_median_run_fuzz_is_a_scored_run_of_median_performance_or_the_last_failure(got: list[dict]) -> None:
    kept = median_run(got)
    scored = sorted(int(run["performance"]) for run in got if "error" not in run)
    if not scored:
        assert kept is got[-1]
        return
    assert any(kept is run for run in got)  # one run's scores together, never a mix of runs
    assert "error" not in kept
    assert kept["performance"] == scored[len(scored) // 2]


def test_median_run_ignores_a_failed_run_among_scored_ones() -> None:
    kept = median_run([{"performance": 40}, {"error": "timeout"}, {"performance": 90}, {"performance": 70}])
    assert kept["performance"] == 70
