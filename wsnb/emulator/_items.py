"""List items remembered per stored definition.

A list page presents the same stored tasks again and again (every page of every listing, every
poll), and parsing a definition, laying out its item and finding its next execution were most of
a page's cost. :class:`ListItems` keeps, per ``(id, created_at, definition JSON)``, the parsed
definition, the item laid out in ``ScheduledTask`` order and the last ``next_execution_time``
answer with the span of local time it holds for (the first occurrence after ``since`` stays the
answer while ``since <= local now < answer``). A changed definition is a new key, so an update is
never served stale; the profile only formats the time, so it is applied on the way out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from wsnb.models import TASK_FIELDS

from ._schedule import DEFAULT_ZONE, local_date, next_execution, resolve_zone
from .profile import Profile

__all__ = ["ListItems", "list_item_of"]

#: Fields a list item carries only for LIFE_CYCLE tasks.
FIELDS_ONLY_FOR_TRIGGERS: Final = frozenset({"priority", "wait_time", "life_cycle_exec_period"})
_NEXT: Final = "next_execution_time"
_MAX: Final = 200_000


@dataclass
class _Entry:
    base: dict[str, Any]  # the item, ``next_execution_time`` a placeholder in its place
    data: dict[str, Any]
    anchor: date
    zone: tzinfo
    memo: tuple[datetime, str | None, datetime | None] | None = None  # since, answer, until


def _entry(created_at: str, data: dict[str, Any], task_id: str) -> _Entry:
    anchor = local_date(datetime.fromisoformat(created_at), data.get("time_zone"))
    base: dict[str, Any] = {"id": task_id}
    for name in TASK_FIELDS[1:]:
        if name == _NEXT:
            base[name] = None
        elif name == "enable":
            base[name] = data.get("enable", True)
        elif name in FIELDS_ONLY_FOR_TRIGGERS and data.get("scheduled_type") != "LIFE_CYCLE":
            continue
        else:
            value = data.get(name)
            if value is not None:
                base[name] = value
    zone = resolve_zone(data.get("time_zone")) or ZoneInfo(DEFAULT_ZONE)
    return _Entry(base, data, anchor, zone)


def _next(entry: _Entry, now: datetime) -> str | None:
    if entry.data.get("enable") is False:
        return None
    local_now = now.astimezone(entry.zone).replace(tzinfo=None)
    memo = entry.memo
    if memo is not None:
        since, answer, until = memo
        if since <= local_now and (until is None or local_now < until):
            return answer
    answer = next_execution(entry.data, now, entry.anchor)  # remembered per schedule too
    until = datetime.fromisoformat(answer) if answer else None
    entry.memo = (local_now, answer, until)
    return answer


def _present(entry: _Entry, now: datetime, profile: Profile) -> dict[str, Any]:
    item = dict(entry.base)
    value = profile.list_time(_next(entry, now), entry.data.get("time_zone"))
    if value is None:
        del item[_NEXT]
    else:
        item[_NEXT] = value
    return item


def list_item_of(
    task_id: str, created_at: str, data: dict[str, Any], now: datetime, profile: Profile
) -> dict[str, Any]:
    """A stored task as a ``ScheduledTask`` list item (absent values left out), uncached."""
    return _present(_entry(created_at, data, task_id), now, profile)


class ListItems:
    """The list items of stored definitions, remembered (bounded; safe across threads: an entry
    is replaced whole and its memo is one tuple)."""

    def __init__(self, size: int = _MAX) -> None:
        self._size = size
        self._entries: dict[tuple[str, str, str], _Entry] = {}

    def item(
        self, task_id: str, created_at: str, raw: str, now: datetime, profile: Profile
    ) -> dict[str, Any]:
        """The list item of the stored row ``(task_id, created_at, raw)`` at ``now``."""
        key = (task_id, created_at, raw)
        entry = self._entries.get(key)
        if entry is None:
            entry = _entry(created_at, json.loads(raw), task_id)
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key] = entry
        return _present(entry, now, profile)
