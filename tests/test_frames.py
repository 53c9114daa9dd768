"""wsnb.frames: the schema, vectorized time parsing, the fetch-and-convert calls, filters.

Listing itself (pages, restarts, filters pushed down) is tested in ``test_listing.py``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from wsnb import frames
from wsnb._time import parse_api_time
from wsnb.emulator import Emulator
from wsnb.frames import (
    TASK_COLUMNS,
    disabled,
    expired,
    last_failed,
    name_matches,
    next_run_between,
    of_type,
    records_frame,
    tasks_frame,
    tasks_to_frame,
)

TIMES = [
    ("2026-03-01 08:00:00", "Asia/Shanghai"),
    ("2026-03-01 08:00:00 GMT+08:00", "Europe/Paris"),  # the suffix wins over the zone
    ("2026-03-01T00:00:00Z", "Asia/Shanghai"),
    ("2026-03-01T09:30:00+09:30", None),
    ("2026-03-01 08:00:00", "GMT+8"),
    ("2026-11-01 01:30:00", "America/New_York"),  # ambiguous (DST ends): fold=0
    ("2026-03-01", "UTC"),
    ("2026-03-01 08:00:00", None),  # default zone: Asia/Shanghai
    (None, "UTC"),
    ("", "UTC"),
]


def _task(i: int, **kw: Any) -> dict[str, Any]:
    return {"id": f"t-{i}", "task_name": f"task {i}", "task_type": "STOP", **kw}


def test_schema_exactly() -> None:
    frame = tasks_to_frame([_task(1, enable=True, priority=3), _task(2)])
    assert frame.index.name == "task_id"
    assert str(frame.index.dtype) == "string"
    assert list(frame.columns) == list(TASK_COLUMNS)
    for name, dtype in TASK_COLUMNS.items():
        assert str(frame[name].dtype) == dtype, name
    assert frame.loc["t-1", "priority"] == 3
    assert frame["priority"].isna()["t-2"]
    assert list(frame["task_type"].cat.categories[:2]) == ["START", "STOP"]


def test_empty_listing_keeps_the_schema() -> None:
    frame = tasks_to_frame([])
    assert list(frame.columns) == list(TASK_COLUMNS)
    assert str(frame["expire_time"].dtype) == "datetime64[ns, UTC]"


def test_times_match_the_scalar_parser() -> None:
    items = [_task(i, next_execution_time=v, time_zone=z) for i, (v, z) in enumerate(TIMES)]
    frame = tasks_to_frame(items)
    for i, (value, tz) in enumerate(TIMES):
        expected = parse_api_time(value, tz)
        got = frame["next_execution_time"].iloc[i]
        if expected is None:
            assert pd.isna(got), value
        else:
            assert got == pd.Timestamp(expected).tz_convert("UTC"), (value, tz)
    assert frame["next_execution_time"].iloc[0] == pd.Timestamp("2026-03-01 00:00", tz="UTC")
    assert frame["next_execution_time"].iloc[1] == pd.Timestamp("2026-03-01 00:00", tz="UTC")


def test_unknown_zone_warns_and_leaves_times_empty() -> None:
    with pytest.warns(UserWarning, match="Mars/Olympus"):
        frame = tasks_to_frame(
            [_task(1, expire_time="2026-01-01 00:00:00", time_zone="Mars/Olympus")]
        )
    assert pd.isna(frame["expire_time"].iloc[0])


def test_async_listing(emulator: Emulator) -> None:
    ids = emulator.control.seed(70, seed=3)

    async def main() -> pd.DataFrame:
        async with emulator.async_client(rate_limit=None) as client:
            return await frames.atasks_frame(client)

    assert set(asyncio.run(main()).index) == set(ids)
    client = emulator.async_client(rate_limit=None)
    try:
        with pytest.raises(TypeError, match="atasks_frame"):
            tasks_frame(client)  # type: ignore[arg-type]
    finally:
        asyncio.run(client.aclose())


def test_records_frame(emulator: Emulator) -> None:
    ids = emulator.control.seed(3, seed=4)
    emulator.control.tick(task_ids=[ids[0]], status="FAIL")
    with emulator.client(rate_limit=None) as client:
        records = records_frame(client, ids[0])
    assert records.index.name == "record_id"
    assert len(records) >= 1
    assert str(records["start_time"].dtype) == "datetime64[ns, UTC]"
    assert "FAIL" in set(records["status"].astype(str))


def test_filter_helpers() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    frame = tasks_to_frame(
        [
            _task(
                1,
                expire_time="2026-01-01 00:00:00",
                time_zone="UTC",
                enable=False,
                last_status="FAIL",
                next_execution_time="2026-06-02 00:00:00",
            ),
            _task(
                2,
                task_type="REBOOT",
                task_name="Nightly Reboot",
                enable=True,
                time_zone="UTC",
                next_execution_time="2026-07-01 00:00:00",
            ),
            _task(3, task_type="START"),
        ]
    )
    assert list(expired(frame, now=now)) == [True, False, False]
    assert list(disabled(frame)) == [True, False, False]
    assert list(last_failed(frame)) == [True, False, False]
    assert list(name_matches(frame, "reboot")) == [False, False, False]
    assert list(name_matches(frame, "reboot", case=False)) == [False, True, False]
    assert list(name_matches(frame, r"^task \d$", regex=True)) == [True, False, True]
    assert list(next_run_between(frame, "2026-06-01", "2026-06-30")) == [True, False, False]
    assert list(next_run_between(frame, start="2026-06-15")) == [False, True, False]
    assert list(of_type(frame, "REBOOT", "START")) == [False, True, True]
    combined = frame[disabled(frame) | of_type(frame, "START")]
    assert list(combined.index) == ["t-1", "t-3"]
    with pytest.raises(ValueError, match="unknown task_type"):
        of_type(frame, "EXPLODE")
