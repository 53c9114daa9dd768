"""Contract suite with wsnb's own ``Client`` / ``AsyncClient``: over a socket and in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import task_body
from wsnb.client import AsyncClient, Client
from wsnb.emulator import Emulator, create_app
from wsnb.emulator.transport import SyncASGITransport
from wsnb.errors import AuthenticationError, BadRequestError, ThrottledError

IN_PROCESS_ENDPOINT = "http://emulator.local"


@pytest.fixture(params=["socket", "in-process"])
def client(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Client]:
    """A wsnb ``Client`` on the shared emulator, over TCP or through the ASGI app directly."""
    if request.param == "socket":
        with emulator.client(rate_limit=None) as c:
            yield c
    else:
        transport = SyncASGITransport(emulator.app)
        with emulator.client(
            endpoint=IN_PROCESS_ENDPOINT, transport=transport, rate_limit=None
        ) as c:
            yield c


def test_every_operation_with_wsnb_client(emulator: Emulator, client: Client) -> None:
    task_id = client.create_task(task_body(task_name="夜间关机"))
    assert [t["id"] for t in client.list_tasks()] == [task_id]
    page = client.list_tasks_page(0, 10, task_name="夜间")
    assert page["total_count"] == 1
    detail = client.get_task(task_id)
    assert detail["task_type"] == "STOP" and detail["apply_objects"][0]["object_id"] == "d-1"
    client.update_task(task_id, task_name="renamed", enable=False)
    assert client.list_tasks()[0]["task_name"] == "renamed"
    emulator.control.tick(task_ids=[task_id], status="SUCCESS")
    records = client.list_records(task_id)
    assert len(records) == 1 and records[0]["status"] == "SUCCESS"
    details = client.list_record_details(task_id, records[0]["id"])
    assert details and details[0]["record_id"] == records[0]["id"]
    exported = client.export_records(task_id, language="en-us")
    assert exported.decode("utf-8-sig").startswith("id,start_time")
    runs = client.future_executions(scheduled_type="DAY", day_interval=1, scheduled_time="07:00:00")
    assert len(runs) == 5
    assert "POST_DESKTOP_DISCONNECTED" in client.life_cycle_configurations()
    assert any(z["time_zone_name"] == "Asia/Shanghai" for z in client.time_zones())
    other = client.create_task(task_body(task_name="second"))
    client.delete_task(task_id)
    client.batch_delete([other, task_id])
    assert client.list_tasks() == []


def test_list_pages_through_many_tasks_once(emulator: Emulator, client: Client) -> None:
    emulator.control.seed(230, seed=11)
    emulator.control.clear_requests()
    life = client.list_tasks(scheduled_type="LIFE_CYCLE")
    plain = client.list_tasks()
    ids = [t["id"] for t in life + plain]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(emulator.control.task_ids())
    calls = [e for e in emulator.control.requests() if e["operation"] == "list_tasks"]
    most = len(life) // 50 + 1 + len(plain) // 50 + 1  # at most one short/empty page each
    assert len(calls) <= most


def test_errors_map_to_wsnb_exceptions(emulator: Emulator, client: Client) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.get_task("no-such-task")
    assert caught.value.error_code == "WKS.0001" and caught.value.task_missing
    assert len(caught.value.request_id or "") == 32
    with pytest.raises(BadRequestError) as bad:
        client.create_task(task_body(scheduled_type="WEEK"))
    assert "week_list" in (bad.value.error_msg or "")


def test_bad_keys_are_authentication_errors(emulator: Emulator) -> None:
    from wsnb.auth import Credentials

    wrong = Credentials(ak=emulator.ak, sk="wrong-secret", project_id=emulator.project_id)
    with (
        emulator.client(credentials=wrong, rate_limit=None) as c,
        pytest.raises(AuthenticationError) as caught,
    ):
        c.list_tasks_page(0, 1)
    assert caught.value.error_code == "APIG.0301"
    assert "wrong-secret" not in str(caught.value)


def test_token_credentials_work(emulator: Emulator) -> None:
    from wsnb.auth import Credentials

    token = Credentials(token=emulator.token, project_id=emulator.project_id)
    with emulator.client(credentials=token, rate_limit=None) as c:
        assert c.list_tasks_page(0, 1)["total_count"] == 0


def test_throttled_client_surfaces_429(emulator: Emulator) -> None:
    from wsnb._retry import RetryPolicy

    emulator.control.set_throttle(reads_per_minute=1, time_scale=1.0)
    with emulator.client(rate_limit=None, retry=RetryPolicy(max_attempts=1)) as c:
        c.list_tasks_page(0, 1)
        with pytest.raises(ThrottledError) as caught:
            c.list_tasks_page(0, 1)
    assert caught.value.error_code == "APIG.0308"


@pytest.mark.parametrize("mode", ["socket", "in-process"])
def test_async_client_contract(emulator: Emulator, mode: str) -> None:
    async def main() -> list[str]:
        kw: dict[str, Any] = {"rate_limit": None}
        if mode == "in-process":
            kw |= {
                "endpoint": IN_PROCESS_ENDPOINT,
                "transport": httpx.ASGITransport(app=emulator.app),
            }
        async with emulator.async_client(**kw) as c:
            ids = await asyncio.gather(
                *(c.create_task(task_body(task_name=f"a{i}")) for i in range(6))
            )
            await c.batch_delete(list(ids[:3]))
            remaining = [t["id"] for t in await c.list_tasks()]
            assert isinstance(c, AsyncClient)
            return sorted(set(ids) - set(remaining))

    deleted = asyncio.run(main())
    assert len(deleted) == 3
    assert len(emulator.control.task_ids()) == 3


def test_plain_app_with_loose_auth_needs_no_credentials() -> None:
    from wsnb.auth import Credentials
    from wsnb.emulator import EmulatorConfig

    config = EmulatorConfig(auth="loose", project_id="p")
    transport = SyncASGITransport(create_app(config))
    creds = Credentials(token="anything", project_id="p")
    with Client(
        endpoint=IN_PROCESS_ENDPOINT, credentials=creds, transport=transport, rate_limit=None
    ) as c:
        assert c.create_task(task_body())
        assert len(c.list_tasks()) == 1
