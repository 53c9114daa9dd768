"""wsnb._listing: every task once, filters pushed down, LIFE_CYCLE included, and complete whatever
``total_count`` says (exact, absent, counting hidden LIFE_CYCLE tasks, off, drifting)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsnb._listing import list_all, stream_all
from wsnb.auth import Credentials
from wsnb.client import Client
from wsnb.emulator import Emulator
from wsnb.errors import WorkspaceError
from wsnb.frames import tasks_frame

PAGE = 50


def _list_calls(emulator: Emulator) -> list[dict[str, Any]]:
    return [e for e in emulator.control.requests() if e["operation"] == "list_tasks"]


def test_tasks_frame_lists_everything_once(emulator: Emulator) -> None:
    ids = emulator.control.seed(230, seed=1)
    with emulator.client(rate_limit=None) as client:
        frame = tasks_frame(client)
    assert set(frame.index) == set(ids)
    assert frame.index.is_unique
    assert "LIFE_CYCLE" in set(frame["scheduled_type"].dropna())
    normal = sum(frame["scheduled_type"] != "LIFE_CYCLE")
    life = len(frame) - normal
    # one request per page, up to and including the first short (or empty) page of each pass
    assert len(_list_calls(emulator)) == normal // PAGE + 1 + life // PAGE + 1


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
    assert len(_list_calls(emulator)) < math.ceil(len(everything) / PAGE) * 3 + 4
    with pytest.raises(TypeError, match="unknown task filter"):
        tasks_frame(client, colour="red")


@pytest.mark.parametrize("total_count", ["listed", "with_life_cycle", "omit"])
def test_emulator_total_count_variants_list_everything(
    make_emulator: Any, total_count: str
) -> None:
    """End to end over a socket: the profile knob changes ``total_count``, never the result."""
    from wsnb.emulator import Profile

    emu = make_emulator(profile=Profile.preset("live", total_count=total_count))
    ids = emu.control.seed(260, seed=8)
    with emu.client(rate_limit=None) as client:
        first = client.list_tasks_page(0, 1)
        frame = tasks_frame(client)
    assert set(frame.index) == set(ids) and frame.index.is_unique
    normal = sum(frame["scheduled_type"] != "LIFE_CYCLE")
    expected_total = {"listed": normal, "with_life_cycle": len(ids), "omit": None}[total_count]
    assert first["total_count"] == expected_total


# --- a scripted server: every total_count variant, through the real client ------------------------

VARIANTS = ("exact", "absent", "with_life_cycle", "off", "drift")


class ScriptedListing:
    """``ListScheduledTasks`` over fixed tasks, with ``total_count`` per ``variant``."""

    def __init__(
        self, normal: int, life: int, variant: str, k: int = 0, drift: list[int] | None = None
    ) -> None:
        self.normal = [{"id": f"n-{i:04d}", "scheduled_type": "DAY"} for i in range(normal)]
        self.life = [{"id": f"l-{i:04d}", "scheduled_type": "LIFE_CYCLE"} for i in range(life)]
        self.variant = variant
        self.k = k
        self.drift = drift or [0]
        self.offsets: dict[str, list[int]] = {"normal": [], "life": []}

    def total(self, pool: list[dict[str, Any]], asked_life: bool, n: int) -> int | None:
        true = len(pool)
        if self.variant == "absent":
            return None
        if self.variant == "with_life_cycle":
            return true if asked_life else true + len(self.life)
        if self.variant == "off":
            return max(0, true + self.k)
        if self.variant == "drift":
            return max(0, true + self.drift[n % len(self.drift)])
        return true

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        offset, limit = int(params["offset"]), int(params["limit"])
        asked_life = params.get("scheduled_type") == "LIFE_CYCLE"
        pool = self.life if asked_life else self.normal
        calls = self.offsets["life" if asked_life else "normal"]
        calls.append(offset)
        body: dict[str, Any] = {"scheduled_tasks": pool[offset : offset + limit]}
        total = self.total(pool, asked_life, len(calls))
        if total is not None:
            body["total_count"] = total
        return httpx.Response(200, json=body)

    def ids(self) -> set[str]:
        return {t["id"] for t in self.normal + self.life}


def scripted_client(server: ScriptedListing) -> Client:
    creds = Credentials(ak="SCRIPTEDAK0000000001", sk="scripted-secret", project_id="p")
    return Client(
        endpoint="https://workspace.example.test",
        credentials=creds,
        transport=httpx.MockTransport(server),
        rate_limit=None,
    )


_COUNTS = st.one_of(
    st.integers(0, 260),
    st.sampled_from([0, 1, 49, 50, 51, 99, 100, 101, 150, 200, 250]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    normal=_COUNTS,
    life=st.integers(0, 120),
    variant=st.sampled_from(VARIANTS),
    k=st.integers(-150, 150),
    drift=st.lists(st.integers(-120, 120), min_size=1, max_size=6),
    concurrency=st.sampled_from([1, 2, 4, 8]),
)
def test_property_tasks_frame_is_the_servers_set(
    normal: int, life: int, variant: str, k: int, drift: list[int], concurrency: int
) -> None:
    server = ScriptedListing(normal, life, variant, k, drift)
    with scripted_client(server) as client:
        frame = tasks_frame(client, concurrency=concurrency)
    assert set(frame.index) == server.ids()
    assert frame.index.is_unique
    # cost: the pages needed (up to the first short page) plus at most ``concurrency`` pages
    # fetched past the end because a hint promised more
    for name, count in (("normal", normal), ("life", life)):
        calls = server.offsets[name]
        needed = count // PAGE + 1
        assert needed <= len(calls) <= needed + concurrency, (name, calls)
        assert len(calls) == len(set(calls))  # no page twice


# --- the algorithm, on a fake Api -------------------------------------------------------------


class FakeApi:
    """``Api.list_page`` over ``count`` tasks with a fixed hint; tracks calls in flight."""

    def __init__(self, count: int, hint: int | None, *, ignore_offset: bool = False) -> None:
        self.items = [{"id": f"t-{i}"} for i in range(count)]
        self.hint = hint
        self.ignore_offset = ignore_offset
        self.calls: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def list_page(
        self, offset: int, filters: Any, limit: int = PAGE
    ) -> tuple[list[Any], int | None]:
        self.calls.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        start = 0 if self.ignore_offset else offset
        return self.items[start : start + limit], self.hint


def _list(api: FakeApi, concurrency: int = 4) -> list[Any]:
    return asyncio.run(
        list_all(api, {}, include_life_cycle=False, concurrency=concurrency)  # type: ignore[arg-type]
    )


def test_pages_within_the_hint_are_fetched_concurrently() -> None:
    api = FakeApi(1000, 1000)
    items = _list(api, concurrency=4)
    assert [i["id"] for i in items] == [f"t-{i}" for i in range(1000)]
    assert api.most_in_flight == 4
    assert sorted(api.calls) == list(range(0, 1001, PAGE))


def test_without_a_hint_pages_are_fetched_one_by_one_until_a_short_page() -> None:
    api = FakeApi(230, None)
    assert len(_list(api)) == 230
    assert api.most_in_flight == 1
    assert api.calls == [0, 50, 100, 150, 200]


def test_listing_keeps_going_past_a_hint_that_is_too_small() -> None:
    api = FakeApi(330, 120)
    assert len(_list(api)) == 330
    assert sorted(api.calls) == [0, 50, 100, 150, 200, 250, 300]


def test_a_hint_far_too_large_wastes_at_most_concurrency_calls() -> None:
    api = FakeApi(120, 100_000)
    assert len(_list(api, concurrency=4)) == 120
    assert len(api.calls) <= 3 + 4


def test_stream_all_hands_pages_on_in_order_while_the_listing_runs() -> None:
    """The sink sees every task once, in list_all's order, a complete prefix at a time, and
    its first batch before the last page is answered (a caller converts while pages come)."""
    api = FakeApi(1000, 1000)
    batches: list[list[str]] = []
    calls_at: list[int] = []

    def sink(items: list[Any]) -> None:
        batches.append([i["id"] for i in items])
        calls_at.append(len(api.calls))

    count = asyncio.run(
        stream_all(api, {}, sink, include_life_cycle=False, concurrency=4)  # type: ignore[arg-type]
    )
    flat = [tid for batch in batches for tid in batch]
    assert count == 1000 and flat == [f"t-{i}" for i in range(1000)]
    assert len(batches) > 1 and calls_at[0] < len(api.calls)
    assert flat == [i["id"] for i in _list(FakeApi(1000, 1000))]


def test_stream_all_keeps_the_first_sighting_of_an_id_across_passes() -> None:
    """A task that moved between the two passes (or pages) is handed on once, as first seen."""
    server = ScriptedListing(120, 60, "exact")
    server.life.insert(10, {**server.normal[5], "scheduled_type": "LIFE_CYCLE"})
    with scripted_client(server) as client:
        from wsnb._aio import Api

        got: list[Any] = []
        count = asyncio.run(stream_all(Api(client), {}, got.extend))
    ids = [t["id"] for t in got]
    assert count == len(ids) == len(set(ids)) == 180
    assert next(t for t in got if t["id"] == "n-0005")["scheduled_type"] == "DAY"


def test_a_server_ignoring_offset_is_an_error_not_an_endless_loop() -> None:
    for hint in (None, 75, 10**9):
        api = FakeApi(60, hint, ignore_offset=True)
        with pytest.raises(WorkspaceError, match="ignore offset"):
            _list(api)
        assert len(api.calls) <= 1 + 4 + 1


@pytest.fixture
def no_hint_emulator(make_emulator: Any) -> Iterator[Emulator]:
    from wsnb.emulator import Profile

    yield make_emulator(profile=Profile(total_count="omit"))


def test_async_listing_without_total_count(no_hint_emulator: Emulator) -> None:
    from wsnb.frames import atasks_frame

    ids = no_hint_emulator.control.seed(140, seed=9)

    async def main() -> set[str]:
        async with no_hint_emulator.async_client(rate_limit=None) as client:
            return set((await atasks_frame(client)).index)

    assert asyncio.run(main()) == set(ids)
