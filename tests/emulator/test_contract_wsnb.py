"""Contract suite with wsnb's own ``Client`` / ``AsyncClient``: over a socket and in-process,
under both emulator profiles (``documented`` and ``live``)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.conftest import both_profiles, task_body
from wsnb.client import AsyncClient, Client
from wsnb.emulator import Emulator, create_app
from wsnb.emulator.transport import SyncASGITransport
from wsnb.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    ThrottledError,
)
from wsnb.frames import records_to_frame

IN_PROCESS_ENDPOINT = "http://emulator.local"
GATEWAY = {"documented": "APIG", "live": "APIGW"}

profile = both_profiles()


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
    ran = records_to_frame(records)["start_time"].iloc[0]  # any profile's shape: one instant
    assert abs(ran - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=2)
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


def test_bad_keys_are_authentication_errors(emulator: Emulator, profile: str) -> None:
    from wsnb.auth import Credentials

    wrong = Credentials(ak=emulator.ak, sk="wrong-secret", project_id=emulator.project_id)
    with (
        emulator.client(credentials=wrong, rate_limit=None) as c,
        pytest.raises(AuthenticationError) as caught,
    ):
        c.list_tasks_page(0, 1)
    assert caught.value.error_code == f"{GATEWAY[profile]}.0301"
    assert "wrong-secret" not in str(caught.value)


def test_no_such_api_is_not_found(emulator: Emulator, profile: str) -> None:
    from wsnb.auth import WorkspaceAuth
    from wsnb.errors import error_from_response

    url = f"{emulator.endpoint}/v2/{emulator.project_id}/no-such-api"
    response = httpx.get(url, auth=WorkspaceAuth(emulator.credentials))
    assert response.status_code == 404
    assert response.json()["error_code"] == f"{GATEWAY[profile]}.0101"
    assert isinstance(error_from_response(response), NotFoundError)


def test_iam_denials_are_forbidden_errors(emulator: Emulator, client: Client) -> None:
    kept, denied = (client.create_task(task_body(task_name=n)) for n in ("kept", "denied"))
    emulator.control.deny([denied])
    with pytest.raises(ForbiddenError) as caught:
        client.batch_delete([kept, denied])
    assert caught.value.status == 403 and caught.value.encoded_authorization_message
    with pytest.raises(ForbiddenError):
        client.get_task(denied)
    with pytest.raises(ForbiddenError):
        client.delete_task(denied)
    assert sorted(emulator.control.task_ids()) == sorted([kept, denied])  # nothing deleted
    emulator.control.clear_denials()
    client.batch_delete([kept, denied])
    assert emulator.control.task_ids() == []


def test_token_credentials_work(emulator: Emulator) -> None:
    from wsnb.auth import Credentials

    token = Credentials(token=emulator.token, project_id=emulator.project_id)
    with emulator.client(credentials=token, rate_limit=None) as c:
        assert c.list_tasks_page(0, 1)["total_count"] == 0


def test_throttled_client_surfaces_429(emulator: Emulator, profile: str) -> None:
    from wsnb._retry import RetryPolicy

    emulator.control.set_throttle(reads_per_minute=1, time_scale=1.0)
    with emulator.client(rate_limit=None, retry=RetryPolicy(max_attempts=1)) as c:
        c.list_tasks_page(0, 1)
        with pytest.raises(ThrottledError) as caught:
            c.list_tasks_page(0, 1)
    assert caught.value.error_code == f"{GATEWAY[profile]}.0308"


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


# --- the same client against the real cloud (read-only) ---------------------------------------


@pytest.fixture
def live_client() -> Iterator[Client]:
    from wsnb.auth import credentials_configured

    located = os.environ.get("WSNB_REGION") or os.environ.get("WSNB_ENDPOINT")
    if os.environ.get("WSNB_LIVE") != "1" or not located or not credentials_configured():
        pytest.skip("live: set WSNB_LIVE=1, WSNB_REGION (or WSNB_ENDPOINT) and the credentials")
    with Client.from_env() as live:
        yield live


def _shape(value: Any) -> str:
    """A value's shape without its content: every digit becomes 9 (``9999-99-99 99:99:99``)."""
    return re.sub(r"\d", "9", str(value)) if value is not None else "<absent>"


def _shapes(items: Sequence[Mapping[str, Any]], *names: str) -> dict[str, dict[str, int]]:
    return {n: dict(Counter(_shape(i.get(n)) for i in items).most_common(6)) for n in names}


@pytest.mark.live
def test_live_read_only_contract_wsnb(live_client: Client) -> None:
    """Read-only, against your tenant: the doctor, a complete listing (however ``total_count``
    behaves), every time parsed, records and details of a few tasks. Prints a "wsnb live
    evidence" block (shapes and counts only: no ids, names, keys or project id) to send back."""
    from wsnb import doctor
    from wsnb.frames import RECORD_COLUMNS, TASK_COLUMNS, records_frame, tasks_frame

    checks = doctor(live_client)
    first = live_client.list_tasks_page(0, 50)
    life_first = live_client.list_tasks_page(0, 50, scheduled_type="LIFE_CYCLE")
    plain = live_client.list_tasks()
    life = live_client.list_tasks(scheduled_type="LIFE_CYCLE")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        frame = tasks_frame(live_client)
    ran = [t for t in plain + life if t.get("last_status")][:3]
    records = [r for t in ran for r in live_client.list_records(t["id"], offset=0, limit=20)]
    details = [
        d
        for t in ran[:2]
        for r in live_client.list_records(t["id"], offset=0, limit=1)
        for d in live_client.list_record_details(t["id"], r["id"], offset=0, limit=20)
    ]
    rframe = records_frame(live_client, ran[0]["id"]) if ran else None
    try:
        live_client.get_task("00000000-0000-4000-8000-000000000000")
        missing: dict[str, Any] = {"status": 200}
    except BadRequestError as error:
        missing = {"status": error.status, "code": error.error_code, "msg": error.error_msg}
    times = [c for c, t in TASK_COLUMNS.items() if t.startswith("datetime")]
    raw = {t["id"]: t for t in plain + life}
    unparsed = {
        c: int(sum(bool(raw[i].get(c)) and pd.isna(frame.loc[i, c]) for i in frame.index))
        for c in times
    }
    evidence = {
        "wsnb": __import__("wsnb").__version__,
        "doctor": {c.name: c.status for c in checks},
        "list": {
            "first_page_total_count": first["total_count"],
            "first_page_items": len(first["scheduled_tasks"]),
            "listed_without_life_cycle": len(plain),
            "life_cycle_total_count": life_first["total_count"],
            "listed_life_cycle": len(life),
            "frame_rows": len(frame),
        },
        "shapes": {
            "tasks": _shapes(plain + life, *times, "time_zone"),
            "records": _shapes(records, "start_time", "expire_time", "time_zone"),
            "details": _shapes(details, "start_time", "end_time", "time_zone"),
        },
        "time_zones": dict(Counter(str(t.get("time_zone")) for t in plain + life).most_common(10)),
        "unparsed_times": unparsed,
        "warnings": [str(w.message)[:200] for w in warned],
        "unknown_task": missing,
    }
    print("\n--- wsnb live evidence (send this block back) ---")
    print(json.dumps(evidence, indent=2, ensure_ascii=False))
    print("--- end of wsnb live evidence ---")
    assert checks.ok, str(checks)
    assert set(frame.index) == set(raw) and frame.index.is_unique
    assert unparsed == dict.fromkeys(times, 0)
    if rframe is not None:
        record_times = [c for c, t in RECORD_COLUMNS.items() if t.startswith("datetime")]
        assert rframe[record_times[0]].notna().all()
    assert missing["status"] == 400 and "does not exist" in str(missing.get("msg"))
