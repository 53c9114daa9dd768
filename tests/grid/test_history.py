"""History-aware selection in ``TaskGrid``: the History column and filter over ``wsnb.enrich``
columns, through the comm protocol as the browser drives it. Expected rows come from pandas
(``wsnb.failed_last`` and plain comparisons), never typed in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import task_body
from tests.grid.conftest import Browser
from wsnb.emulator import Emulator
from wsnb.frames import tasks_frame
from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_history, sample_tasks_frame
from wsnb.history import enrich, failed_last


@pytest.fixture
def history() -> pd.DataFrame:
    return sample_history(sample_tasks_frame(3_000, seed=3), records=5, seed=4)


def _idle(frame: pd.DataFrame, days: int) -> pd.Series:
    cutoff = pd.Timestamp(datetime.now(UTC)) - pd.Timedelta(days=days)
    return frame["last_run"].isna() | (frame["last_run"] < cutoff)


def test_enriched_frame_from_the_emulator_shows_and_filters_history(
    emulator: Emulator, tmp_path: Path
) -> None:
    with emulator.client(rate_limit=None) as client:
        flaky, healthy, never = (
            client.create_task(task_body(task_name=n)) for n in ("flaky", "healthy", "never")
        )
        for status in ("SUCCESS", "FAIL", "FAIL"):
            emulator.control.tick(task_ids=[flaky], status=status)
        for status in ("FAIL", "SUCCESS"):
            emulator.control.tick(task_ids=[healthy], status=status)
        frame = enrich(tasks_frame(client), client, records=3, cache=False, progress=False)
    grid = TaskGrid(frame)
    browser = Browser(grid)
    assert grid.history == {"records": 3, "idle_days": 30}
    kinds = {c["name"]: c["kind"] for c in grid.columns}
    assert kinds["recent_outcomes"] == "history" and kinds["last_run"] == "date"
    rows = {r["id"]: r for r in grid.rows}
    assert rows[flaky]["recent_outcomes"] == "FAIL,FAIL,SUCCESS"
    assert rows[never]["recent_outcomes"] == "" and rows[never]["last_run"] == ""
    assert rows[healthy]["last_run_utc"].endswith(" UTC")

    browser.set(filters={"history": {"failed_last": 2}})
    assert browser.shown == frame.index[failed_last(frame, 2)].tolist() == [flaky]
    browser.act("select_matching")
    assert grid.selected_ids == [flaky]
    browser.set(filters={"history": {"idle_days": 30}})  # never ran: counts as idle
    assert browser.shown == [never]
    # streak >= 1, 2, 3, then idle 30 days, with no other filter
    assert grid.filter_counts["history"][:3] == [
        int(failed_last(frame, n).sum()) for n in (1, 2, 3)
    ]


def test_history_counts_are_what_each_choice_would_leave(history: pd.DataFrame) -> None:
    grid = TaskGrid(history)
    browser = Browser(grid)
    browser.set(filters={"task_type": ["REBOOT", "STOP"], "history": {"idle_days": 10}})
    typed = history["task_type"].isin(["REBOOT", "STOP"])
    expected = typed & _idle(history, 10)
    assert grid.matching == int(expected.sum())
    counts = grid.filter_counts["history"]
    # failed-last counts apply the other filters (type) and this filter's idle part is its own
    streak = history["failure_streak"].fillna(0)
    assert counts[:5] == [int((typed & (streak >= n)).sum()) for n in range(1, 6)]
    assert counts[5] == int((typed & _idle(history, 10)).sum())
    # ... and the type filter's counts apply the history filter
    idle = _idle(history, 10)
    options = grid.filter_options["task_type"]
    assert grid.filter_counts["task_type"] == [
        int((idle & (history["task_type"] == v)).sum()) for v in options
    ]
    browser.set(filters={"history": {"failed_last": 3, "idle_days": 30}})
    both = (streak >= 3) & _idle(history, 30)
    assert set(grid.filtered.index) == set(history.index[both])


def test_history_sort_puts_the_longest_failure_streaks_first(history: pd.DataFrame) -> None:
    grid = TaskGrid(history)
    Browser(grid).set(sort=[{"column": "recent_outcomes", "descending": True}])
    ordered = grid.filtered
    streaks = ordered["failure_streak"].tolist()
    ran = ordered["last_run"].notna()
    assert not ran.iloc[int(ran.sum()) :].any()  # never-run tasks last
    ran_streaks = streaks[: int(ran.sum())]
    assert ran_streaks == sorted(ran_streaks, reverse=True)
    top = ordered[ordered["failure_streak"] == ran_streaks[0]]["last_run"]
    assert top.is_monotonic_decreasing  # equal streaks: the most recent run first


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"failed_last": 6}, "from 1 to 5"),
        ({"failed_last": 0}, "from 1 to 5"),
        ({"idle_days": "30"}, "whole number"),
        ({"streak": 2}, "'failed_last': n"),
    ],
)
def test_bad_history_filters_are_reported(
    history: pd.DataFrame, spec: dict[str, object], message: str
) -> None:
    grid = TaskGrid(history)
    browser = Browser(grid)
    browser.set(filters={"history": spec})
    assert message in grid.error and grid.filters == {}


def test_without_history_columns_the_grid_is_unchanged(big: pd.DataFrame) -> None:
    grid = TaskGrid(big)
    browser = Browser(grid)
    assert grid.history == {}
    assert "history" not in grid.filter_counts
    names = [c["name"] for c in grid.columns]
    assert "recent_outcomes" not in names and "last_run" not in names
    browser.set(filters={"history": {"failed_last": 1}})
    assert "not in the frame" in grid.error
    # a frame with only some of the columns is not a history frame either
    partial = big.assign(failure_streak=pd.array([1] * len(big), dtype="Int64"))
    assert TaskGrid(partial).history == {}
