"""``TaskGrid`` (``wsnb.grid.widget``): paging, selection by id, refresh and the synced state,
driven headlessly through the comm protocol as the browser drives it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
import pytest

from tests.grid.conftest import Browser, make_frame
from wsnb.grid import MAX_PAGE_SIZE, TaskGrid
from wsnb.grid._sample import sample_tasks_frame


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


def test_filter_resets_to_first_page_and_query_is_case_insensitive(small: pd.DataFrame) -> None:
    grid = TaskGrid(small, page_size=2)
    browser = Browser(grid)
    browser.set(page=2)
    browser.set(query="ALPHA")
    assert grid.page == 0
    assert browser.shown == ["task-01", "task-04"]
    browser.set(query="task-0")  # ids are searched too
    assert grid.matching == len(small)


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


def test_an_empty_frame_gives_an_empty_grid() -> None:
    grid = TaskGrid(make_frame([{"id": "x"}]).iloc[:0])
    browser = Browser(grid)
    assert grid.total == grid.matching == 0 and grid.rows == [] and grid.page_count == 1
    browser.act("select_matching")
    browser.act("invert")
    browser.set(sort=[{"column": "task_name", "descending": True}], query="x", page=3)
    assert grid.selected_ids == [] and grid.page == 0 and grid.error == ""
    assert "0 tasks" in grid._repr_html_()


# --- filter menus count what each value would leave -------------------------------------------


def test_filter_counts_are_what_each_value_would_leave(big: pd.DataFrame) -> None:
    grid = TaskGrid(big)
    browser = Browser(grid)
    browser.set(filters={"task_type": ["REBOOT"], "enable": [True]}, query="patch")
    hit = big["task_name"].str.contains("patch") | big.index.str.contains("patch")
    hit |= big["description"].fillna("").str.lower().str.contains("patch")
    for column, options in grid.filter_options.items():
        others = hit.copy()
        if column != "task_type":
            others &= big["task_type"] == "REBOOT"
        if column != "enable":
            others &= big["enable"]
        values = big.loc[others, column]
        expected = [
            int(values.isna().sum()) if v is None else int((values == v).sum()) for v in options
        ]
        assert grid.filter_counts[column] == expected, column
    assert sum(grid.filter_counts["task_type"]) >= grid.matching > 0


# --- column chooser and widths (issue item 4) -----------------------------------------------


def test_hidden_columns_and_widths_are_remembered_and_checked(small: pd.DataFrame) -> None:
    grid = TaskGrid(small)
    browser = Browser(grid)
    browser.set(hidden_columns=["expire_time", "time_zone"])
    assert grid.hidden_columns == ["expire_time", "time_zone"] and grid.error == ""
    assert "expire_time" in grid.get_state()["hidden_columns"]  # saved with the widget state
    browser.set(hidden_columns=["bogus"])
    assert "hidden_columns" in grid.error and grid.hidden_columns == ["expire_time", "time_zone"]
    browser.set(hidden_columns=["task_id"])  # the id column always stays
    assert "task_id" in grid.error
    browser.set(column_widths={"task_name": 30.5, "task_type": 12})
    assert grid.column_widths == {"task_name": 30.5, "task_type": 12} and grid.error == ""
    browser.set(column_widths={"task_name": -3})
    assert "column_widths" in grid.error and grid.column_widths["task_name"] == 30.5
    grid.refresh(small.drop(columns=["time_zone"]))
    assert grid.hidden_columns == ["expire_time"]  # a column the frame lost is forgotten
