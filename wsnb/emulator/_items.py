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
import threading
from collections import OrderedDict
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
#: Items remembered, the least recently listed forgotten first: a 20,000-task project stays warm
#: in a few tens of MB (200,000 entries with their parsed definitions grew an emulator to 1.3 GB
#: and slowed every page with garbage-collection passes).
_MAX: Final = 25_000


@dataclass
class _Entry:
    base: dict[str, Any]  # the item, ``next_execution_time`` a placeholder in its place
    raw: str  # the definition as stored (parsed again only when the memo runs out)
    anchor: date
    zone: tzinfo
    time_zone: str | None
    enabled: bool
    memo: tuple[datetime, str | None, datetime | None] | None = None  # since, answer, until


def _entry(created_at: str, data: dict[str, Any], task_id: str, raw: str = "") -> _Entry:
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
    raw = raw or json.dumps(data)
    enabled = data.get("enable") is not False
    return _Entry(base, raw, anchor, zone, data.get("time_zone"), enabled)


def _next(entry: _Entry, now: datetime, data: dict[str, Any] | None = None) -> str | None:
    if not entry.enabled:
        return None
    local_now = now.astimezone(entry.zone).replace(tzinfo=None)
    memo = entry.memo
    if memo is not None:
        since, answer, until = memo
        if since <= local_now and (until is None or local_now < until):
            return answer
    cfg = data if data is not None else json.loads(entry.raw)
    answer = next_execution(cfg, now, entry.anchor)  # remembered per schedule too
    until = datetime.fromisoformat(answer) if answer else None
    entry.memo = (local_now, answer, until)
    return answer


def _present(
    entry: _Entry, now: datetime, profile: Profile, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    item = dict(entry.base)
    value = profile.list_time(_next(entry, now, data), entry.time_zone)
    if value is None:
        del item[_NEXT]
    else:
        item[_NEXT] = value
    return item


def list_item_of(
    task_id: str, created_at: str, data: dict[str, Any], now: datetime, profile: Profile
) -> dict[str, Any]:
    """A stored task as a ``ScheduledTask`` list item (absent values left out), uncached."""
    return _present(_entry(created_at, data, task_id), now, profile, data)


class ListItems:
    """The list items of stored definitions, remembered (the least recently listed forgotten
    first, past ``size``; safe across threads)."""

    def __init__(self, size: int = _MAX) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def item(
        self, task_id: str, created_at: str, raw: str, now: datetime, profile: Profile
    ) -> dict[str, Any]:
        """The list item of the stored row ``(task_id, created_at, raw)`` at ``now``."""
        key = (task_id, created_at, raw)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None:
            return _present(entry, now, profile)
        data = json.loads(raw)  # parsed once: laid out, and its first next execution found
        entry = _entry(created_at, data, task_id, raw)
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return _present(entry, now, profile, data)
