"""``TaskGrid`` on a fleet frame (``tasks_frame(fleet)``'s shape: a MultiIndex ``("project_id",
"task_id")`` and a ``region`` column), built here by hand from single-project frames with
``pd.concat(keys=...)``. Two projects hold the same task id on purpose.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.grid.conftest import Browser
from wsnb.grid import TaskGrid
from wsnb.grid._sample import sample_history, sample_tasks_frame

P1, P2 = "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "99887766554433221100aabbccddeeff"


def fleet_of(one: pd.DataFrame, two: pd.DataFrame, regions: tuple[str, str]) -> pd.DataFrame:
    """Two single-project frames stacked as a fleet frame, each with its region."""
    parts = {
        P1: one.assign(region=pd.array([regions[0]] * len(one), dtype="string")),
        P2: two.assign(region=pd.array([regions[1]] * len(two), dtype="string")),
    }
    return pd.concat(parts, names=["project_id", "task_id"])


@pytest.fixture
def fleet() -> pd.DataFrame:
    one = sample_tasks_frame(300, seed=1)
    two = sample_tasks_frame(200, seed=2)
    shared = list(one.index[:5])  # the same five task ids live in both projects
    two.index = pd.Index([*shared, *two.index[5:]], dtype="string", name="task_id")
    return fleet_of(one, two, ("cn-north-4", "ap-southeast-1"))


def key(project: str, task: str) -> str:
    return f"{project}/{task}"


def test_region_and_project_are_filters_with_counts(fleet: pd.DataFrame) -> None:
    grid = TaskGrid(fleet)
    browser = Browser(grid)
    assert grid.fleet
    kinds = {c["name"]: c["kind"] for c in grid.columns}
    assert kinds["region"] == "enum" and kinds["project_id"] == "enum"
    assert grid.filter_options["region"] == ["ap-southeast-1", "cn-north-4"]
    assert grid.filter_options["project_id"] == [P1, P2]
    assert grid.filter_counts["project_id"] == [300, 200]

    browser.set(filters={"region": ["ap-southeast-1"], "task_type": ["REBOOT"]})
    projects = fleet.index.get_level_values("project_id")
    reboot = fleet["task_type"] == "REBOOT"
    assert grid.matching == int(((fleet["region"] == "ap-southeast-1") & reboot).sum())
    # each project's count: what choosing it would leave with the other filters applied
    assert grid.filter_counts["project_id"] == [
        int(((projects == p) & reboot & (fleet["region"] == "ap-southeast-1")).sum())
        for p in (P1, P2)
    ]
    assert grid.filter_counts["region"] == [
        int((reboot & (fleet["region"] == r)).sum()) for r in grid.filter_options["region"]
    ]
    browser.set(filters={"project_id": ["not-a-project"]})
    assert "unknown value 'not-a-project'" in grid.error and P1 in grid.error


def test_same_task_id_in_two_projects_is_two_rows(fleet: pd.DataFrame) -> None:
    grid = TaskGrid(fleet)
    browser = Browser(grid)
    shared = str(fleet.index[0][1])
    browser.set(query=shared)
    assert sorted(browser.shown) == [key(P1, shared), key(P2, shared)]
    assert {r["task_id"] for r in grid.rows} == {shared}  # the id column shows the task id
    browser.click(key(P2, shared))
    assert grid.selected_ids == [key(P2, shared)]
    assert grid.selected.index.tolist() == [(P2, shared)]
    assert grid.selected.index.names == ["project_id", "task_id"]
    assert grid.selected["region"].tolist() == ["ap-southeast-1"]


def test_selection_api_takes_pairs_keys_masks_and_fleet_frames(fleet: pd.DataFrame) -> None:
    grid = TaskGrid(fleet)
    shared = str(fleet.index[1][1])
    grid.select((P1, shared))
    grid.select(key(P2, shared))
    assert set(grid.selected.index) == {(P1, shared), (P2, shared)}
    grid.clear()
    stopped = fleet[(fleet["task_type"] == "STOP") & (fleet["region"] == "cn-north-4")]
    grid.select(stopped)
    pd.testing.assert_frame_equal(grid.selected, stopped)
    grid.deselect(fleet["region"] == "cn-north-4")
    assert grid.selected.empty
    grid.select(fleet.index[-3:])
    assert grid.selected.index.tolist() == fleet.index[-3:].tolist()
    with pytest.raises(KeyError, match="project_id/task_id"):
        grid.select(shared)  # a bare task id is ambiguous in a fleet


def test_sorting_by_region_groups_the_projects_and_shift_click_spans_them(
    fleet: pd.DataFrame,
) -> None:
    grid = TaskGrid(fleet, page_size=500)
    browser = Browser(grid)
    browser.set(sort=[{"column": "region", "descending": False}])
    regions = grid.filtered["region"].tolist()
    assert regions == sorted(regions)
    shown = browser.shown
    border = regions.index("cn-north-4")
    browser.click(shown[border - 2])
    browser.click(shown[border + 1], shift=True)
    assert set(grid.selected_ids) == set(shown[border - 2 : border + 2])
    assert set(grid.selected["region"]) == {"ap-southeast-1", "cn-north-4"}


def test_history_columns_work_on_a_fleet_too(fleet: pd.DataFrame) -> None:
    frame = sample_history(fleet, records=4, seed=9)
    grid = TaskGrid(frame)
    browser = Browser(grid)
    browser.set(filters={"history": {"failed_last": 2}, "project_id": [P2]})
    projects = frame.index.get_level_values("project_id")
    expected = frame[(frame["failure_streak"] >= 2) & (projects == P2)]
    assert set(grid.filtered.index) == set(expected.index)


def test_export_of_a_fleet_selection_names_the_project(fleet: pd.DataFrame) -> None:
    grid = TaskGrid(fleet)
    browser = Browser(grid)
    shared = str(fleet.index[2][1])
    grid.select([(P1, shared), (P2, shared)])
    browser.act("export_ids")
    download = browser.custom[-1]
    assert download["filename"] == "wsnb-selected-tasks.csv"
    table = pd.read_csv(io.StringIO(download["text"]), dtype=str)
    assert table.to_dict("records") == [
        {"project_id": P1, "region": "cn-north-4", "task_id": shared},
        {"project_id": P2, "region": "ap-southeast-1", "task_id": shared},
    ]


def test_without_a_fleet_delete_is_disabled_and_says_why(fleet: pd.DataFrame) -> None:
    grid = TaskGrid(fleet)
    browser = Browser(grid)
    assert not grid.can_delete
    assert "2 project(s)" in grid.delete_blocked and "fleet=fleet" in grid.delete_blocked
    browser.click(browser.shown[0])
    browser.act("delete_preview")
    assert grid.error == grid.delete_blocked and grid.delete_state == "idle"
    # a client deletes in one project only: still disabled, and the message says so
    with_client = TaskGrid(fleet, client=object())
    assert not with_client.can_delete and "one project" in with_client.delete_blocked


def test_fleet_argument_is_checked(fleet: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not both"):
        TaskGrid(fleet, client=object(), fleet=object())
    with pytest.raises(ValueError, match="needs a fleet frame"):
        TaskGrid(sample_tasks_frame(3), fleet=object())
    wrong = sample_tasks_frame(4).set_index("task_name", append=True)
    with pytest.raises(ValueError, match="must be a fleet frame"):
        TaskGrid(wrong)


# --- deleting through a fleet -----------------------------------------------------------------


class StandInFleet:
    """What the grid hands to the deleter as ``fleet``: here, one real emulator client per
    project id. The fleet itself (``wsnb.Fleet``) is built on another branch."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients


def test_delete_hands_the_fleet_and_the_selected_rows_to_the_deleter(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grid calls ``wsnb.deletion.delete_tasks(fleet, rows)`` with the selected rows of the
    fleet frame. The fleet deleter is another branch's work; a stand-in here routes the rows of
    each project to the real single-project deleter on the emulator. The same task id in the
    other project (a row the emulator does not hold) must stay in the grid."""
    import wsnb.deletion
    from wsnb.frames import tasks_frame

    real_delete = wsnb.deletion.delete_tasks
    calls: list[pd.DataFrame] = []

    def fleet_delete_tasks(
        target: Any, tasks: Any, *, cancel: threading.Event | None = None, **options: Any
    ) -> Any:
        assert isinstance(target, StandInFleet)
        assert isinstance(tasks, pd.DataFrame)
        assert list(tasks.index.names) == ["project_id", "task_id"]
        calls.append(tasks)
        projects = set(tasks.index.get_level_values("project_id"))
        assert projects == {P1}, "this stand-in routes one project"
        ids = tasks.index.get_level_values("task_id").tolist()
        return real_delete(target.clients[P1], ids, cancel=cancel, **options)

    monkeypatch.setattr(wsnb.deletion, "delete_tasks", fleet_delete_tasks)
    emulator.control.seed(12, seed=3)
    client = emulator.client(rate_limit=None)
    one = tasks_frame(client)
    two = one.iloc[:4].copy()  # the same task ids, "in" another project
    frame = fleet_of(one, two, ("cn-north-4", "eu-west-101"))
    grid = TaskGrid(frame, fleet=StandInFleet({P1: client}), ledger=tmp_path / "l.sqlite")
    browser = Browser(grid)
    assert grid.can_delete and grid.can_stop and grid.delete_blocked == ""
    chosen = [str(t) for t in one.index[:3]]
    grid.select([(P1, t) for t in chosen])
    browser.act("delete_preview")
    assert grid.delete_state == "confirm", grid.delete_message
    assert grid.delete_command == ""  # no shell line for a fleet here
    assert {r["id"] for r in grid.preview_rows} == {key(P1, t) for t in chosen}
    before = set(emulator.control.task_ids())
    browser.act("delete_confirm", count=3)
    assert grid.delete_state == "done", grid.delete_message
    assert before - set(emulator.control.task_ids()) == set(chosen)
    assert [c.index.tolist() for c in calls] == [[(P1, t) for t in chosen]] * 2
    left = set(grid.frame.index)
    assert not {(P1, t) for t in chosen} & left
    assert {(P2, t) for t in chosen} <= left  # the other project's rows stay
    assert grid.total == len(frame) - 3


def test_the_static_fallback_counts_regions(fleet: pd.DataFrame) -> None:
    html = TaskGrid(fleet)._repr_html_()
    assert "<th>region</th>" in html
    assert "<td>cn-north-4</td><td style='text-align:right'>300</td>" in html
    assert f"<td>{key(P1, str(fleet.index[0][1]))}</td>" in html  # the preview shows row keys
