"""The grid's delete panel (``wsnb.grid._delete``, the widget's panel states) on the emulator."""

from __future__ import annotations

import re
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


def test_after_a_deletion_the_view_keeps_its_filter_search_and_counts(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    """The grid without the deleted tasks is prepared off the lock; what it shows must be what
    a fresh grid on the remaining tasks shows under the same filter, search and sort."""
    _emulator, grid, browser = live
    browser.set(
        filters={"task_type": ["REBOOT", "STOP", "START"]},
        sort=[{"column": "task_name", "descending": True}],
    )
    browser.act("select_page")
    chosen = list(grid.selected_ids)[:4]
    browser.act("clear")
    grid.select(chosen)
    browser.act("delete_preview")
    browser.act("delete_confirm", count=len(chosen))
    assert grid.delete_state == "done", grid.delete_message
    fresh = TaskGrid(grid.frame)
    fresh.filters, fresh.sort = grid.filters, grid.sort
    assert not set(chosen) & set(grid.frame.index)
    assert grid.matching == fresh.matching > 0
    assert grid.filter_counts == fresh.filter_counts
    assert browser.shown == [r["id"] for r in fresh.rows]


# --- regression: over the cap (issue item 6) -----------------------------------------------------


def test_over_the_cap_delete_is_refused_up_front_and_the_cap_can_be_raised(
    emulator: Any, tmp_path: Any
) -> None:
    from wsnb.frames import tasks_frame

    emulator.control.seed(10, seed=1)
    client = emulator.client(rate_limit=None)
    grid = TaskGrid(
        tasks_frame(client), client=client, ledger=tmp_path / "l.sqlite", max_deletions=2
    )
    browser = Browser(grid)
    grid.select(grid.frame.index[:3])
    assert grid.max_deletions == 2 and grid.over_cap  # the browser disables Delete on this
    emulator.control.clear_requests()
    browser.act("delete_preview")
    assert grid.delete_state == "idle"  # refused by the panel, not a deleter exception
    assert "3 selected" in grid.delete_message and "at most 2" in grid.delete_message
    assert emulator.control.requests() == []  # not even a read
    for bad in (-1, "x", True, 2.5):
        browser.act("set_cap", value=bad)
        assert "cap" in grid.error and grid.max_deletions == 2
    browser.act("set_cap", value=3)
    assert grid.max_deletions == 3 and not grid.over_cap and grid.error == ""
    browser.act("delete_preview")
    assert grid.delete_state == "confirm", grid.delete_message
    browser.act("delete_confirm", count=3)
    assert grid.delete_state == "done", grid.delete_message
    assert len(emulator.control.task_ids()) == 7


# --- regression: the preview names the tasks (issue item 7) ----------------------------------


def test_preview_lists_the_tasks_the_hidden_ones_an_eta_and_a_command(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    from wsnb.grid._eta import estimate

    emulator, grid, browser = live
    frame = grid.frame
    stops = frame.index[frame["task_type"] == "STOP"].tolist()
    others = frame.index[frame["task_type"] != "STOP"].tolist()
    chosen = [*others[:9], *stops[:3]]
    grid.select(chosen)
    browser.set(filters={"task_type": ["STOP"]})  # 9 of the 12 are now hidden by the filter
    browser.act("delete_preview")
    assert grid.delete_state == "confirm", grid.delete_message
    assert grid.preview_total == 12 and grid.preview_hidden == 9
    in_frame_order = [tid for tid in frame.index if tid in set(chosen)]
    first = grid.preview_rows
    assert [r["id"] for r in first] == in_frame_order[:10]
    row = first[0]
    source = frame.loc[row["id"]]
    assert row["task_name"] == source["task_name"] and row["task_type"] == source["task_type"]
    assert row["time_zone"] == (source["time_zone"] or "")
    assert {"next_execution_time", "next_execution_time_utc"} <= set(row)
    browser.set(preview_page=1)
    assert [r["id"] for r in grid.preview_rows] == in_frame_order[10:]
    # what Confirm will do: execute the preview's plan (its snapshots are taken already)
    expected = estimate(12, project_tasks=len(frame), plan=True)
    assert grid.delete_eta == expected.text() and "reads" in grid.delete_eta
    assert expected.reads < estimate(12, project_tasks=len(frame)).reads  # no second snapshot
    command = grid.delete_command
    assert command.startswith("wsnb tasks delete --ids-file wsnb-selected-ids.csv --max 12")
    assert f"--endpoint {emulator.endpoint}" in command and "--dry-run" in command
    assert emulator.sk not in command and emulator.ak not in command

    browser.act("export_ids")
    download = browser.custom[-1]
    assert download["kind"] == "download" and download["filename"] == "wsnb-selected-ids.csv"
    assert download["text"].splitlines() == in_frame_order  # one id per line: --ids-file reads it


# --- regression: a closed client (issue item 8) ----------------------------------------------


def test_a_closed_client_is_shown_and_disables_delete(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    emulator, grid, browser = live
    assert not grid.client_closed
    browser.click(browser.shown[0])
    grid._client.close()  # what the notebook's last cell does
    browser.click(browser.shown[1])  # any message from the browser re-checks the client
    assert grid.client_closed
    assert "client is closed" in grid.delete_message
    browser.act("delete_preview")
    assert grid.delete_state == "idle" and grid.error == ""
    assert "client is closed" in grid.delete_message
    assert "Cannot send a request" not in grid.delete_message
    assert len(emulator.control.task_ids()) == 40


# --- regression: progress with phases, old report hidden (issue item 9) ------------------


def test_progress_names_the_phases_with_counts_and_hides_the_old_report(
    emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsnb.frames import tasks_frame
    from wsnb.grid import _progress
    from wsnb.grid._eta import estimate

    monkeypatch.setattr(_progress, "POLL_SECONDS", 0.01)
    emulator.control.seed(30, seed=2)
    client = emulator.client(rate_limit=None)
    grid = TaskGrid(
        tasks_frame(client),
        client=client,
        ledger=tmp_path / "l.sqlite",
        delete_options={"chunk_size": 10, "concurrency": 1},
    )
    grid.select(grid.frame.index)
    browser = Browser(grid)
    browser.act("delete_preview")
    assert grid.report_html  # the dry run's report
    emulator.control.add_fault(operation="get_task", kind="latency", latency=0.05)
    sent_before = len(browser.sent)
    mark = emulator.control.requests()[-1]["seq"]
    keys = ("delete_phase", "delete_done", "delete_total", "delete_progress", "report_html")
    lefts = [grid.delete_eta_left]
    grid.observe(lambda change: lefts.append(change["new"]), "delete_eta_left")
    state = {k: getattr(grid, k) for k in keys}
    browser.act("delete_confirm", count=30)
    assert grid.delete_state == "done", grid.delete_message
    # What the front end saw: the state after each update message the kernel sent.
    seen: list[tuple[Any, ...]] = []  # (phase, done, total, progress, report shown)
    for message in browser.sent[sent_before:]:
        update = message.get("state", {}) if message.get("method") == "update" else {}
        if set(update) & set(keys[:4]):
            state.update({k: v for k, v in update.items() if k in keys})
            seen.append(tuple(state[k] if k != "report_html" else bool(state[k]) for k in keys))
        else:
            state.update({k: v for k, v in update.items() if k in keys})
    running = [s for s in seen if s[0]]
    phases = list(dict.fromkeys(s[0] for s in running))
    assert phases == ["snapshots", "deleting", "verifying"]
    assert not any(s[4] for s in running)  # the dry run's report is hidden during the run
    # Confirm executes the preview's plan: its first phase is the plan's check (the tasks
    # looked at once: here a listing), counted against what the estimate said it reads
    check = estimate(30, project_tasks=30, plan=True).snapshot_reads
    snaps = [s[1] for s in running if s[0] == "snapshots"]
    assert snaps == sorted(snaps) and len(set(snaps)) > 2 and max(snaps) <= check
    assert {s[2] for s in running if s[0] == "snapshots"} == {check}
    assert sum(r["operation"] == "get_task" for r in emulator.control.requests(mark)) == 0
    deleting = [s[1] for s in running if s[0] == "deleting"]
    assert {10, 20} <= set(deleting) and max(deleting) <= 30  # one step per chunk of 10
    progress = [s[3] for s in running]
    assert progress == sorted(progress) and 0 < progress[len(progress) // 2] < 1
    assert grid.delete_progress == 1.0 and grid.delete_phase == ""
    # the time left was shown while it ran ("about 3 s left"), and is gone once it is done
    assert any(re.fullmatch(r"about \d+ (s|min)( \d+ s)? left", t) for t in lefts), lefts
    assert grid.delete_eta_left == ""
    assert len(emulator.control.task_ids()) == 0


# --- the kernel keeps answering while the panel works -------------------------------------------


def test_preview_runs_in_the_background_and_the_grid_keeps_answering(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    import time

    emulator, grid, browser = live
    browser.set(page_size=10)
    grid.select(grid.frame.index[:4])
    emulator.control.add_fault(operation="get_task", kind="latency", latency=0.4)
    started = time.monotonic()
    browser.act("delete_preview", wait=False)
    assert time.monotonic() - started < 0.3  # the comm handler returned at once
    assert grid.delete_state == "previewing"
    browser.set(page=1)  # handled while the dry run waits on the server
    browser.click(browser.shown[0])
    assert grid.page == 1 and browser.shown == grid.frame.index[10:20].tolist()
    assert grid.selected_count == 5
    assert grid.delete_state == "previewing"
    browser.act("delete_preview", wait=False)  # a second click while busy is ignored
    assert grid.wait(timeout=60)
    assert grid.delete_state == "confirm" and grid.delete_count == 4
    browser.act("delete_confirm", count=4)  # the selection changed meanwhile: refused
    assert grid.delete_state == "idle" and "preview again" in grid.delete_message
    assert len(emulator.control.task_ids()) == 40


def test_stop_is_offered_only_when_the_deleter_can_cancel(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    import inspect

    from wsnb.deletion import delete_tasks

    _emulator, grid, browser = live
    supported = "cancel" in inspect.signature(delete_tasks).parameters
    assert grid.can_stop is supported
    browser.act("delete_stop")  # nothing running: a no-op, not an error
    assert grid.error == "" and grid.delete_state == "idle"


def test_confirm_executes_the_previews_plan_and_refuses_changed_tasks(
    live: tuple[Any, TaskGrid, Browser],
) -> None:
    """The Confirm deletes with the preview's snapshots (no second read per id); a task changed
    between the preview and the Confirm stops it before anything is sent."""
    from wsnb.ledger import Ledger

    emulator, grid, browser = live
    shown = browser.shown
    browser.click(shown[0])
    browser.click(shown[3], shift=True)
    chosen = list(grid.selected_ids)
    browser.act("delete_preview")
    assert grid.delete_state == "confirm"
    preview = grid.last_report
    assert preview is not None
    mark = emulator.control.requests()[-1]["seq"]
    browser.act("delete_confirm", count=4)
    assert grid.delete_state == "done", grid.delete_message
    assert grid.last_report is not None
    run_id = grid.last_report.summary["run_id"]
    with Ledger(grid.last_report.summary["ledger"]) as book:
        assert book.run(run_id)["params"]["plan_run"] == preview.summary["run_id"]
    reads = [e for e in emulator.control.requests(mark) if e["operation"] == "get_task"]
    assert len(reads) <= 4  # the verification sample only: the snapshots were the preview's
    assert not set(chosen) & set(emulator.control.task_ids())

    browser.click(browser.shown[0])
    browser.act("delete_preview")
    assert grid.delete_state == "confirm"
    target = grid.selected_ids[0]
    with emulator.client(rate_limit=None) as client:
        client.update_task(target, task_name="renamed between preview and confirm")
    before = set(emulator.control.task_ids())
    browser.act("delete_confirm", count=1)
    assert grid.delete_state == "error" and "changed since" in grid.delete_message
    assert set(emulator.control.task_ids()) == before  # nothing was sent
