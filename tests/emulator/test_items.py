"""wsnb.emulator._items: remembered list items are never stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from wsnb.emulator._items import ListItems, list_item_of
from wsnb.emulator.profile import Profile

CREATED = "2026-01-05T00:00:00+00:00"
DAILY = {
    "task_name": "nightly",
    "task_type": "STOP",
    "scheduled_type": "DAY",
    "day_interval": 1,
    "scheduled_time": "02:00:00",
    "time_zone": "UTC",
    "enable": True,
}


def test_a_remembered_item_equals_a_fresh_one_and_follows_the_clock() -> None:
    items, profile = ListItems(), Profile()
    raw = json.dumps(DAILY)
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    first = items.item("t1", CREATED, raw, now, profile)
    assert first == list_item_of("t1", CREATED, DAILY, now, profile)
    assert first["next_execution_time"] == "2026-03-01 02:00:00"
    assert items.item("t1", CREATED, raw, now, profile) == first  # remembered
    later = now + timedelta(hours=2)  # past 02:00: the next one is tomorrow's
    assert items.item("t1", CREATED, raw, later, profile)["next_execution_time"] == (
        "2026-03-02 02:00:00"
    )
    assert list(first) == list(list_item_of("t1", CREATED, DAILY, now, profile))  # field order


def test_a_changed_definition_is_never_served_stale() -> None:
    items, profile = ListItems(), Profile()
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    before = items.item("t1", CREATED, json.dumps(DAILY), now, profile)
    disabled = {**DAILY, "enable": False, "task_name": "renamed"}
    after = items.item("t1", CREATED, json.dumps(disabled), now, profile)
    assert before["task_name"] == "nightly" and "next_execution_time" in before
    assert after["task_name"] == "renamed" and after["enable"] is False
    assert "next_execution_time" not in after  # a disabled task has none


def test_items_are_copies_and_the_memory_is_bounded() -> None:
    items, profile = ListItems(size=2), Profile()
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    raw = json.dumps(DAILY)
    item = items.item("t1", CREATED, raw, now, profile)
    item["task_name"] = "scribbled"
    assert items.item("t1", CREATED, raw, now, profile)["task_name"] == "nightly"
    for n in range(5):
        items.item(f"t{n}", CREATED, raw, now, profile)
    assert len(items._entries) <= 2


def test_the_least_recently_listed_are_forgotten_first() -> None:
    items, profile = ListItems(size=3), Profile()
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    raw = json.dumps(DAILY)
    for n in range(3):
        items.item(f"t{n}", CREATED, raw, now, profile)
    items.item("t0", CREATED, raw, now, profile)  # listed again: the newest now
    items.item("t3", CREATED, raw, now, profile)  # one too many: t1 goes
    assert [key[0] for key in items._entries] == ["t2", "t0", "t3"]
