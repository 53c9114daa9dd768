"""Every validation rule of the service, as parametrized tables (all 400 ``WKS.0001``)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import task_body
from wsnb.emulator import _validation as v
from wsnb.emulator._errors import ApiError

LONG = "x" * 256
DROP = None  # remove the field from the valid body

# (id, overrides of a valid create body, word the message must name)
CREATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("name missing", {"task_name": DROP}, "task_name"),
    ("name empty", {"task_name": ""}, "task_name"),
    ("name too long", {"task_name": LONG}, "255"),
    ("name not string", {"task_name": 5}, "task_name"),
    ("type missing", {"task_type": DROP}, "task_type"),
    ("type unknown", {"task_type": "EXPLODE"}, "task_type"),
    ("type output only", {"task_type": "DELETE_BLACK_ECS"}, "task_type"),
    ("scheduled_type missing", {"scheduled_type": DROP}, "scheduled_type"),
    ("scheduled_type unknown", {"scheduled_type": "HOURLY"}, "scheduled_type"),
    ("day_interval 0", {"day_interval": 0}, "between 1 and 31"),
    ("day_interval 32", {"day_interval": 32}, "day_interval"),
    ("day_interval string", {"day_interval": "1"}, "integer"),
    ("day_interval bool", {"day_interval": True}, "integer"),
    ("DAY without day_interval", {"day_interval": DROP}, "day_interval"),
    ("no scheduled_time", {"scheduled_time": DROP}, "scheduled_time"),
    ("scheduled_time format", {"scheduled_time": "22:00"}, "HH:mm:ss"),
    ("scheduled_time hour 24", {"scheduled_time": "24:00:00"}, "scheduled_time"),
    ("expire_time format", {"expire_time": "2026-01-01"}, "yyyy-MM-dd HH:mm:ss"),
    ("expire_time bad day", {"expire_time": "2026-02-30 00:00:00"}, "expire_time"),
    ("description too long", {"description": LONG}, "description"),
    ("extra_params too long", {"extra_params": '"' + "x" * 2000 + '"'}, "2000"),
    ("extra_params not JSON", {"extra_params": "{nope"}, "JSON"),
    ("extra_params not string", {"extra_params": {"a": 1}}, "extra_params"),
    ("time_zone unknown", {"time_zone": "Mars/Olympus"}, "time_zone"),
    ("time_zone too long", {"time_zone": "x" * 2001}, "2000"),
    ("force_execute not bool", {"force_execute": "yes"}, "boolean"),
    ("wait_time -1", {"wait_time": -1}, "wait_time"),
    ("wait_time too big", {"wait_time": 43201}, "43200"),
    ("exec period 0", {"life_cycle_exec_period": 0}, "life_cycle_exec_period"),
    ("exec period too big", {"life_cycle_exec_period": 10081}, "10080"),
    ("gray_count too big", {"gray_count": 1001}, "gray_count"),
    ("gray_fail_threshold 0", {"gray_fail_threshold": 0}, "gray_fail_threshold"),
    ("gray_desktop_ids too many", {"gray_desktop_ids": ["d"] * 1001}, "gray_desktop_ids"),
    ("gray_desktop_ids not list", {"gray_desktop_ids": "d-1"}, "gray_desktop_ids"),
    ("apply_objects not list", {"apply_objects": {"object_id": "d"}}, "apply_objects"),
    (
        "apply_objects too many",
        {"apply_objects": [{"object_type": "DESKTOP", "object_id": "d"}] * 1001},
        "1000",
    ),
    (
        "object_type unknown",
        {"apply_objects": [{"object_type": "VM", "object_id": "d"}]},
        "object_type",
    ),
    (
        "object_id empty",
        {"apply_objects": [{"object_type": "DESKTOP", "object_id": ""}]},
        "object_id",
    ),
    (
        "object_id missing for a desktop",
        {"apply_objects": [{"object_type": "DESKTOP"}]},
        "object_id",
    ),
    (
        "object_id empty for all desktops",
        {"apply_objects": [{"object_type": "ALL_DESKTOPS", "object_id": ""}]},
        "object_id",
    ),
    ("object not object", {"apply_objects": ["d-1"]}, "apply_objects"),
    ("WEEK without list", {"scheduled_type": "WEEK", "day_interval": DROP}, "week_list"),
    ("week_list 0", {"scheduled_type": "WEEK", "week_list": "0,1"}, "week_list"),
    ("week_list 8", {"scheduled_type": "WEEK", "week_list": "8"}, "1-7"),
    ("week_list junk", {"scheduled_type": "WEEK", "week_list": "mon"}, "week_list"),
    ("MONTH without months", {"scheduled_type": "MONTH", "date_list": "1"}, "month_list"),
    ("MONTH without dates", {"scheduled_type": "MONTH", "month_list": "1"}, "date_list"),
    ("month_list 13", {"scheduled_type": "MONTH", "month_list": "13", "date_list": "1"}, "1-12"),
    (
        "date_list 32",
        {"scheduled_type": "MONTH", "month_list": "1", "date_list": "32"},
        "1-31 or L",
    ),
    ("date_list X", {"scheduled_type": "MONTH", "month_list": "1", "date_list": "X"}, "date_list"),
    ("FIXED_TIME without date", {"scheduled_type": "FIXED_TIME"}, "scheduled_date"),
    (
        "scheduled_date format",
        {"scheduled_type": "FIXED_TIME", "scheduled_date": "2026/01/01"},
        "yyyy-MM-dd",
    ),
    ("LIFE_CYCLE without type", {"scheduled_type": "LIFE_CYCLE"}, "life_cycle_type"),
    (
        "LIFE_CYCLE bad type",
        {"scheduled_type": "LIFE_CYCLE", "life_cycle_type": "POST_LUNCH"},
        "life_cycle_type",
    ),
    (
        "LIFE_CYCLE + START",
        {
            "scheduled_type": "LIFE_CYCLE",
            "task_type": "START",
            "life_cycle_type": "POST_DESKTOP_DISCONNECTED",
        },
        "START",
    ),
    (
        "LIFE_CYCLE + REBUILD",
        {
            "scheduled_type": "LIFE_CYCLE",
            "task_type": "REBUILD",
            "life_cycle_type": "POST_DESKTOP_DISCONNECTED",
        },
        "REBUILD",
    ),
]


def _post(api: TestClient, suffix: str, **kw: Any) -> Any:
    return api.post(f"/v2/{api.pid}/scheduled-tasks{suffix}", **kw)  # type: ignore[attr-defined]


def _assert_400(r: Any, word: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] == "WKS.0001"
    assert word in body["error_msg"], body["error_msg"]


@pytest.mark.parametrize(
    ("overrides", "word"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
def test_create_rejects(api: TestClient, overrides: dict[str, Any], word: str) -> None:
    body = task_body()
    for key, value in overrides.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    _assert_400(_post(api, "", json=body), word)
    assert api.get("/_emulator/health").json()["counts"]["tasks"] == 0


VALID_SCHEDULES: list[dict[str, Any]] = [
    {"scheduled_type": "FIXED_TIME", "scheduled_date": "2030-05-01", "day_interval": None},
    {"scheduled_type": "WEEK", "week_list": "1,7", "day_interval": None},
    {"scheduled_type": "MONTH", "month_list": "1,3,12", "date_list": "1,2,28,L"},
    {"scheduled_type": "MONTH", "month_list": "2", "date_list": "L"},
    {
        "scheduled_type": "LIFE_CYCLE",
        "life_cycle_type": "POST_CREATE_DESKTOP_SUCCESS",
        "task_type": "EXECUTE_SCRIPT",
        "scheduled_time": None,
        "gray_count": 0,
        "gray_fail_threshold": 1000,
        "wait_time": 43200,
        "life_cycle_exec_period": 10080,
    },
    {"time_zone": "GMT+08:00"},
    {"time_zone": "GMT-3"},
    {"task_name": "x" * 255, "description": "y" * 255, "extra_params": ""},
    {"apply_objects": [], "gray_desktop_ids": ["d"] * 1000},
    # the schema requires no field of ApplyObject: ALL_DESKTOPS names no desktop (DEF, GO)
    {"apply_objects": [{"object_type": "ALL_DESKTOPS"}]},
    {"unknown_field": "ignored"},
]


@pytest.mark.parametrize("overrides", VALID_SCHEDULES)
def test_create_accepts_the_limits(api: TestClient, overrides: dict[str, Any]) -> None:
    r = _post(api, "", json=task_body(**overrides))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("raw", "word"),
    [(b"", "empty"), (b"{not json", "JSON"), (b"[1, 2]", "object"), (b"  ", "empty")],
)
def test_malformed_bodies(api: TestClient, raw: bytes, word: str) -> None:
    _assert_400(_post(api, "", content=raw), word)
    _assert_400(_post(api, "/batch-delete", content=raw), word)


UPDATE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"task_type": "REBOOT"}, "cannot be updated"),
    ({"priority": 0}, "priority"),
    ({"priority": 51}, "between 1 and 50"),
    ({"enable": "false"}, "boolean"),
    ({"is_gray": 1}, "is_gray"),
    ({"extra_params": '"' + "x" * 1023 + '"'}, "1024"),
    ({"apply_object_update_type": "MERGE"}, "apply_object_update_type"),
    ({"task_name": ""}, "task_name"),
    ({"scheduled_type": "FIXED_TIME"}, "scheduled_date"),
    ({"day_interval": 40}, "day_interval"),
]


@pytest.mark.parametrize(("body", "word"), UPDATE_CASES)
def test_update_rejects(api: TestClient, body: dict[str, Any], word: str) -> None:
    task_id = _post(api, "", json=task_body()).json()["task_id"]
    url = f"/v2/{api.pid}/scheduled-tasks/{task_id}"  # type: ignore[attr-defined]
    _assert_400(api.put(url, json=body), word)
    assert api.get(url).json()["task_name"] == "nightly-stop"


LIST_CASES: list[tuple[dict[str, Any], str]] = [
    ({"limit": 10}, "offset"),
    ({"offset": 0}, "limit"),
    ({"offset": -1, "limit": 10}, "offset"),
    ({"offset": 0, "limit": 51}, "between 0 and 50"),
    ({"offset": 0, "limit": -1}, "limit"),
    ({"offset": "a", "limit": 10}, "integer"),
    ({"offset": 0, "limit": "1.5"}, "integer"),
    ({"offset": 0, "limit": 1, "task_type": "EXPLODE"}, "task_type"),
    ({"offset": 0, "limit": 1, "scheduled_type": "HOURLY"}, "scheduled_type"),
    ({"offset": 0, "limit": 1, "life_cycle_type": "NOPE"}, "life_cycle_type"),
    ({"offset": 0, "limit": 1, "last_status": "RUNNING"}, "last_status"),
    ({"offset": 0, "limit": 1, "task_name": LONG}, "task_name"),
]


@pytest.mark.parametrize(("query", "word"), LIST_CASES)
def test_list_rejects(api: TestClient, query: dict[str, Any], word: str) -> None:
    _assert_400(api.get(f"/v2/{api.pid}/scheduled-tasks", params=query), word)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ({"limit": 101}, "between 0 and 100"),
        ({"offset": -1}, "offset"),
        ({"limit": "x"}, "integer"),
    ],
)
def test_records_paging_rejects(api: TestClient, query: dict[str, Any], word: str) -> None:
    task_id = _post(api, "", json=task_body()).json()["task_id"]
    base = f"/v2/{api.pid}/scheduled-tasks/{task_id}/records"  # type: ignore[attr-defined]
    _assert_400(api.get(base, params=query), word)
    _assert_400(api.get(f"{base}/some-record", params=query), word)


@pytest.mark.parametrize(
    ("query", "word"),
    [({}, "offset"), ({"limit": 10}, "offset"), ({"offset": 0}, "limit")],
)
def test_record_details_need_offset_and_limit(
    api: TestClient, query: dict[str, Any], word: str
) -> None:
    """Mandatory in the docs (DOC Details, en + CN) and the SDK; records' stay optional."""
    task_id = _post(api, "", json=task_body()).json()["task_id"]
    api.post("/_emulator/tick", json={"task_ids": [task_id], "status": "SUCCESS"})
    base = f"/v2/{api.pid}/scheduled-tasks/{task_id}/records"  # type: ignore[attr-defined]
    records = api.get(base)
    assert records.status_code == 200
    record_id = records.json()["tasks_records"][0]["id"]
    _assert_400(api.get(f"{base}/{record_id}", params=query), word)
    assert api.get(f"{base}/{record_id}", params={"offset": 0, "limit": 10}).status_code == 200


BATCH_CASES: list[tuple[Any, str]] = [
    ({}, "task_ids"),
    ({"task_ids": []}, "1 to 5000"),
    ({"task_ids": "abc"}, "task_ids"),
    ({"task_ids": ["a"] * 5001}, "5000"),
    ({"task_ids": [""]}, "1 to 255"),
    ({"task_ids": ["x" * 256]}, "255"),
    ({"task_ids": [1, 2]}, "string"),
]


@pytest.mark.parametrize(("body", "word"), BATCH_CASES)
def test_batch_delete_rejects(api: TestClient, body: Any, word: str) -> None:
    task_id = _post(api, "", json=task_body()).json()["task_id"]
    if "task_ids" in body and isinstance(body["task_ids"], list) and body["task_ids"]:
        body = {"task_ids": [task_id, *body["task_ids"]]} if len(body["task_ids"]) < 5000 else body
    _assert_400(_post(api, "/batch-delete", json=body), word)
    assert api.get("/_emulator/health").json()["counts"]["tasks"] == 1  # nothing deleted


def test_batch_delete_accepts_5000_ids_of_255_chars(api: TestClient) -> None:
    ids = [f"{i:0255d}" for i in range(5000)]
    assert _post(api, "/batch-delete", json={"task_ids": ids}).status_code == 200


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"scheduled_type": "DAY", "scheduled_time": "08:00:00"}, "day_interval"),
        ({"scheduled_type": "WEEK", "week_list": "9", "scheduled_time": "08:00:00"}, "week_list"),
        ({"day_interval": 1}, "scheduled_type"),
    ],
)
def test_future_executions_rejects(api: TestClient, body: dict[str, Any], word: str) -> None:
    _assert_400(_post(api, "/future-executions", json=body), word)


def test_life_cycle_configuration_type_is_checked(api: TestClient) -> None:
    url = f"/v2/{api.pid}/scheduled-tasks/life-cycle-type/configurations"  # type: ignore[attr-defined]
    _assert_400(api.get(url, params={"type": "POST_LUNCH"}), "type")


def test_validators_directly() -> None:
    assert v.page_query({}) == (0, 10)
    assert v.list_query({"offset": "5", "limit": "0", "task_name": ""}) == (5, 0, {})
    with pytest.raises(ApiError) as caught:
        v.task_ids({"task_ids": ["ok", None]})
    assert caught.value.status == 400 and caught.value.code == "WKS.0001"
