"""``next_execution_time`` and the future-executions preview, with a fixed "now"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsnb.emulator._schedule import executions, next_execution, resolve_zone

# 2026-03-04 02:00 UTC = 10:00 in Shanghai, a Wednesday
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def cfg(**kw: Any) -> dict[str, Any]:
    return {"time_zone": "Asia/Shanghai", "scheduled_time": "09:00:00", **kw}


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (cfg(scheduled_type="FIXED_TIME", scheduled_date="2026-03-04"), None),  # 09:00 passed
        (cfg(scheduled_type="FIXED_TIME", scheduled_date="2026-03-05"), "2026-03-05 09:00:00"),
        (cfg(scheduled_type="DAY", day_interval=1), "2026-03-05 09:00:00"),
        (
            cfg(scheduled_type="DAY", day_interval=1, scheduled_time="12:00:00"),
            "2026-03-04 12:00:00",
        ),
        (cfg(scheduled_type="WEEK", week_list="1"), "2026-03-08 09:00:00"),  # 1 = Sunday
        (
            cfg(scheduled_type="WEEK", week_list="4"),
            "2026-03-11 09:00:00",
        ),  # Wednesday, passed today
        (cfg(scheduled_type="WEEK", week_list="5,7"), "2026-03-05 09:00:00"),  # Thursday
        (cfg(scheduled_type="MONTH", month_list="3", date_list="L"), "2026-03-31 09:00:00"),
        (cfg(scheduled_type="MONTH", month_list="2", date_list="30"), None),  # never exists
        (cfg(scheduled_type="MONTH", month_list="2,4", date_list="1,31"), "2026-04-01 09:00:00"),
        (cfg(scheduled_type="LIFE_CYCLE", life_cycle_type="POST_DESKTOP_DISCONNECTED"), None),
        (cfg(scheduled_type="DAY", day_interval=1, enable=False), None),
        (cfg(scheduled_type="DAY", day_interval=1, expire_time="2026-03-05 08:59:59"), None),
        (
            cfg(scheduled_type="DAY", day_interval=1, expire_time="2026-03-05 09:00:00"),
            "2026-03-05 09:00:00",
        ),
        (cfg(scheduled_type="DAY", day_interval=1, time_zone="UTC"), "2026-03-04 09:00:00"),
        (cfg(scheduled_type="DAY", day_interval=1, time_zone="GMT-05:00"), "2026-03-04 09:00:00"),
    ],
)
def test_next_execution(schedule: dict[str, Any], expected: str | None) -> None:
    assert next_execution(schedule, NOW, anchor=date(2026, 3, 1)) == expected


def test_day_interval_counts_from_the_anchor() -> None:
    schedule = cfg(scheduled_type="DAY", day_interval=7)
    assert next_execution(schedule, NOW, anchor=date(2026, 3, 1)) == "2026-03-08 09:00:00"
    assert next_execution(schedule, NOW, anchor=date(2026, 2, 26)) == "2026-03-05 09:00:00"
    runs = executions(schedule, NOW, count=3, anchor=date(2026, 3, 1))
    assert runs == ["2026-03-08 09:00:00", "2026-03-15 09:00:00", "2026-03-22 09:00:00"]


def test_month_last_day_and_leap_years() -> None:
    schedule = cfg(scheduled_type="MONTH", month_list="2", date_list="29,L")
    assert executions(schedule, NOW, count=3) == [
        "2027-02-28 09:00:00",
        "2028-02-29 09:00:00",  # 29 and L are the same day: once
        "2029-02-28 09:00:00",
    ]


def test_preview_stops_at_expire_time() -> None:
    schedule = cfg(scheduled_type="DAY", day_interval=1, expire_time="2026-03-06 23:00:00")
    assert executions(schedule, NOW, count=5) == ["2026-03-05 09:00:00", "2026-03-06 09:00:00"]


def test_dst_zone_uses_wall_clock() -> None:
    berlin = cfg(scheduled_type="DAY", day_interval=1, time_zone="Europe/Berlin")
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # the day before the switch
    assert executions(berlin, now, count=2) == ["2026-03-29 09:00:00", "2026-03-30 09:00:00"]


@pytest.mark.parametrize(
    ("name", "offset"),
    [("GMT+8", 8), ("GMT+08:00", 8), ("UTC-3", -3), ("gmt+0530", 5.5), ("UTC", 0)],
)
def test_resolve_offset_zones(name: str, offset: float) -> None:
    zone = resolve_zone(name)
    assert zone is not None
    assert zone.utcoffset(None) == timedelta(hours=offset) or isinstance(zone, timezone)
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize("name", ["Mars/Olympus", "GMT+15", "../etc/passwd"])
def test_resolve_rejects_unknown_zones(name: str) -> None:
    assert resolve_zone(name) is None


_weekdays = st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True)
_months = st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True)
_dates = st.lists(st.one_of(st.integers(1, 31), st.just("L")), min_size=1, max_size=5, unique=True)
_moments = st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1), timezones=st.just(UTC))


@given(weekdays=_weekdays, now=_moments)
def test_week_runs_fall_on_listed_days_in_order(weekdays: list[int], now: datetime) -> None:
    schedule = cfg(scheduled_type="WEEK", week_list=",".join(map(str, weekdays)))
    runs = [datetime.fromisoformat(r) for r in executions(schedule, now, count=5)]
    local_now = now.astimezone(resolve_zone("Asia/Shanghai")).replace(tzinfo=None)
    assert len(runs) == 5 and runs == sorted(set(runs)) and runs[0] > local_now
    assert all((r.weekday() + 1) % 7 + 1 in weekdays for r in runs)
    assert runs[0] - local_now <= timedelta(days=7)


@given(months=_months, dates=_dates, now=_moments)
def test_month_runs_fall_on_listed_months_and_days(
    months: list[int], dates: list[int | str], now: datetime
) -> None:
    schedule = cfg(
        scheduled_type="MONTH",
        month_list=",".join(map(str, months)),
        date_list=",".join(map(str, dates)),
    )
    runs = [datetime.fromisoformat(r) for r in executions(schedule, now, count=4)]
    assert runs == sorted(set(runs))
    for run in runs:
        last = (run.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert run.month in months
        assert run.day in dates or ("L" in dates and run.day == last.day)


_schedules = st.one_of(
    st.builds(
        lambda d: cfg(scheduled_type="DAY", day_interval=d),
        st.integers(1, 10),
    ),
    st.builds(
        lambda w: cfg(scheduled_type="WEEK", week_list=",".join(map(str, w))),
        _weekdays,
    ),
    st.builds(
        lambda m, d: cfg(
            scheduled_type="MONTH",
            month_list=",".join(map(str, m)),
            date_list=",".join(map(str, d)),
        ),
        _months,
        _dates,
    ),
    st.builds(
        lambda d: cfg(scheduled_type="FIXED_TIME", scheduled_date=d.isoformat()),
        st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    ),
)


@given(
    schedule=_schedules,
    zone=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]),
    expire=st.one_of(st.none(), st.sampled_from(["2026-06-01 00:00:00", "2026-11-01 01:30:00"])),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 1), timezones=st.just(UTC)),
    steps=st.lists(st.integers(-3 * 3600, 40 * 86400), min_size=1, max_size=8),
)
def test_remembered_next_execution_equals_a_fresh_one(
    schedule: dict[str, Any], zone: str, expire: str | None, start: datetime, steps: list[int]
) -> None:
    """``next_execution`` remembers its answers (a list page asks for 50 at a time): whatever
    "now" does (forwards, backwards, across DST changes), the answer is the computed one."""
    schedule = {**schedule, "time_zone": zone, "expire_time": expire}
    anchor = date(2026, 1, 1)
    now = start
    for step in steps:
        now += timedelta(seconds=step)
        fresh = executions(schedule, now, count=1, anchor=anchor)
        assert next_execution(schedule, now, anchor) == (fresh[0] if fresh else None)
