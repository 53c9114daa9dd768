"""wsnb._listing: every page once, filters pushed down, LIFE_CYCLE included, restarts when the
task list shifts mid-listing."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from wsnb._listing import MAX_RESTARTS, list_all
from wsnb.emulator import Emulator
from wsnb.frames import tasks_frame


def test_tasks_frame_lists_everything_once(emulator: Emulator) -> None:
    ids = emulator.control.seed(230, seed=1)
    with emulator.client(rate_limit=None) as client:
        frame = tasks_frame(client)
    assert set(frame.index) == set(ids)
    assert frame.index.is_unique
    assert "LIFE_CYCLE" in set(frame["scheduled_type"].dropna())
    lists = [e for e in emulator.control.requests() if e["operation"] == "list_tasks"]
    normal = sum(frame["scheduled_type"] != "LIFE_CYCLE")
    life = len(frame) - normal
    # one request per page: no page is listed twice
    assert len(lists) == math.ceil(normal / 50) + max(1, math.ceil(life / 50))


def test_filters_are_pushed_down(emulator: Emulator) -> None:
    emulator.control.seed(120, seed=2)
    with emulator.client(rate_limit=None) as client:
        everything = tasks_frame(client)
        emulator.control.clear_requests()
        stops = tasks_frame(client, task_type="STOP")
        life = tasks_frame(client, scheduled_type="LIFE_CYCLE")
        plain = tasks_frame(client, include_life_cycle=False)
    expected = everything[everything["task_type"] == "STOP"]
    assert set(stops.index) == set(expected.index)
    assert set(life.index) == set(everything.index[everything["scheduled_type"] == "LIFE_CYCLE"])
    assert "LIFE_CYCLE" not in set(plain["scheduled_type"].dropna())
    assert len(stops) < len(everything)
    # the server filtered: the STOP listing fetched only the pages STOP needs
    lists = [e for e in emulator.control.requests() if e["operation"] == "list_tasks"]
    assert len(lists) < math.ceil(len(everything) / 50) * 3 + 4
    with pytest.raises(TypeError, match="unknown task filter"):
        tasks_frame(client, colour="red")


class _ShiftingApi:
    """A listing whose total grows once, after the first page: the pass must restart."""

    def __init__(self) -> None:
        self.items = [{"id": f"t-{i}"} for i in range(120)]
        self.calls: list[int] = []

    async def list_page(self, offset: int, filters: Any, limit: int = 50) -> tuple[list[Any], int]:
        self.calls.append(offset)
        if len(self.calls) == 2:
            self.items.insert(0, {"id": "new"})
        return self.items[offset : offset + limit], len(self.items)


def test_listing_restarts_when_the_total_changes() -> None:
    api = _ShiftingApi()
    items = asyncio.run(list_all(api, {}, include_life_cycle=False, concurrency=1))  # type: ignore[arg-type]
    assert len(items) == 121
    assert len({i["id"] for i in items}) == 121
    first_pass, second_pass = api.calls[:2], api.calls[2:]
    assert first_pass[0] == 0 and second_pass == [0, 50, 100]


class _AlwaysShiftingApi:
    """A listing that gains a task after every page: no pass can ever be consistent."""

    def __init__(self) -> None:
        self.items = [{"id": f"t-{i}"} for i in range(120)]
        self.calls: list[int] = []

    async def list_page(self, offset: int, filters: Any, limit: int = 50) -> tuple[list[Any], int]:
        self.calls.append(offset)
        total = len(self.items)
        self.items.append({"id": f"n-{len(self.calls)}"})
        return self.items[offset : offset + limit], total


def test_listing_gives_up_after_max_restarts() -> None:
    api = _AlwaysShiftingApi()
    with pytest.raises(RuntimeError, match=f"kept changing .*{MAX_RESTARTS} attempts"):
        asyncio.run(list_all(api, {}, include_life_cycle=False, concurrency=1))  # type: ignore[arg-type]
    assert api.calls.count(0) == MAX_RESTARTS  # each attempt starts over at the first page
