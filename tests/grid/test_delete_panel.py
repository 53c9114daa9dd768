"""The grid's delete panel (``wsnb.grid._delete``, the widget's panel states) on the emulator."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.grid.conftest import Browser
from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_tasks_frame


def test_delete_requires_a_client(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    assert not grid.can_delete
    browser = Browser(grid)
    browser.click("task-00")
    browser.act("delete_preview")
    assert "no client" in grid.error


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_grid_cap_must_be_a_non_negative_int_or_none(bad: Any) -> None:
    frame = sample_tasks_frame(3, seed=1)
    with pytest.raises(ValueError, match="max_deletions must be an int >= 0, or None"):
        TaskGrid(frame, max_deletions=bad)


# --- the delete panel, against the emulator --------------------------------------------------


@pytest.fixture
def live(emulator: Any, tmp_path: Any) -> tuple[Any, TaskGrid, Browser]:
    """An emulator with 40 tasks, their frame, and a grid with a client and a temp ledger."""
    from wsnb.frames import tasks_frame

    emulator.control.seed(40, seed=5)
    client = emulator.client(rate_limit=None)
    grid = TaskGrid(tasks_frame(client), client=client, ledger=tmp_path / "ledger.sqlite")
    return emulator, grid, Browser(grid)


def test_delete_previews_then_deletes_exactly_the_confirmed_ids(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    emulator, grid, browser = live
    before = set(emulator.control.task_ids())
    assert grid.can_delete and grid.max_deletions > 0
    browser.set(sort=[{"column": "task_name", "descending": False}])
    shown = browser.shown
    browser.click(shown[2])
    browser.click(shown[4], shift=True)
    chosen = grid.selected_ids
    assert set(chosen) == set(shown[2:5])

    browser.act("delete_preview")
    assert grid.delete_state == "confirm" and grid.delete_count == 3
    assert "selected 3 task(s): 3 planned" in grid.delete_message
    assert "Dry run" in grid.report_html
    assert set(emulator.control.task_ids()) == before  # a dry run deletes nothing
    assert grid.last_report is not None and grid.last_report.summary["dry_run"]

    browser.act("delete_confirm", count=3)
    assert grid.delete_state == "done", grid.delete_message
    assert before - set(emulator.control.task_ids()) == set(chosen)
    assert "3 deleted" in grid.delete_message and grid.delete_progress == 1.0
    assert grid.last_report is not None and grid.last_report.summary["deleted"] == 3
    assert grid.total == len(before) - 3
    assert not set(chosen) & set(grid.frame.index)
    assert grid.selected_ids == [] and grid.selected_count == 0
    assert grid.sort == [{"column": "task_name", "descending": False}]
    browser.act("delete_cancel")
    assert grid.delete_state == "idle" and grid.report_html == ""


def test_delete_refuses_when_the_selection_changed_since_the_preview(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    emulator, grid, browser = live
    before = set(emulator.control.task_ids())
    browser.click(browser.shown[0])
    browser.click(browser.shown[1])
    browser.act("delete_preview")
    assert grid.delete_state == "confirm"
    browser.click(browser.shown[5])  # one more after the preview
    browser.act("delete_confirm", count=2)
    assert grid.delete_state == "idle" and "selection changed" in grid.delete_message
    browser.act("delete_preview")
    browser.act("delete_confirm", count=2)  # the count the browser showed is stale
    assert grid.delete_state == "idle" and "preview again" in grid.delete_message
    browser.act("delete_confirm", count=3)  # no preview pending any more
    assert "preview first" in grid.error
    assert set(emulator.control.task_ids()) == before


def test_delete_cap_is_shown_and_nothing_is_sent(emulator: Any, tmp_path: Any) -> None:
    from wsnb.frames import tasks_frame

    emulator.control.seed(10, seed=1)
    client = emulator.client(rate_limit=None)
    grid = TaskGrid(
        tasks_frame(client), client=client, ledger=tmp_path / "l.sqlite", max_deletions=2
    )
    assert grid.max_deletions == 2
    grid.select(grid.frame.index[:3])
    emulator.control.clear_requests()
    Browser(grid).act("delete_preview")
    assert grid.delete_state == "error"
    assert "max_deletions is 2" in grid.delete_message
    assert not [r for r in emulator.control.requests() if r["operation"] == "batch_delete"]
    assert len(emulator.control.task_ids()) == 10


def test_delete_progress_follows_the_deleter(emulator: Any, tmp_path: Any) -> None:
    """The panel's bar moves as ids settle (chunks of 1 here), not only at start and end."""
    from wsnb.frames import tasks_frame

    emulator.control.seed(8, seed=2)
    client = emulator.client(rate_limit=None)
    grid = TaskGrid(
        tasks_frame(client),
        client=client,
        ledger=tmp_path / "l.sqlite",
        delete_options={"chunk_size": 1, "concurrency": 1},
    )
    grid.select(grid.frame.index[:4])
    browser = Browser(grid)
    browser.act("delete_preview")
    seen: list[float] = []
    grid.observe(lambda change: seen.append(change["new"]), names="delete_progress")
    browser.act("delete_confirm", count=4)
    assert grid.delete_state == "done", grid.delete_message
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert {0.25, 0.5, 0.75} <= set(seen)  # one step per settled chunk
    assert len(emulator.control.task_ids()) == 4
