"""TaskGrid driven headlessly, exactly as the browser drives it.

``Browser`` sends the same comm messages the anywidget front end sends (trait updates and custom
``{"action": ...}`` messages) and records what the kernel sends back, so these tests cover the
widget protocol without a browser. Expected ids are computed with plain pandas, never typed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import traitlets

from wsnb._grid_sample import sample_tasks_frame
from wsnb.frames import TASK_COLUMNS
from wsnb.grid import MAX_PAGE_SIZE, TaskGrid

SCHEMA = TASK_COLUMNS  # the grid is tested on exactly the frame schema tasks_frame returns


def make_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with the exact ``tasks_frame`` schema from a few hand-written rows."""
    defaults: dict[str, Any] = {
        "task_name": "t",
        "task_type": "REBOOT",
        "scheduled_type": "DAY",
        "life_cycle_type": None,
        "last_status": "SUCCESS",
        "enable": True,
        "next_execution_time": "2026-03-01 00:00",
        "expire_time": None,
        "time_zone": "UTC",
        "description": "",
        "priority": 1,
        "wait_time": 0,
        "life_cycle_exec_period": None,
        "extra_params": "",
    }
    full = [defaults | r for r in rows]
    frame = pd.DataFrame(
        {c: [r[c] for r in full] for c in SCHEMA},
        index=pd.Index([r["id"] for r in full], dtype="string", name="task_id"),
    )
    for column in ("next_execution_time", "expire_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype(SCHEMA)


class Browser:
    """Speaks the widget comm protocol to a grid, as the front end would."""

    def __init__(self, grid: TaskGrid) -> None:
        self.grid = grid
        self.sent: list[dict[str, Any]] = []
        grid.comm.send = self._record  # what the kernel sends to the front end

    def _record(self, data: Any = None, buffers: Any = None, **_: Any) -> None:
        self.sent.append(data)

    def set(self, **state: Any) -> None:
        """A trait change made in the browser (``model.set(...); model.save_changes()``)."""
        data = {"method": "update", "state": state, "buffer_paths": []}
        self.grid._handle_msg({"content": {"data": data}, "buffers": []})

    def act(self, action: str, **content: Any) -> None:
        """A custom message (``model.send({action, ...})``)."""
        data = {"method": "custom", "content": {"action": action, **content}}
        self.grid._handle_msg({"content": {"data": data}, "buffers": []})

    def click(self, task_id: str, *, shift: bool = False) -> None:
        self.act("toggle", id=task_id, shift=shift)

    @property
    def shown(self) -> list[str]:
        return [r["id"] for r in self.grid.rows]

    @property
    def checked(self) -> list[str]:
        return [r["id"] for r in self.grid.rows if r["selected"]]


@pytest.fixture
def small() -> pd.DataFrame:
    names = ["delta", "alpha", "echo", "bravo", "alpha", "charlie", "golf", "foxtrot"]
    types = ["REBOOT", "STOP", "REBOOT", "START", "STOP", "REBOOT", "EXECUTE_SCRIPT", "STOP"]
    status = ["SUCCESS", "FAIL", None, "SUCCESS", "SKIP", "FAIL", None, "SUCCESS"]
    times = [
        "2026-03-05 10:00",
        None,
        "2026-03-01 10:00",
        "2026-03-03 10:00",
        "2026-03-02 10:00",
        None,
        "2026-03-04 10:00",
        "2026-03-06 10:00",
    ]
    return make_frame(
        [
            {
                "id": f"task-{i:02d}",
                "task_name": n,
                "task_type": t,
                "last_status": s,
                "next_execution_time": x,
                "enable": i % 3 != 0,
            }
            for i, (n, t, s, x) in enumerate(zip(names, types, status, times, strict=True))
        ]
    )


@pytest.fixture
def big() -> pd.DataFrame:
    return sample_tasks_frame(5_000, seed=7)


def test_sample_frame_has_the_tasks_frame_schema(big: pd.DataFrame) -> None:
    assert big.index.name == "task_id"
    assert str(big.index.dtype) == "string"
    assert big.index.is_unique
    assert {c: str(t) for c, t in big.dtypes.items()} == SCHEMA
    assert list(big.columns) == list(SCHEMA)
    assert big["last_status"].isna().any() and big["next_execution_time"].isna().any()


def test_first_page_is_rendered_on_creation(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=20)
    assert grid.total == grid.matching == len(big)
    assert grid.page_count == -(-len(big) // 20)
    assert [r["id"] for r in grid.rows] == list(big.index[:20])
    assert grid.selected_ids == [] and grid.selected_count == 0


def test_paging_follows_the_display_order(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=25)
    browser = Browser(grid)
    browser.set(page=3)
    assert browser.shown == list(big.index[75:100])
    browser.set(page_size=100)
    assert grid.page == 3 and browser.shown == list(big.index[300:400])
    last = grid.page_count - 1
    browser.set(page=10_000)  # clamped to the last page
    assert grid.page == last
    assert browser.shown == list(big.index[last * 100 :])
    update = browser.sent[-1]
    assert update["method"] == "update" and len(update["state"]["rows"]) == len(big) - last * 100


def test_sort_is_stable_and_puts_missing_last(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.set(sort=[{"column": "task_name", "descending": False}])
    expected = small.sort_values("task_name", kind="stable").index.tolist()
    assert browser.shown == expected
    assert browser.shown[:2] == ["task-01", "task-04"]  # the two "alpha": frame order kept

    browser.set(sort=[{"column": "task_name", "descending": True}])
    desc = small.iloc[::-1].sort_values("task_name", kind="stable", ascending=False)
    assert browser.shown[-2:] == ["task-01", "task-04"]  # ties still in frame order
    assert [small.loc[i, "task_name"] for i in browser.shown] == desc["task_name"].tolist()

    for descending in (False, True):
        browser.set(sort=[{"column": "next_execution_time", "descending": descending}])
        expected = (
            small["next_execution_time"]
            .sort_values(ascending=not descending, na_position="last", kind="stable")
            .index.tolist()
        )
        assert browser.shown == expected
        assert browser.shown[-2:] == ["task-01", "task-05"]  # missing times last either way


def test_multi_column_sort_and_categorical_sort_alphabetical(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=MAX_PAGE_SIZE)
    grid.sort = [
        {"column": "task_type", "descending": False},
        {"column": "next_execution_time", "descending": True},
    ]
    expected = (
        big.assign(_t=big["task_type"].astype(str))
        .sort_values(
            ["_t", "next_execution_time"],
            ascending=[True, False],
            na_position="last",
            kind="stable",
        )
        .index[:MAX_PAGE_SIZE]
        .tolist()
    )
    assert grid.visible_ids == expected


def test_enum_filters_match_pandas(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=MAX_PAGE_SIZE)
    browser = Browser(grid)
    browser.set(filters={"task_type": ["REBOOT", "STOP"], "last_status": [None, "FAIL"]})
    expected = big[
        big["task_type"].isin(["REBOOT", "STOP"])
        & (big["last_status"].isna() | (big["last_status"] == "FAIL"))
    ]
    assert grid.matching == len(expected) > 0
    assert grid.filtered.index.tolist() == expected.index.tolist()
    browser.set(filters={"enable": [False]})
    assert grid.filtered.index.tolist() == big.index[~big["enable"]].tolist()
    browser.set(filters={"enable": []})  # an empty choice is no filter
    assert grid.matching == len(big)


def test_filter_resets_to_first_page_and_query_is_case_insensitive(small: pd.DataFrame) -> None:
    grid = TaskGrid(small, page_size=2)
    browser = Browser(grid)
    browser.set(page=2)
    browser.set(query="ALPHA")
    assert grid.page == 0
    assert browser.shown == ["task-01", "task-04"]
    browser.set(query="task-0")  # ids are searched too
    assert grid.matching == len(small)


@pytest.mark.parametrize(
    "needle", ["patch", "PATCH-00012", "0000a", "sample", "-", "zzz", "1\x1fp"]
)
def test_search_matches_a_row_by_row_scan(big: pd.DataFrame, needle: str) -> None:
    grid = TaskGrid(big)
    grid.query = needle
    text = big.index.to_series() + " " + big["task_name"] + " " + big["description"].fillna("")
    wanted = needle.lower().replace("\x1f", "")
    expected = big.index[text.str.lower().str.contains(wanted, regex=False)]
    assert grid.filtered.index.tolist() == expected.tolist()


def test_search_never_matches_across_fields_or_rows() -> None:
    frame = make_frame(
        [
            {"id": "one", "task_name": "alpha", "description": "xy"},
            {"id": "two", "task_name": "beta", "description": ""},
        ]
    )
    grid = TaskGrid(frame)
    for query in ("onealpha", "xytwo", "alphaxy", "ytw"):
        grid.query = query
        assert grid.matching == 0, query
    grid.query = "  ALPH "
    assert grid.filtered.index.tolist() == ["one"]


def test_date_range_filter_uses_the_tasks_wall_clock() -> None:
    frame = make_frame(
        [
            # 20:00 UTC on 1 March is 04:00 on 2 March in Shanghai
            {"id": "sh", "next_execution_time": "2026-03-01 20:00", "time_zone": "Asia/Shanghai"},
            {"id": "utc", "next_execution_time": "2026-03-01 20:00", "time_zone": "UTC"},
            {"id": "gmt", "next_execution_time": "2026-03-01 20:00", "time_zone": "GMT+08:00"},
            {"id": "none", "next_execution_time": None},
        ]
    )
    grid = TaskGrid(frame)
    browser = Browser(grid)
    by_id = {r["id"]: r for r in grid.rows}
    assert by_id["sh"]["next_execution_time"] == "2026-03-02 04:00"
    assert by_id["sh"]["next_execution_time_utc"] == "2026-03-01 20:00 UTC"
    assert by_id["utc"]["next_execution_time"] == "2026-03-01 20:00"
    assert by_id["none"]["next_execution_time"] == ""

    browser.set(filters={"next_execution_time": {"from": "2026-03-02", "to": "2026-03-02"}})
    assert browser.shown == ["sh", "gmt"]
    browser.set(filters={"next_execution_time": {"to": "2026-03-01"}})  # whole day included
    assert browser.shown == ["utc"]
    browser.set(filters={"next_execution_time": {"from": "2026-03-01T20:00", "to": None}})
    assert browser.shown == ["sh", "utc", "gmt"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"task_type": ["REBOT"]}, "filters['task_type']: unknown value 'REBOT'"),
        ({"nope": ["x"]}, "column 'nope' is not in the frame"),
        ({"task_name": ["x"]}, "column 'task_name' cannot be filtered"),
        ({"expire_time": {"from": "2026-13-01"}}, "filters['expire_time']['from']"),
        ({"expire_time": {"from": "2026-03-02", "to": "2026-03-01"}}, "'from' is after 'to'"),
        ({"task_type": "REBOOT"}, "must be a list of values"),
    ],
)
def test_bad_filters_name_the_field(small: pd.DataFrame, filters: Any, message: str) -> None:
    grid = TaskGrid(small)
    with pytest.raises(traitlets.TraitError, match=message.replace("[", r"\[").replace("(", r"\(")):
        grid.filters = filters
    assert grid.filters == {} and grid.matching == len(small)


def test_bad_browser_update_is_reported_and_reverted(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.set(page_size=MAX_PAGE_SIZE + 1)
    assert f"page_size must be 1..{MAX_PAGE_SIZE}" in grid.error
    assert grid.page_size == 50
    assert browser.sent[-1]["state"]["page_size"] == 50  # the view is told the kernel's value
    browser.set(sort=[{"column": "description", "descending": False}])
    assert "not sortable" in grid.error
    browser.set(page=0)
    assert grid.error == ""
    browser.act("toggle", id="no-such-task")
    assert "no-such-task" in grid.error


def test_click_toggles_and_selection_is_ids_not_positions(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.click("task-03")
    browser.click("task-06")
    assert grid.selected_ids == ["task-03", "task-06"] and grid.selected_count == 2
    browser.set(sort=[{"column": "task_name", "descending": True}])
    assert grid.selected_ids == ["task-03", "task-06"]
    assert sorted(browser.checked) == ["task-03", "task-06"]
    browser.set(filters={"task_type": ["REBOOT"]})  # task-03 (START) hidden, still selected
    assert browser.checked == []
    assert grid.selected_count == 2 and grid.matching_selected == 0
    browser.set(filters={})
    browser.click("task-03")
    assert grid.selected_ids == ["task-06"]


def test_shift_click_selects_the_range_in_display_order(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.set(sort=[{"column": "task_name", "descending": False}])
    order = browser.shown  # alpha(01), alpha(04), bravo(03), charlie(05), delta(00), ...
    browser.click(order[1])
    browser.click(order[4], shift=True)
    assert grid.anchor == order[4]
    assert set(grid.selected_ids) == set(order[1:5])
    assert grid.selected_ids == [i for i in small.index if i in order[1:5]]  # frame order

    # A shift-click upwards from the new anchor gives the range the anchor's state.
    browser.click(order[6])  # select, anchor = order[6]
    browser.click(order[6])  # deselect again: anchor state is now "not selected"
    browser.click(order[3], shift=True)
    assert set(grid.selected_ids) == set(order[1:3])


def test_shift_click_range_spans_pages_and_ignores_hidden_rows(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=10)
    browser = Browser(grid)
    browser.set(filters={"task_type": ["REBOOT"]}, sort=[{"column": "task_name"}])
    expected_order = grid.filtered.index.tolist()
    browser.click(browser.shown[5])
    browser.set(page=2)
    browser.click(browser.shown[3], shift=True)
    position = cast("Callable[[str], int]", big.index.get_loc)  # unique index: an int
    assert grid.selected_ids == sorted(expected_order[5:24], key=position)
    assert all(big.loc[grid.selected_ids, "task_type"] == "REBOOT")


def test_shift_click_without_visible_anchor_is_a_plain_click(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.click("task-03")  # START
    browser.set(filters={"task_type": ["REBOOT"]})
    browser.click("task-05", shift=True)
    assert grid.selected_ids == ["task-03", "task-05"]


def test_select_all_matching_under_a_filter(big: pd.DataFrame) -> None:
    grid = TaskGrid(big)
    browser = Browser(grid)
    browser.set(filters={"scheduled_type": ["WEEK"]}, query="patch")
    browser.act("select_matching")
    expected = big[(big["scheduled_type"] == "WEEK") & big["task_name"].str.contains("patch")]
    assert grid.selected_ids == expected.index.tolist()
    assert grid.selected_count == grid.matching_selected == len(expected) > 0
    pd.testing.assert_frame_equal(grid.selected, expected)
    browser.set(filters={}, query="")
    assert grid.selected_count == len(expected)
    assert grid.matching_selected == len(expected)
    browser.act("invert")
    assert grid.selected_count == len(big) - len(expected)
    assert not set(grid.selected_ids) & set(expected.index)
    browser.act("clear")
    assert grid.selected_ids == []


def test_invert_keeps_rows_hidden_by_the_filter(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.click("task-03")  # START, hidden below
    browser.click("task-00")  # REBOOT
    browser.set(filters={"task_type": ["REBOOT"]})
    browser.act("invert")
    assert grid.selected_ids == ["task-02", "task-03", "task-05"]


def test_select_page_and_header_checkbox(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=30)
    browser = Browser(grid)
    browser.set(page=4)
    browser.act("select_page", value=True)
    assert grid.selected_ids == list(big.index[120:150])
    assert browser.checked == browser.shown
    browser.set(page=5)
    assert browser.checked == []
    browser.set(page=4)
    browser.act("select_page", value=False)
    assert grid.selected_ids == []


def test_python_selection_api(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    seen: list[list[str]] = []
    grid.observe(lambda change: seen.append(change["new"]), "selected_ids")
    calls: list[list[str]] = []
    grid.on_select(calls.append)

    grid.select(small["task_type"] == "STOP")  # boolean Series, by task id
    stops = small.index[small["task_type"] == "STOP"].tolist()
    assert grid.selected_ids == stops and seen[-1] == stops and calls[-1] == stops
    grid.select("task-00")
    grid.select(small.loc[["task-07", "task-06"]])  # a DataFrame selects its index
    assert grid.selected_ids == ["task-00", "task-01", "task-04", "task-06", "task-07"]
    grid.deselect(["task-01", "task-04"])
    assert grid.selected_ids == ["task-00", "task-06", "task-07"]
    assert grid.selected_count == 3 and sorted(r["id"] for r in grid.rows if r["selected"]) == (
        grid.selected_ids
    )
    with pytest.raises(KeyError, match="nope"):
        grid.select(["task-00", "nope"])
    with pytest.raises(ValueError, match=r"one value per task \(8\)"):
        grid.select(np.array([True, False]))
    grid.clear()
    grid.select(np.arange(len(small)) % 2 == 0)
    assert grid.selected_ids == small.index[::2].tolist()

    grid.selected_ids = ["task-05", "task-01", "task-05"]  # direct assignment is canonicalised
    assert grid.selected_ids == ["task-01", "task-05"] and grid.selected_count == 2
    with pytest.raises(KeyError, match="ghost"):
        grid.selected_ids = ["ghost"]
    grid.on_select(calls.append, remove=True)
    before = len(calls)
    grid.clear()
    assert len(calls) == before and seen[-1] == []


def test_selected_keeps_the_input_dtypes(big: pd.DataFrame) -> None:
    grid = TaskGrid(big)
    grid.select(big.index[::97])
    pd.testing.assert_frame_equal(grid.selected, big.iloc[::97])
    assert grid.filtered.dtypes.equals(big.dtypes)


def test_refresh_keeps_selection_of_ids_still_present(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    grid.filters = {"task_type": ["REBOOT", "STOP"]}
    grid.select(["task-00", "task-01", "task-02"])
    changes: list[list[str]] = []
    grid.on_select(changes.append)
    extra = make_frame([{"id": "task-99", "task_type": "STOP"}])
    grid.refresh(pd.concat([small.drop(index="task-01"), extra]))
    assert grid.selected_ids == ["task-00", "task-02"]
    assert changes == [["task-00", "task-02"]]
    assert grid.filters == {"task_type": ["REBOOT", "STOP"]}
    assert grid.total == len(small) and "task-99" in grid.filtered.index
    with pytest.raises(ValueError, match="must be unique"):
        grid.refresh(pd.concat([small, small.iloc[:1]]))


def test_refresh_keeps_the_page_and_clamps_it(big: pd.DataFrame) -> None:
    grid = TaskGrid(big, page_size=100)
    grid.sort = [{"column": "task_name", "descending": False}]
    grid.page = 7
    smaller = big.drop(index=grid.visible_ids[:3])
    grid.refresh(smaller)
    expected = smaller.sort_values("task_name", kind="stable").index[700:800].tolist()
    assert grid.page == 7 and grid.visible_ids == expected
    grid.refresh(big.iloc[:150])
    assert grid.page == 1 and grid.page_count == 2 and len(grid.rows) == 50


def test_refresh_drops_filters_the_new_frame_cannot_apply(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    grid.filters = {"task_type": ["REBOOT"]}
    grid.refresh(small.drop(columns=["task_type"]))
    assert grid.filters == {} and grid.matching == len(small)
    assert "task_type" not in [c["name"] for c in grid.columns]


def test_state_sent_to_the_browser_stays_small_on_100k() -> None:
    frame = sample_tasks_frame(100_000, seed=3)
    grid = TaskGrid(frame)
    browser = Browser(grid)
    browser.act("select_matching")
    assert grid.selected_count == 100_000
    state = grid.get_state()
    assert "selected_ids" not in state
    size = len(json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")}))
    assert size < 50_000
    assert max(len(json.dumps(m)) for m in browser.sent) < 50_000


@pytest.mark.slow  # a 100k-row frame
def test_static_fallback_is_a_small_summary() -> None:
    frame = sample_tasks_frame(100_000, seed=3)
    grid = TaskGrid(frame)
    grid.filters = {"task_type": ["REBOOT"]}
    grid.select(frame.index[:10])
    bundle = grid._repr_mimebundle_()
    assert bundle is not None
    data, _ = bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert len(html) < 10_000
    reboot = int((frame["task_type"] == "REBOOT").sum())
    assert f"{len(frame):,} tasks, {reboot:,} matching the filter, 10 selected" in html
    assert f"<td>REBOOT</td><td style='text-align:right'>{reboot:,}</td>" in html
    assert grid.rows[0]["id"] in html
    assert repr(grid) == f"TaskGrid(100,000 tasks, {reboot:,} matching, 10 selected)"


def test_bad_frames_are_refused() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        TaskGrid([1, 2, 3])  # type: ignore[arg-type]
    frame = make_frame([{"id": "a"}, {"id": "a"}])
    with pytest.raises(ValueError, match=r"task_id\) must be unique; repeated: \['a'\]"):
        TaskGrid(frame)


def test_delete_requires_a_client(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    assert not grid.can_delete
    browser = Browser(grid)
    browser.click("task-00")
    browser.act("delete_preview")
    assert "no client" in grid.error


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
    assert "3 tasks would be deleted" in grid.delete_message
    assert "Dry run" in grid.report_html
    assert set(emulator.control.task_ids()) == before  # a dry run deletes nothing
    assert grid.last_report is not None and grid.last_report.summary["dry_run"]

    browser.act("delete_confirm", count=3)
    assert grid.delete_state == "done", grid.delete_message
    assert before - set(emulator.control.task_ids()) == set(chosen)
    assert "3 tasks deleted" in grid.delete_message and grid.delete_progress == 1.0
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


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_grid_cap_must_be_a_non_negative_int_or_none(bad: Any) -> None:
    frame = sample_tasks_frame(3, seed=1)
    with pytest.raises(ValueError, match="max_deletions must be an int >= 0, or None"):
        TaskGrid(frame, max_deletions=bad)


def test_front_end_files_ship_in_the_wheel(tmp_path: Any) -> None:
    """The ES module and CSS are package data: a wheel built from this tree must carry them."""
    import zipfile
    from pathlib import Path

    wheel = pytest.importorskip("hatchling.builders.wheel")
    repo = Path(__file__).resolve().parents[1]
    built = next(
        wheel.WheelBuilder(str(repo)).build(directory=str(tmp_path), versions=["standard"])
    )
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        esm = archive.read("wsnb/_grid.js").decode()
    assert {"wsnb/_grid.js", "wsnb/_grid.css", "wsnb/grid.py"} <= names
    assert "export default { render }" in esm
    served: object = TaskGrid(make_frame([{"id": "a"}]))._esm  # the file's text, once built
    assert served == esm  # the widget serves that very file


def test_unknown_or_blank_time_zone_does_not_break_display() -> None:
    frame = make_frame(
        [
            {"id": "odd", "next_execution_time": "2026-03-01 20:00", "time_zone": "Mars/Olympus"},
            {"id": "blank", "next_execution_time": "2026-03-01 20:00", "time_zone": None},
        ]
    )
    rows = {r["id"]: r for r in TaskGrid(frame).rows}
    assert rows["odd"]["next_execution_time"] == "2026-03-01 20:00"  # shown in UTC
    assert rows["blank"]["next_execution_time"] == "2026-03-02 04:00"  # the API default zone


def test_an_empty_frame_gives_an_empty_grid() -> None:
    grid = TaskGrid(make_frame([{"id": "x"}]).iloc[:0])
    browser = Browser(grid)
    assert grid.total == grid.matching == 0 and grid.rows == [] and grid.page_count == 1
    browser.act("select_matching")
    browser.act("invert")
    browser.set(sort=[{"column": "task_name", "descending": True}], query="x", page=3)
    assert grid.selected_ids == [] and grid.page == 0 and grid.error == ""
    assert "0 tasks" in grid._repr_html_()
