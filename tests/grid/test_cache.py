"""The grid engine's caches: the byte-level text index, search masks per needle, full orders per
sort, the last filter result and its counts, column values converted once, and the engine a
deletion derives from the shown one (``FrameEngine.subset``).

Every cached answer is compared with the same question asked of a fresh engine or of plain
pandas, and every change of frame, filter, search or selection must show through at once: no
stale rows, counts or selection figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.grid.conftest import Browser, make_frame
from wsnb.grid import MAX_PAGE_SIZE, TaskGrid
from wsnb.grid._engine import (
    _CACHED_ORDERS,
    _CACHED_SEARCHES,
    DATE_COLUMNS,
    FrameEngine,
    _TextIndex,
    _zone_or_utc,
)
from wsnb.grid._sample import sample_tasks_frame

SORTS: list[list[tuple[str, bool]]] = [
    [],
    [("task_name", False)],
    [("task_name", True)],
    [("next_execution_time", True), ("task_type", False)],
    [("task_id", False)],
    [("last_status", True), ("expire_time", False)],
]
FILTERS: list[dict[str, Any]] = [
    {},
    {"task_type": ["REBOOT", "STOP"]},
    {"last_status": ["FAIL", None], "enable": [True]},
    {"next_execution_time": {"from": "2026-03-01", "to": "2026-09-30"}},
]
QUERIES = ["", "patch", "0000a", "NIGHTLY", "-00"]


def _scan(frame: pd.DataFrame, needle: str) -> list[str]:
    """The rows containing ``needle`` in id, name or description: a plain per-row scan."""
    wanted = needle.strip().lower().replace("\x1f", "").replace("\x00", "")
    found = []
    for tid, name, description in zip(
        frame.index, frame["task_name"], frame["description"], strict=True
    ):
        fields = [
            str(tid),
            "" if pd.isna(name) else name,
            "" if pd.isna(description) else description,
        ]
        if any(wanted in f.replace("\x00", "").lower() for f in fields):
            found.append(str(tid))
    return found


@pytest.mark.parametrize(
    "needle", ["é", "ÉCLAIR", "straße", "İ", "x", "\ud800", "a\x00b", "ab", "日本", "ß", "y"]
)
def test_the_byte_index_finds_what_a_per_row_scan_finds(needle: str) -> None:
    rows: list[dict[str, Any]] = [
        {"id": "a1", "task_name": "Éclair", "description": "straße"},
        {"id": "a2", "task_name": "İstanbul", "description": None},
        {"id": "a3", "task_name": "a\x00b", "description": "x"},  # a NUL is not a row boundary
        {"id": "a4", "task_name": "日本語", "description": "y"},
        {"id": "a5", "task_name": "lone \ud800 half", "description": ""},
        {"id": "a6", "task_name": "plain", "description": "ab"},
    ]
    if not _holds("\ud800"):  # pyarrow-backed strings (pandas 3 with pyarrow) refuse a lone
        rows = [r for r in rows if r["id"] != "a5"]  # surrogate: no frame can carry that row
    frame = make_frame(rows)
    grid = TaskGrid(frame)
    grid.query = needle
    assert grid.filtered.index.tolist() == _scan(frame, needle)


def _holds(text: str) -> bool:
    """Whether this pandas' string dtype can store ``text``."""
    try:
        pd.array([text], dtype="string")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def test_the_text_index_keeps_row_boundaries_and_subsets_byte_for_byte() -> None:
    parts = [["id1", "id2", "id3", "id4"], ["Alpha", "", "ünï", "x\x00y"], ["d1", "d2", "", "z"]]
    index = _TextIndex.build(parts)
    assert index.starts.tolist()[0] == 0 and len(index.starts) == 4
    assert index.find("alpha").tolist() == [True, False, False, False]
    assert index.find("xy").tolist() == [False, False, False, True]  # the NUL was dropped
    assert not index.find("d1id2").any() and not index.find("alphad1").any()
    keep = np.array([False, True, True, False])
    part = index.subset(keep)
    fresh = _TextIndex.build([[v for v, k in zip(p, keep, strict=True) if k] for p in parts])
    assert part.text.tobytes() == fresh.text.tobytes()
    assert part.starts.tolist() == fresh.starts.tolist()
    assert part.find("ün").tolist() == [False, True]
    assert _TextIndex.build([[], [], []]).find("a").tolist() == []


def test_cached_searches_and_orders_are_bounded_read_only_and_still_right() -> None:
    frame = sample_tasks_frame(2_000, seed=3)
    engine = FrameEngine(frame)
    needles = [f"-{i:03d}" for i in range(_CACHED_SEARCHES + 5)]
    for needle in needles:
        engine.search(needle)
    assert len(engine._found) == _CACHED_SEARCHES
    first = engine.search(needles[0])  # evicted, then found again
    assert frame.index[first].tolist() == _scan(frame, needles[0])
    with pytest.raises(ValueError, match="read-only"):
        first[0] = not first[0]  # a caller cannot corrupt the cached mask
    all_rows = np.ones(engine.n, dtype=bool)
    for i in range(_CACHED_ORDERS + 3):
        engine.order(all_rows, [("task_id", bool(i % 2)), ("task_name", i % 3 == 0)])
    assert len(engine._orders) <= _CACHED_ORDERS


@pytest.mark.parametrize("sort", SORTS)
def test_cached_orders_under_any_mask_equal_a_fresh_lexsort(sort: list[tuple[str, bool]]) -> None:
    frame = sample_tasks_frame(3_000, seed=5)
    engine = FrameEngine(frame)
    rng = np.random.default_rng(1)
    for _ in range(3):  # the same sort under different masks: one cached full order
        mask = rng.random(engine.n) < 0.4
        positions = np.flatnonzero(mask)
        if sort:
            keys: list[Any] = []
            for column, descending in reversed(sort):
                key = engine._sort_key(column)[positions]
                keys += [-key if descending else key, key < 0]
            positions = positions[np.lexsort(keys)]
        assert engine.order(mask, sort).tolist() == positions.tolist()


def test_the_kept_filter_result_follows_every_filter_search_and_selection_change() -> None:
    frame = sample_tasks_frame(4_000, seed=9)
    grid = TaskGrid(frame, page_size=MAX_PAGE_SIZE)
    browser = Browser(grid)
    seen: dict[str, tuple[list[str], dict[str, list[int]]]] = {}
    for round_ in range(2):  # the second round is answered from the caches
        for filters in FILTERS:
            for query in ("", "patch"):
                browser.set(filters=filters, query=query)
                fresh = TaskGrid(frame, page_size=MAX_PAGE_SIZE)
                fresh.filters, fresh.query = filters, query
                assert grid.filtered.index.tolist() == fresh.filtered.index.tolist()
                assert grid.filter_counts == fresh.filter_counts
                key = repr((filters, query))
                shown = (grid.filtered.index.tolist(), grid.filter_counts)
                if round_:
                    assert seen[key] == shown
                seen[key] = shown
    # The selection is not part of any cache: its counts move with every click.
    browser.set(filters={"task_type": ["REBOOT"]}, query="")
    browser.act("select_matching")
    reboots = int((frame["task_type"] == "REBOOT").sum())
    assert grid.selected_count == grid.matching_selected == reboots
    browser.set(filters={"task_type": ["STOP"]})
    assert grid.matching_selected == 0 and grid.selected_count == reboots
    browser.set(filters={"task_type": ["REBOOT"]})  # the kept result for this filter again
    browser.click(browser.shown[0])
    assert grid.matching_selected == reboots - 1 == grid.selected_count
    assert not grid.rows[0]["selected"] and all(r["selected"] for r in grid.rows[1:])


def test_refresh_never_shows_the_previous_frames_search_order_or_selection() -> None:
    frame = make_frame(
        [{"id": f"t{i}", "task_name": f"patch-{i}" if i % 2 else f"other-{i}"} for i in range(8)]
    )
    grid = TaskGrid(frame)
    browser = Browser(grid)
    browser.set(query="patch", sort=[{"column": "task_name", "descending": True}])
    browser.act("select_matching")
    assert browser.shown == ["t7", "t5", "t3", "t1"] and grid.selected_count == 4
    changed = frame.copy()
    changed["task_name"] = [f"patch-{i}" if i % 2 == 0 else f"zzz-{i}" for i in range(8)]
    grid.refresh(changed.drop(index=["t0"]))
    assert browser.shown == ["t6", "t4", "t2"]  # the new frame's names, searched and sorted
    assert grid.matching == 3 and grid.total == 7
    assert grid.selected_ids == ["t1", "t3", "t5", "t7"]  # still selected, now hidden
    assert grid.selected_count == 4 and grid.matching_selected == 0
    assert not any(r["selected"] for r in grid.rows)


def _view(engine: FrameEngine, filters: dict[str, Any], query: str, sort: Any) -> Any:
    parsed = engine.parse_filters(filters)
    mask, counts = engine.match_and_count(parsed, query, engine.facets)
    order = engine.order(mask, sort)
    selected = np.zeros(engine.n, dtype=bool)
    selected[order[::3]] = True
    return engine.ids[order].tolist(), counts, engine.records(order[:40], selected)


def test_a_subset_engine_answers_like_a_fresh_engine_on_the_remaining_rows() -> None:
    frame = sample_tasks_frame(3_000, seed=21)
    parent = FrameEngine(frame)
    parent.warm()
    for query in QUERIES:  # the parent's caches are full before it is cut
        for filters in FILTERS:
            _view(parent, filters, query, [("task_name", False)])
    keep = np.random.default_rng(4).random(parent.n) < 0.7
    derived, fresh = parent.subset(keep), FrameEngine(frame[keep])
    assert derived.n == fresh.n == int(keep.sum())
    assert derived.ids.tolist() == fresh.ids.tolist()
    assert derived.frame.index.equals(fresh.frame.index)
    for query in QUERIES:
        for filters in FILTERS:
            for sort in SORTS[:4]:
                assert _view(derived, filters, query, sort) == _view(fresh, filters, query, sort)
    gone = str(frame.index[~keep][0])
    assert derived.position_of(gone) is None
    assert derived.position_of(str(fresh.ids[5])) == 5
    with pytest.raises(ValueError, match="one flag per row"):
        parent.subset(keep[:-1])


def test_a_subset_of_a_fleet_frame_with_history_keeps_keys_counts_and_facets() -> None:
    from wsnb.grid._sample import sample_fleet_frame, sample_history

    frame = sample_history(
        sample_fleet_frame(
            {"p1": "cn-north-4", "p2": "cn-east-3", "p3": "cn-north-4"}, 600, shared_ids=50
        ),
        records=4,
    )
    parent = FrameEngine(frame)
    parent.warm()
    _view(parent, {"region": [parent.enum_values("region")[0]]}, "", [("recent_outcomes", True)])
    projects = frame.index.get_level_values("project_id")
    keep = np.asarray(projects != "p2")  # a whole project gone: its facet value disappears
    derived, fresh = parent.subset(keep), FrameEngine(frame[keep])
    assert derived.enum_values("project_id") == fresh.enum_values("project_id")
    assert "p2" not in derived.enum_values("project_id")
    assert derived.history_records == fresh.history_records
    facets = [*fresh.facets, "history"]
    for filters in ({}, {"history": {"failed_last": 2}}, {"project_id": ["p3"]}):
        for sort in ([("recent_outcomes", True)], [("project_id", False), ("task_id", True)]):
            got = derived.match_and_count(derived.parse_filters(filters), "", facets)
            want = fresh.match_and_count(fresh.parse_filters(filters), "", facets)
            assert got[1] == want[1]
            order = derived.order(got[0], sort)
            assert derived.ids[order].tolist() == fresh.ids[fresh.order(want[0], sort)].tolist()
            assert derived.records(order[:20], got[0]) == fresh.records(order[:20], want[0])


def test_page_rows_format_like_pandas(big: pd.DataFrame) -> None:
    """The rows gathered from the once-converted columns read as pandas formats them."""
    frame = big.copy()
    frame.loc[frame.index[:7], "enable"] = pd.NA
    frame.loc[frame.index[3:9], "task_name"] = pd.NA
    grid = TaskGrid(frame, page_size=40)
    for row in grid.rows:
        source = frame.loc[row["id"]]
        assert row["task_name"] == ("" if pd.isna(source["task_name"]) else source["task_name"])
        assert row["enable"] == (
            "" if pd.isna(source["enable"]) else ("yes" if source["enable"] else "no")
        )
        assert row["task_type"] == str(source["task_type"])
        for column in (c for c in DATE_COLUMNS if c in frame.columns):
            stamp = source[column]
            if pd.isna(stamp):
                assert row[column] == row[column + "_utc"] == ""
                continue
            zone = _zone_or_utc("" if pd.isna(source["time_zone"]) else source["time_zone"])
            assert row[column + "_utc"] == stamp.strftime("%Y-%m-%d %H:%M UTC")
            assert row[column] == stamp.tz_convert(zone).strftime("%Y-%m-%d %H:%M")


def test_subsets_of_subsets_find_every_key_and_refuse_the_deleted_ones() -> None:
    """An engine made by ``subset`` keeps the first engine's key lookup and maps positions;
    after two deletions every remaining key must land on its row, every deleted one be unknown."""
    frame = sample_tasks_frame(1_000, seed=8)
    first = FrameEngine(frame)
    rng = np.random.default_rng(2)
    keep1 = rng.random(first.n) < 0.8
    second = first.subset(keep1)
    keep2 = rng.random(second.n) < 0.5
    third = second.subset(keep2)
    fresh = FrameEngine(frame[keep1][keep2])
    ids = fresh.ids.tolist()
    assert third.positions_of(ids).tolist() == list(range(len(ids)))
    assert [third.position_of(k) for k in ids[:50]] == list(range(50))
    gone = [str(k) for k in second.ids[~keep2][:3]] + [str(first.ids[~keep1][0])]
    assert all(third.position_of(k) is None for k in gone)
    assert second.position_of(gone[0]) is not None  # still in the middle frame
    with pytest.raises(KeyError, match="unknown task ids") as raised:
        third.positions_of([ids[0], *gone, "nope"])
    assert gone[0] in str(raised.value) and ids[0] not in str(raised.value)
    grid = TaskGrid(frame)
    grid.select(list(third.ids[:5]))
    grid._refresh(third)  # what the panel does after a deletion
    assert grid.selected_ids == ids[:5] and grid.selected_count == 5
    grid.toggle(ids[7])
    assert grid.selected_ids == [*ids[:5], ids[7]]
