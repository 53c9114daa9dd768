"""Throttling (429 ``APIG.0308``) and injected faults, observed over a real socket."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import httpx
import pytest

from wsnb.emulator import Emulator, FaultRule, Throttle
from wsnb.emulator.faults import Limiter


class Api:
    """Token-authenticated raw HTTP against an emulator."""

    def __init__(self, emu: Emulator, project_id: str | None = None) -> None:
        self.emu = emu
        self.base = f"/v2/{project_id or emu.project_id}/scheduled-tasks"
        self.http = httpx.Client(
            base_url=emu.endpoint, headers={"X-Auth-Token": emu.token}, timeout=10
        )

    def list(self) -> httpx.Response:
        return self.http.get(self.base, params={"offset": 0, "limit": 50})

    def create(self) -> httpx.Response:
        body = {"task_name": "t", "task_type": "STOP", "scheduled_type": "DAY",
                "day_interval": 1, "scheduled_time": "22:00:00"}  # fmt: skip
        return self.http.post(self.base, json=body)

    def batch_delete(self, ids: Sequence[str]) -> httpx.Response:  # `list` is a method here
        return self.http.post(f"{self.base}/batch-delete", json={"task_ids": ids})


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.http.close()


# --- throttle ----------------------------------------------------------------------------------


def test_throttle_429_with_limit_and_retry_after(emulator: Emulator, api: Api) -> None:
    emulator.control.set_throttle(reads_per_minute=3, writes_per_minute=2, time_scale=0.02)
    assert [api.list().status_code for _ in range(3)] == [200, 200, 200]
    r = api.list()
    assert r.status_code == 429
    assert r.json()["error_code"] == "APIG.0308"
    assert "limit:3,time:1 minute" in r.json()["error_msg"]
    assert int(r.headers["retry-after"]) >= 1
    assert len(r.headers["x-request-id"]) == 32
    # writes have their own budget
    assert [api.create().status_code for _ in range(3)] == [200, 200, 429]
    # This sleep is the behaviour under test, not a wait for a condition: the sliding window
    # forgets calls once one scaled minute (60 * 0.02 s) has passed.
    time.sleep(60 * 0.02 + 0.05)
    assert api.list().status_code == 200
    statuses = [e["status"] for e in emulator.control.requests()]
    assert statuses.count(429) == 2


def test_throttle_without_retry_after(emulator: Emulator, api: Api) -> None:
    emulator.control.set_throttle(Throttle(reads_per_minute=1, time_scale=0.05, retry_after=False))
    assert api.list().status_code == 200
    r = api.list()
    assert r.status_code == 429 and "retry-after" not in r.headers


def test_throttle_counts_per_project(emulator: Emulator, api: Api) -> None:
    emulator.control.set_throttle(reads_per_minute=1, time_scale=1.0)
    other = Api(emulator, project_id="another-project")
    assert api.list().status_code == 200
    assert other.list().status_code == 200
    assert api.list().status_code == 429
    other.http.close()


def test_throttle_off_again(emulator: Emulator, api: Api) -> None:
    emulator.control.set_throttle(reads_per_minute=1)
    api.list()
    assert api.list().status_code == 429
    emulator.control.set_throttle(None)
    assert api.list().status_code == 200


def test_limiter_sliding_window_with_fake_clock() -> None:
    now = [0.0]
    limiter = Limiter(Throttle(reads_per_minute=2, writes_per_minute=1), clock=lambda: now[0])
    limiter.check("p", "list_tasks")
    now[0] = 30.0
    limiter.check("p", "get_task")
    with pytest.raises(Exception, match="limit:2") as caught:
        limiter.check("p", "list_tasks")
    assert caught.value.headers["Retry-After"] == "30"  # type: ignore[attr-defined]
    now[0] = 60.0  # the first call left the window
    limiter.check("p", "list_tasks")
    limiter.check("p", "batch_delete")
    with pytest.raises(Exception, match="limit:1"):
        limiter.check("p", "delete_task")


# --- faults ------------------------------------------------------------------------------------


def test_status_fault_before_processing_changes_nothing(emulator: Emulator, api: Api) -> None:
    emulator.control.add_fault(
        operation="create_task", status=503, error_code="APIG.0203", error_msg="busy", count=1
    )
    r = api.create()
    assert r.status_code == 503 and r.json()["error_code"] == "APIG.0203"
    assert emulator.control.task_ids() == []
    assert api.create().status_code == 200  # count=1: spent
    assert emulator.control.faults()[0]["fired"] == 1
    assert [e["fault"] for e in emulator.control.requests()] == ["status", None]


def test_status_fault_after_commit_loses_the_answer_not_the_write(
    emulator: Emulator, api: Api
) -> None:
    ids = emulator.control.seed(3)
    emulator.control.add_fault(FaultRule(operation="batch_delete", status=500, phase="after"))
    r = api.batch_delete(ids[:2])
    assert r.status_code == 500 and r.json()["error_code"] == "WKS.0202"
    assert emulator.control.task_ids() == [ids[2]]


def test_drop_before_processing(emulator: Emulator, api: Api) -> None:
    ids = emulator.control.seed(2)
    emulator.control.add_fault(operation="batch_delete", kind="drop", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.batch_delete(ids)
    assert sorted(emulator.control.task_ids()) == sorted(ids)
    entry = emulator.control.requests()[-1]
    assert (entry["status"], entry["fault"], entry["task_ids"]) == (None, "drop", ids)


def test_drop_after_commit_is_the_lost_response_case(emulator: Emulator, api: Api) -> None:
    ids = emulator.control.seed(2)
    emulator.control.add_fault(operation="batch_delete", kind="drop", phase="after", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.batch_delete(ids)
    assert emulator.control.task_ids() == []  # it happened; the client cannot know
    assert api.batch_delete(ids).status_code == 200  # retry is harmless (ignore policy)


def test_latency_fault(emulator: Emulator, api: Api) -> None:
    emulator.control.add_fault(operation="list_tasks", kind="latency", latency=0.3)
    start = time.perf_counter()
    assert api.list().status_code == 200
    assert time.perf_counter() - start >= 0.3
    start = time.perf_counter()
    assert api.create().status_code == 200  # other operations are not slowed
    assert time.perf_counter() - start < 0.3
    assert [e["fault"] for e in emulator.control.requests()] == ["latency", None]


def test_wildcard_skip_and_clear(emulator: Emulator, api: Api) -> None:
    emulator.control.add_fault(operation="*", status=502, skip=2, count=2)
    statuses = [api.list().status_code, api.create().status_code, api.list().status_code,
                api.create().status_code, api.list().status_code]  # fmt: skip
    assert statuses == [200, 200, 502, 502, 200]
    emulator.control.add_fault(operation="*", status=500)
    assert api.list().status_code == 500
    emulator.control.clear_faults()
    assert api.list().status_code == 200


def _pattern(emulator: Emulator, api: Api, seed: int) -> list[int]:
    emulator.control.clear_faults(seed=seed)
    emulator.control.add_fault(operation="list_tasks", status=500, probability=0.5)
    return [api.list().status_code for _ in range(30)]


def test_probability_is_reproducible_with_a_seed(emulator: Emulator, api: Api) -> None:
    first = _pattern(emulator, api, seed=7)
    again = _pattern(emulator, api, seed=7)
    other = _pattern(emulator, api, seed=8)
    assert first == again
    assert first != other
    assert 5 < first.count(500) < 25


@pytest.mark.parametrize(
    "bad",
    [{"kind": "boom"}, {"phase": "during"}, {"probability": 1.5}, {"status": 200}, {"latency": -1},
     {"colour": "red"}],
)  # fmt: skip
def test_fault_rule_rejects_bad_settings(bad: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        FaultRule.from_dict(bad)


def test_throttle_rejects_bad_settings() -> None:
    for bad in ({"reads_per_minute": 0}, {"time_scale": 0}, {"burst": 3}):
        with pytest.raises(ValueError):
            Throttle.from_dict(bad)
