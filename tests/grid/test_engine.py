"""``wsnb.grid._engine`` through the widget: filtering, search, sorting and display formatting.

Each view is compared with the same query done in plain pandas on the frame.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import traitlets

from tests.grid.conftest import Browser, make_frame
from wsnb.grid import MAX_PAGE_SIZE, TaskGrid


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


def test_bad_frames_are_refused() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        TaskGrid([1, 2, 3])  # type: ignore[arg-type]
    frame = make_frame([{"id": "a"}, {"id": "a"}])
    with pytest.raises(ValueError, match=r"task_id\) must be unique; repeated: \['a'\]"):
        TaskGrid(frame)


# --- regression: typed dates (issue item 1) --------------------------------------------------


@pytest.mark.parametrize("bound", ["0002-12-01", "0020-12-01", "9999-12-31", "1500-01-01T10:00"])
def test_a_date_outside_the_supported_range_is_a_named_error_not_an_overflow(
    small: pd.DataFrame, bound: str
) -> None:
    """A date input reports year 0002 while the user is still typing "2026": the kernel refuses
    it with a ValueError naming the field (an OverflowError used to escape the comm handler)."""
    browser = Browser(grid := TaskGrid(small))
    browser.set(filters={"next_execution_time": {"from": bound}})
    assert "filters['next_execution_time']['from']" in grid.error
    assert "between" in grid.error  # says which years are accepted
    assert grid.filters == {} and grid.matching == len(small)
    assert browser.sent[-1]["state"]["filters"] == {}  # the view is told the kernel's value


# --- regression: name sort (issue item 5) -----------------------------------------------------


def test_name_sort_ignores_case_and_accents() -> None:
    names = [
        "Nachtabschaltung",
        "apagado",
        "Zulu",
        "éclair",
        "eclipse",
        "Echo",
        "arrêt",
        "Arret",
        "echo",
    ]
    frame = make_frame([{"id": f"t{i}", "task_name": n} for i, n in enumerate(names)])
    grid = TaskGrid(frame)
    grid.sort = [{"column": "task_name", "descending": False}]
    shown = [frame.loc[i, "task_name"] for i in grid.visible_ids]
    # Letters first; then accents ("Arret" before "arrêt"); then case, lower first (as ICU).
    assert shown == [
        "apagado",
        "Arret",
        "arrêt",
        "echo",
        "Echo",
        "éclair",
        "eclipse",
        "Nachtabschaltung",
        "Zulu",
    ]
    grid.sort = [{"column": "task_name", "descending": True}]
    assert next(frame.loc[i, "task_name"] for i in grid.visible_ids) == "Zulu"
