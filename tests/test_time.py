"""wsnb._time: time zones and every time format the API has been seen to send."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsnb._time import parse_api_time, zone

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLUS8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("name", "expected_offset"),
    [
        (None, timedelta(hours=8)),
        ("", timedelta(hours=8)),
        ("Asia/Shanghai", timedelta(hours=8)),
        ("GMT+8", timedelta(hours=8)),
        ("GMT+08:00", timedelta(hours=8)),
        ("UTC+8", timedelta(hours=8)),
        ("gmt+0800", timedelta(hours=8)),
        ("GMT-05:30", -timedelta(hours=5, minutes=30)),
        ("UTC", timedelta(0)),
        ("GMT", timedelta(0)),
        ("+05:45", timedelta(hours=5, minutes=45)),
        ("America/Sao_Paulo", -timedelta(hours=3)),
    ],
)
def test_zone_understands_names_and_offsets(name: str | None, expected_offset: timedelta) -> None:
    # 2025-01-15 has no DST in any of these zones.
    assert zone(name).utcoffset(datetime(2025, 1, 15, 12)) == expected_offset


def test_zone_iana_keeps_dst_rules() -> None:
    berlin = zone("Europe/Berlin")
    assert berlin.utcoffset(datetime(2025, 1, 15)) == timedelta(hours=1)
    assert berlin.utcoffset(datetime(2025, 7, 15)) == timedelta(hours=2)


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus", "GMT+15", "GMT+08:75", "not a zone", "a" * 2000],  # 2000: too long a path
)
def test_zone_rejects_unknown_names_clearly(name: str) -> None:
    with pytest.raises(ValueError, match="time_zone"):
        zone(name)


@pytest.mark.parametrize(
    ("value", "time_zone", "expected"),
    [
        ("2025-01-02 22:00:00", "Asia/Shanghai", datetime(2025, 1, 2, 22, tzinfo=SHANGHAI)),
        ("2025-01-02 22:00:00", None, datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02 22:00:00", "GMT+2", datetime(2025, 1, 2, 20, tzinfo=UTC)),
        ("2025-01-02 22:00", "UTC", datetime(2025, 1, 2, 22, tzinfo=UTC)),
        # the zone suffix wins over the task's zone
        ("2025-01-02 22:00:00 GMT+08:00", "UTC", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02 22:00:00GMT+08:00", "UTC", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02 22:00:00 UTC+8", "UTC", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02T14:00:00Z", "Asia/Shanghai", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02t14:00:00z", "Asia/Shanghai", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02T22:00:00+08:00", "UTC", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        ("2025-01-02T09:00:00-0500", "UTC", datetime(2025, 1, 2, 14, tzinfo=UTC)),
        (
            "2025-01-02T14:00:00.5Z",
            None,
            datetime(2025, 1, 2, 14, 0, 0, 500000, tzinfo=UTC),
        ),
        (
            "2025-01-02T14:00:00.123456789+00:00",
            None,
            datetime(2025, 1, 2, 14, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2025-01-02", "Asia/Shanghai", datetime(2025, 1, 2, tzinfo=SHANGHAI)),
        ("  2025-01-02 22:00:00  ", "UTC", datetime(2025, 1, 2, 22, tzinfo=UTC)),
    ],
)
def test_parse_api_time_formats(value: str, time_zone: str | None, expected: datetime) -> None:
    parsed = parse_api_time(value, time_zone)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


def test_parse_api_time_naive_values_carry_the_task_zone() -> None:
    parsed = parse_api_time("2025-07-01 08:00:00", "Europe/Berlin")
    assert parsed is not None
    assert parsed.tzinfo == ZoneInfo("Europe/Berlin")
    assert parsed.utcoffset() == timedelta(hours=2)


def test_parse_api_time_accepts_tzinfo_and_datetime_objects() -> None:
    assert parse_api_time("2025-01-02 22:00:00", PLUS8) == datetime(2025, 1, 2, 14, tzinfo=UTC)
    naive = datetime(2025, 1, 2, 22)
    assert parse_api_time(naive, "GMT+8") == datetime(2025, 1, 2, 14, tzinfo=UTC)
    aware = datetime(2025, 1, 2, 22, tzinfo=UTC)
    assert parse_api_time(aware, "GMT+8") is aware
    assert parse_api_time(date(2025, 1, 2), "UTC") == datetime(2025, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_parse_api_time_missing_is_none(value: str | None) -> None:
    assert parse_api_time(value, "Asia/Shanghai") is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("yesterday", "'yesterday'"),
        ("2025-13-01 00:00:00", "'2025-13-01 00:00:00'"),
        ("2025-02-30", "'2025-02-30'"),
        ("2025-01-02 25:00:00", "'2025-01-02 25:00:00'"),
        ("02/01/2025", "'02/01/2025'"),
        ("2025-01-02 22:00:00 Mars", "'2025-01-02 22:00:00 Mars'"),
        ("2025-01-02T22:00:00+15:00", "'+15:00'"),
        ("20250102T220000Z", "'20250102T220000Z'"),
    ],
)
def test_parse_api_time_garbage_raises_naming_the_value(value: str, named: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_api_time(value, "UTC")
    assert named in str(info.value)


def test_parse_api_time_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="str"):
        parse_api_time(20250102, "UTC")  # type: ignore[arg-type]


# naive: no zone, so no imaginary times (fixed offsets have no gaps either)
_naive = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda quarters: timezone(timedelta(minutes=15 * quarters))
)


@settings(deadline=None)  # a shared 2-core box: no per-example timing
@given(_naive, _offsets)
def test_round_trip_every_format_through_fixed_offsets(naive: datetime, tz: timezone) -> None:
    aware = naive.replace(tzinfo=tz)
    offset = tz.utcoffset(None)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hhmm = f"{minutes // 60:02d}:{minutes % 60:02d}"
    local = naive.strftime("%Y-%m-%d %H:%M:%S")
    assert parse_api_time(local, f"GMT{sign}{hhmm}") == aware
    assert parse_api_time(f"{local} GMT{sign}{hhmm}", "Asia/Shanghai") == aware
    assert parse_api_time(aware.isoformat(), "Asia/Shanghai") == aware
    assert parse_api_time(aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), None) == aware


@settings(deadline=None)  # a shared 2-core box: no per-example timing
@given(
    _naive, st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
)
def test_round_trip_local_strings_in_iana_zones(naive: datetime, name: str) -> None:
    parsed = parse_api_time(naive.strftime("%Y-%m-%d %H:%M:%S"), name)
    assert parsed is not None
    assert parsed.replace(tzinfo=None) == naive
    assert parsed.tzinfo == ZoneInfo(name)


# Every time shape evidenced for the live service (docs/reference live-api-evidence.md, section 3
# item 1): where it appears, the string, the task's zone, and the instant in UTC.
EVIDENCED = [
    # records' start_time: TF parses it with time.RFC3339
    ("records start_time, offset", "2026-11-30T08:00:00+08:00", "UTC", (2026, 11, 30, 0, 0, 0, 0)),
    ("records start_time, Z", "2026-11-30T08:00:00Z", "Asia/Shanghai", (2026, 11, 30, 8, 0, 0, 0)),
    # record details' start/end_time: TF parses with 2006-01-02T15:04:05.000Z
    ("details time", "2006-01-02T15:04:05.000Z", "Asia/Shanghai", (2006, 1, 2, 15, 4, 5, 0)),
    ("details ms", "2006-01-02T15:04:05.123Z", "UTC", (2006, 1, 2, 15, 4, 5, 123000)),
    # list next_execution_time: TF docs give 2006-01-02 15:04:05 GMT+08:00
    ("next_execution", "2026-11-30 15:04:05 GMT+08:00", "UTC", (2026, 11, 30, 7, 4, 5, 0)),
    ("next_execution", "2026-11-30 15:04:05 GMT-03:30", "UTC", (2026, 11, 30, 18, 34, 5, 0)),
    # the documented yyyy-MM-dd HH:mm:ss, local to the task's time_zone
    ("documented", "2026-11-30 15:04:05", "Asia/Shanghai", (2026, 11, 30, 7, 4, 5, 0)),
    ("documented", "2026-11-30 15:04:05", "GMT+08:00", (2026, 11, 30, 7, 4, 5, 0)),
    ("documented", "2026-11-30 15:04:05", None, (2026, 11, 30, 7, 4, 5, 0)),
    ("documented", "2026-07-01 15:04:05", "Europe/Berlin", (2026, 7, 1, 13, 4, 5, 0)),
]


@pytest.mark.parametrize(
    ("where", "value", "time_zone", "utc"), EVIDENCED, ids=[f"{w}: {v}" for w, v, *_ in EVIDENCED]
)
def test_every_evidenced_live_shape_parses(
    where: str, value: str, time_zone: str | None, utc: tuple[int, ...]
) -> None:
    parsed = parse_api_time(value, time_zone)
    assert parsed is not None and parsed.tzinfo is not None, where
    y, mo, d, h, mi, sec, us = utc
    expected = datetime(y, mo, d, h, mi, sec, us, tzinfo=UTC)
    assert parsed.astimezone(UTC) == expected
