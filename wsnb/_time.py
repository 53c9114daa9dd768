"""Time zones and the time formats the Workspace API sends.

API times are naive local times in the task's ``time_zone`` (``yyyy-MM-dd HH:mm:ss``), but live
responses have also carried a ``GMT+08:00`` suffix and RFC 3339 strings, so
:func:`parse_api_time` accepts all of them and always returns a tz-aware ``datetime``.

Decision: a missing value (``None`` or a blank string) gives ``None``; anything else that is not
one of the known formats raises ``ValueError`` naming the value, because silently dropping a time
would hide a format change of the API.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TIME_ZONE", "parse_api_time", "zone"]

#: The zone the API assumes when a task names none.
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_OFFSET_ZONE = re.compile(
    r"^(?:GMT|UTC)\s*(?:(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?$",
    re.IGNORECASE,
)
_LOCAL = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"(?:\s*(?P<zone>Z|[+-]\d{2}:?\d{2}|(?:GMT|UTC)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?))?$",
    re.IGNORECASE,
)


def _offset(sign: str, hours: str, minutes: str | None, text: str) -> timezone:
    total = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if total > timedelta(hours=14) or int(minutes or 0) >= 60:
        raise ValueError(f"time_zone offset out of range (at most ±14:00): {text!r}")
    return timezone(-total if sign == "-" else total)


@lru_cache(maxsize=256)
def zone(name: str | None = None) -> tzinfo:
    """The tzinfo for an API ``time_zone``: an IANA name, ``GMT+8``, ``GMT+08:00`` or ``UTC+8``.

    ``None`` or a blank name means the API's default, ``Asia/Shanghai``.
    """
    text = (name or "").strip()
    if not text:
        return ZoneInfo(DEFAULT_TIME_ZONE)
    match = _OFFSET_ZONE.match(text)
    if match:
        if match["sign"] is None:
            return UTC
        return _offset(match["sign"], match["hours"], match["minutes"], text)
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", text):
        return _offset(text[0], text[1:3], text[-2:], text)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: name too long
        raise ValueError(
            f"unknown time_zone {text!r}: expected an IANA name (e.g. 'Asia/Shanghai') "
            "or an offset such as 'GMT+08:00'"
        ) from exc


def _suffix_zone(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        return _offset(text[0], digits[:2], digits[2:], text)
    return zone(text)


def parse_api_time(
    value: str | datetime | date | None, time_zone: str | tzinfo | None = None
) -> datetime | None:
    """Parse an API time into a tz-aware ``datetime``.

    Accepts ``yyyy-MM-dd HH:mm:ss`` (optionally with ``:ss`` missing or fractional seconds), the
    same with a ``GMT+08:00`` suffix, RFC 3339 (``T`` separator, ``Z`` or ``±hh:mm``) and a bare
    ``yyyy-MM-dd`` (midnight). Values without a zone are local to ``time_zone`` (default
    ``Asia/Shanghai``). ``None`` and blank strings give ``None``; garbage raises ``ValueError``.
    """
    local = time_zone if isinstance(time_zone, tzinfo) else zone(time_zone)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=local)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=local)
    if not isinstance(value, str):
        raise TypeError(f"API time must be a str, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    match = _LOCAL.match(text)
    if match is None:
        raise ValueError(
            f"unrecognised API time {value!r}: expected 'yyyy-MM-dd HH:mm:ss', "
            "an RFC 3339 time or 'yyyy-MM-dd'"
        )
    clock = match["time"] or "00:00:00"
    if clock.count(":") == 1:
        clock += ":00"
    seconds, _, fraction = clock.partition(".")
    try:
        parsed = datetime.strptime(f"{match['date']} {seconds}", "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise ValueError(f"invalid API time {value!r}: {exc}") from None
    if fraction:
        parsed = parsed.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    tz = _suffix_zone(match["zone"]) if match["zone"] else local
    return parsed.replace(tzinfo=tz)
