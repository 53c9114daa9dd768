"""wsnb.selection: which tasks a set of filters selects, against the emulator."""

from __future__ import annotations

import httpx
import pandas as pd

from wsnb import frames, params
from wsnb.emulator import Emulator
from wsnb.selection import TaskFilters, select_tasks


def test_select_tasks_matches_pandas(emulator: Emulator) -> None:
    emulator.control.seed(300, seed=11)
    client = emulator.client(rate_limit=None)
    frame = frames.tasks_frame(client)
    now = pd.Timestamp.now(tz="UTC")
    p = params.cleanup_params(task_types="STOP,REBOOT,HIBERNATE", disabled_only=True)
    got = select_tasks(client, p)
    want = frame[frame["task_type"].isin(["STOP", "REBOOT", "HIBERNATE"]) & (~frame["enable"])]
    assert sorted(got.index) == sorted(want.index)
    assert len(want) > 0

    p = params.cleanup_params(expire_after=now.isoformat(), name_pattern="0")
    got = select_tasks(client, p, frame=frame)
    exp = frame["expire_time"]
    want = frame[(exp >= now).fillna(False) & frame["task_name"].str.contains("0", regex=False)]
    assert sorted(got.index) == sorted(want.index)
    assert len(want) > 0


def test_every_filter_is_applied_to_the_frame(emulator: Emulator) -> None:
    """Multi-valued filters match any value, all filters AND, and the server only narrows."""
    emulator.control.seed(300, seed=12)
    client = emulator.client(rate_limit=None)
    frame = frames.tasks_frame(client)
    life = frame[frame["scheduled_type"] == "LIFE_CYCLE"]
    assert len(life) > 0
    trigger = str(life["life_cycle_type"].iloc[0])
    got = select_tasks(client, TaskFilters(life_cycle_types=(trigger,)))
    assert sorted(got.index) == sorted(life.index[life["life_cycle_type"] == trigger])

    filters = TaskFilters(scheduled_types=("DAY", "WEEK"), last_statuses=("FAIL", "SKIP"))
    want = frame[
        frame["scheduled_type"].isin(["DAY", "WEEK"]) & frame["last_status"].isin(["FAIL", "SKIP"])
    ]
    assert len(want) > 0
    assert sorted(select_tasks(client, filters).index) == sorted(want.index)
    assert sorted(select_tasks(client, filters, frame=frame).index) == sorted(want.index)

    # LIFE_CYCLE tasks are listed only when asked for (the API hides them otherwise)
    hidden = select_tasks(client, TaskFilters(), include_life_cycle=False)
    assert set(hidden.index) == set(frame.index) - set(life.index)


class _Recording(httpx.HTTPTransport):
    """A real transport that keeps each request's query."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[dict[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(dict(request.url.params))
        return super().handle_request(request)


def test_single_values_are_sent_to_the_server(emulator: Emulator) -> None:
    emulator.control.seed(40, seed=13)
    recording = _Recording()
    client = emulator.client(rate_limit=None, transport=recording)
    filters = TaskFilters(name_pattern="0", task_types=("STOP",), last_statuses=("FAIL", "SKIP"))
    got = select_tasks(client, filters)
    lists = [q for q in recording.queries if "limit" in q]
    assert lists
    for query in lists:  # the name and the single type go to the server; two statuses cannot
        assert (query["task_name"], query["task_type"]) == ("0", "STOP")
        assert "last_status" not in query
    assert set(got["task_type"]) <= {"STOP"} and set(got["last_status"]) <= {"FAIL", "SKIP"}


def test_active_filters() -> None:
    when = pd.Timestamp("2026-01-01", tz="UTC")
    filters = TaskFilters(task_types=("STOP",), expired_only=True, expire_before=when)
    assert filters.active() == {
        "task_types": ("STOP",),
        "expired_only": True,
        "expire_before": "2026-01-01T00:00:00+00:00",
    }
    assert TaskFilters().active() == {}
