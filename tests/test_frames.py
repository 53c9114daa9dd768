"""wsnb.frames: the schema, vectorized time parsing, the fetch-and-convert calls, filters.

Listing itself (pages, restarts, filters pushed down) is tested in ``test_listing.py``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from tests.conftest import PROFILE_NAMES, task_body
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
    ("2026-03-29 02:30:00", "Europe/Berlin"),  # does not exist (DST starts): moved by the gap
    ("2026-03-29 02:30:00.25", "Europe/Berlin"),
    ("2026-10-04 02:15:00", "Australia/Lord_Howe"),  # a 30-minute DST gap
    ("2026-03-01T00:00:00.123456789Z", None),  # nanoseconds: truncated to microseconds
    ("2026-03-01 08:00:00.9999999", "Asia/Shanghai"),
    ("1969-12-31T23:59:59.9999999Z", None),  # before the epoch: truncated, not rounded
    ("2026-03-01T08:00:00.000Z", "Asia/Shanghai"),  # records details on the live service
    ("2026-03-01T16:00:00+08:00", "UTC"),  # records' start_time on the live service
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


@pytest.mark.parametrize(
    ("value", "zone", "utc"),
    [
        # a wall-clock time skipped by DST is read with the offset before the jump, i.e. moved
        # later by the gap (Python's fold=0; Java's ZonedDateTime.of, the service's language)
        ("2026-03-29 02:30:00", "Europe/Berlin", "2026-03-29 01:30:00"),
        ("2026-03-08 02:30:00", "America/New_York", "2026-03-08 07:30:00"),
        ("2026-10-04 02:15:00", "Australia/Lord_Howe", "2026-10-03 15:45:00"),
        # a repeated wall-clock time is the first of the two (fold=0: summer time)
        ("2026-10-25 02:30:00", "Europe/Berlin", "2026-10-25 00:30:00"),
        # sub-microsecond digits are dropped (datetime's precision), never rounded up
        ("2026-03-01T00:00:00.123456789Z", None, "2026-03-01 00:00:00.123456"),
        ("1969-12-31T23:59:59.9999999Z", None, "1969-12-31 23:59:59.999999"),
    ],
)
def test_one_rule_for_skipped_repeated_and_sub_microsecond_times(
    value: str, zone: str | None, utc: str
) -> None:
    expected = pd.Timestamp(utc, tz="UTC")
    scalar = parse_api_time(value, zone)
    assert scalar is not None and pd.Timestamp(scalar).tz_convert("UTC") == expected
    frame = tasks_to_frame([_task(1, next_execution_time=value, time_zone=zone)])
    assert frame["next_execution_time"].iloc[0] == expected


def test_unknown_zone_warns_and_leaves_times_empty() -> None:
    with pytest.warns(UserWarning, match="Mars/Olympus"):
        frame = tasks_to_frame(
            [_task(1, expire_time="2026-01-01 00:00:00", time_zone="Mars/Olympus")]
        )
    assert pd.isna(frame["expire_time"].iloc[0])


def test_a_frame_converted_in_parts_equals_one_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """tasks_frame converts the listing in parts as pages arrive: the result is the frame one
    conversion of all the tasks gives, categories (known, then the parts' extras sorted),
    dtypes, order and times included."""
    items: list[Any] = [
        _task(i, task_type=["STOP", "ZAP", "REBOOT", "AAA"][i % 4] if i > 9 else "STOP",
              last_status=None if i % 3 else "FAIL", priority=i if i % 2 else None,
              expire_time=TIMES[i % len(TIMES)][0], time_zone=TIMES[i % len(TIMES)][1])
        for i in range(53)
    ]  # fmt: skip
    monkeypatch.setattr(frames, "PART_SIZE", 7)
    parts = frames._Parts()
    for start in range(0, len(items), 5):
        parts(items[start : start + 5])
    assert len(parts.parts) > 3
    whole = tasks_to_frame(items)
    got = parts.frame()
    pd.testing.assert_frame_equal(got, whole)
    assert list(got["task_type"].cat.categories[-2:]) == ["AAA", "ZAP"]
    pd.testing.assert_frame_equal(frames._Parts().frame(), tasks_to_frame([]))


def test_tasks_frame_in_parts_over_the_wire(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = emulator.control.seed(260, seed=5)
    with emulator.client(rate_limit=None) as client:
        whole = tasks_frame(client)
        monkeypatch.setattr(frames, "PART_SIZE", 30)
        parted = tasks_frame(client)
    assert set(whole.index) == set(ids)
    pd.testing.assert_frame_equal(parted, whole)


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


def _last_sunday_of_march(year: int) -> int:
    day = 31
    while datetime(year, 3, day).weekday() != 6:
        day -= 1
    return day


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_time_columns_and_filters_end_to_end(emulator: Emulator, profile: str) -> None:
    """Tasks with known times, listed under each profile (``live``: ``next_execution_time`` with
    a ``GMT+hh:mm`` suffix): every time column is the same instant, and ``expired`` /
    ``next_run_between`` select exactly the right rows."""
    year = datetime.now(UTC).year + 1
    gap = f"{year}-03-{_last_sunday_of_march(year):02d}"  # Berlin skips 02:00-03:00 that day
    # name: (time_zone, scheduled_date, scheduled_time, expire_time)
    cases = {
        "shanghai": ("Asia/Shanghai", f"{year}-06-01", "08:00:00", None),
        "berlin-summer": ("Europe/Berlin", f"{year}-07-01", "08:00:00", f"{year}-12-31 00:00:00"),
        "berlin-winter": ("Europe/Berlin", f"{year}-01-15", "23:30:00", None),
        "berlin-gap": ("Europe/Berlin", gap, "02:30:00", None),
        "sao-paulo": ("America/Sao_Paulo", f"{year}-06-01", "21:00:00", None),  # 00:00Z
        "offset": ("GMT-3", f"{year}-06-01", "22:00:00", None),
        "utc": ("UTC", f"{year}-06-02", "01:00:00", None),
        "expired": ("Asia/Shanghai", f"{year}-06-01", "08:00:00", "2020-01-01 12:00:00"),
    }
    with emulator.client(rate_limit=None) as client:
        for name, (zone, day, at, expire) in cases.items():
            client.create_task(
                task_body(
                    task_name=name,
                    scheduled_type="FIXED_TIME",
                    scheduled_date=day,
                    scheduled_time=at,
                    day_interval=None,
                    time_zone=zone,
                    expire_time=expire,
                )
            )
        frame = tasks_frame(client).set_index("task_name")
        listed = {t["task_name"]: t for t in client.list_tasks()}
    suffixed = listed["berlin-summer"]["next_execution_time"].endswith(" GMT+02:00")
    assert suffixed == (profile == "live")

    def utc(zone: str, text: str) -> pd.Timestamp:
        moment = parse_api_time(text, zone)  # the one rule (DST gap: moved later by the gap)
        assert moment is not None
        return pd.Timestamp(moment).tz_convert("UTC")

    for name, (zone, day, at, expire) in cases.items():
        got: Any = frame.loc[name, "next_execution_time"]
        if name == "expired":
            assert pd.isna(got)
        else:
            assert got == utc(zone, f"{day} {at}"), (name, listed[name]["next_execution_time"])
        if expire:
            assert frame.loc[name, "expire_time"] == utc(zone, expire)
    assert frame.loc["shanghai", "next_execution_time"] == pd.Timestamp(f"{year}-06-01 00:00Z")
    assert frame.loc["berlin-gap", "next_execution_time"] == pd.Timestamp(f"{gap} 01:30Z")
    assert frame.loc["offset", "next_execution_time"] == pd.Timestamp(f"{year}-06-02 01:00Z")

    def rows(mask: pd.Series) -> set[str]:
        return set(frame.index[mask.to_numpy()])

    june = next_run_between(frame, f"{year}-06-01", f"{year}-06-02 01:00")
    assert rows(june) == {"shanghai", "sao-paulo"}  # 01:00Z (offset, utc) is the open end
    assert rows(next_run_between(frame, f"{year}-06-02 01:00", f"{year}-06-02 01:00:01")) == {
        "offset",
        "utc",
    }
    assert rows(expired(frame, now=f"{year}-06-01")) == {"expired"}
    assert rows(expired(frame, now=f"{year}-12-30 23:00")) == {"expired", "berlin-summer"}
    assert rows(expired(frame, now=f"{year}-12-30 22:59:59")) == {"expired"}
