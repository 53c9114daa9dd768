"""Occurrences of a task's schedule: ``next_execution_time`` and the future-executions preview.

All arithmetic is done in the task's own time zone on naive wall-clock times, the way the API
writes them (``yyyy-MM-dd HH:mm:ss``, local to ``time_zone``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from wsnb._time import zone as api_zone

TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
DEFAULT_ZONE: Final = "Asia/Shanghai"
#: How many entries the future-executions preview returns (undocumented; the APP API uses 5).
PREVIEW_COUNT: Final = 5
_MONTH_SCAN: Final = 12 * 30  # months scanned for MONTH schedules (covers 29 Feb)


def resolve_zone(name: str | None) -> tzinfo | None:
    """The zone of a ``time_zone`` value (IANA, ``GMT+8``…, see ``wsnb._time``); None if unknown."""
    try:
        return api_zone(name)
    except ValueError:
        return None


def _ints(value: Any) -> list[int]:
    return sorted({int(x) for x in str(value).split(",") if x.strip() and x.strip() != "L"})


def _occurrences(cfg: Mapping[str, Any], start: datetime, anchor: date) -> Iterator[datetime]:
    """Naive local occurrences of the schedule, in order, from ``start``'s date on."""
    kind = cfg.get("scheduled_type")
    at = time.fromisoformat(str(cfg.get("scheduled_time") or "00:00:00"))
    if kind == "FIXED_TIME":
        yield datetime.combine(date.fromisoformat(str(cfg["scheduled_date"])), at)
    elif kind == "DAY":
        interval = int(cfg.get("day_interval") or 1)
        first = start.date()
        behind = (first - anchor).days
        k = max(0, -(-behind // interval))  # ceil, never before the anchor
        day = anchor + timedelta(days=k * interval)
        while True:
            yield datetime.combine(day, at)
            day += timedelta(days=interval)
    elif kind == "WEEK":
        wanted = set(_ints(cfg.get("week_list", "")))  # 1 = Sunday … 7 = Saturday
        day = start.date()
        for _ in range(7 * 520):
            if (day.weekday() + 1) % 7 + 1 in wanted:
                yield datetime.combine(day, at)
            day += timedelta(days=1)
    elif kind == "MONTH":
        months = set(_ints(cfg.get("month_list", "")))
        raw = str(cfg.get("date_list", ""))
        days = _ints(raw)
        last = "L" in [x.strip() for x in raw.split(",")]
        year, month = start.year, start.month
        for _ in range(_MONTH_SCAN):
            if month in months:
                size = calendar.monthrange(year, month)[1]
                chosen = {d for d in days if d <= size} | ({size} if last else set())
                for d in sorted(chosen):
                    yield datetime.combine(date(year, month, d), at)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def executions(
    cfg: Mapping[str, Any],
    now: datetime,
    *,
    count: int,
    anchor: date | None = None,
) -> list[str]:
    """Up to ``count`` occurrences strictly after ``now``, before ``expire_time``, as API strings.

    ``anchor`` is the first day a ``DAY`` schedule counts its interval from (the creation day);
    it defaults to today in the task's zone. ``LIFE_CYCLE`` tasks have no occurrences.
    """
    if cfg.get("scheduled_type") in (None, "LIFE_CYCLE"):
        return []
    zone = resolve_zone(cfg.get("time_zone")) or ZoneInfo(DEFAULT_ZONE)
    local_now = now.astimezone(zone).replace(tzinfo=None)
    expire_raw = cfg.get("expire_time")
    expire = datetime.strptime(str(expire_raw), TIME_FORMAT) if expire_raw else None
    out: list[str] = []
    for when in _occurrences(cfg, local_now, anchor or local_now.date()):
        if expire is not None and when > expire:
            break
        if when > local_now:
            out.append(when.strftime(TIME_FORMAT))
            if len(out) >= count:
                break
    return out


#: The task fields an occurrence depends on (with the anchor): the key of remembered answers.
_SCHEDULE_FIELDS: Final = (
    "enable",
    "scheduled_type",
    "scheduled_time",
    "scheduled_date",
    "day_interval",
    "week_list",
    "month_list",
    "date_list",
    "time_zone",
    "expire_time",
)
_MEMO_MAX: Final = 100_000
#: key -> (zone, local "now" it was computed at, the answer and its naive local time)
_memo: dict[tuple[Any, ...], tuple[tzinfo, datetime, str | None, datetime | None]] = {}


def next_execution(cfg: Mapping[str, Any], now: datetime, anchor: date | None) -> str | None:
    """The task's ``next_execution_time``: none for disabled, LIFE_CYCLE or finished tasks.

    Answers are remembered per schedule (a list page asks for 50 at a time, and the scan is the
    bulk of a page's cost): an answer found at local time ``since`` is the first occurrence
    after it, so it stays the answer while ``since <= local now < answer`` (``None``: while
    ``since <= local now``; times compared on the task's wall clock, like the scan).
    """
    if cfg.get("enable") is False:
        return None
    key = (anchor, *(cfg.get(name) for name in _SCHEDULE_FIELDS))
    try:
        hit = _memo.get(key)
    except TypeError:  # an unhashable field value: compute every time
        found = executions(cfg, now, count=1, anchor=anchor)
        return found[0] if found else None
    if hit is not None:
        zone, since, answer, until = hit
        local_now = now.astimezone(zone).replace(tzinfo=None)
        if since <= local_now and (until is None or local_now < until):
            return answer
    zone = resolve_zone(cfg.get("time_zone")) or ZoneInfo(DEFAULT_ZONE)
    found = executions(cfg, now, count=1, anchor=anchor)
    answer = found[0] if found else None
    until = datetime.fromisoformat(answer) if answer else None
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[key] = (zone, now.astimezone(zone).replace(tzinfo=None), answer, until)
    return answer


def local_date(moment: datetime, zone_name: str | None) -> date:
    """``moment``'s calendar day in the zone ``zone_name``."""
    zone = resolve_zone(zone_name) or ZoneInfo(DEFAULT_ZONE)
    return moment.astimezone(zone).date()
