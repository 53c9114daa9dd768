"""The operations' behaviour: create/show, lists, updates, deletes, records, helpers, projects."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from tests.emulator._api import _base, create, page
from wsnb.emulator.state import EmulatorState


def test_create_show_round_trip_fills_defaults_and_object_names(api: TestClient) -> None:
    task_id = create(api, description="hello", extra_params='{"notify_message": "bye"}')
    shown = api.get(f"{_base(api)}/{task_id}").json()
    assert shown["id"] == task_id
    assert shown["task_type"] == "STOP"
    assert shown["force_execute"] is False
    assert shown["description"] == "hello"
    assert shown["extra_params"] == '{"notify_message": "bye"}'
    assert shown["apply_objects"][0]["object_id"] == "d-1"
    assert shown["apply_objects"][0]["object_name"]
    assert "enable" not in shown  # not in the SDK's detail model


def test_all_desktops_without_an_id_round_trips(api: TestClient) -> None:
    task_id = create(api, apply_objects=[{"object_type": "ALL_DESKTOPS"}])
    shown = api.get(f"{_base(api)}/{task_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["apply_objects"] == [{"object_type": "ALL_DESKTOPS"}]


def test_list_is_newest_first_and_pages_by_offset(api: TestClient) -> None:
    ids = [create(api, task_name=f"t{i}") for i in range(7)]
    first = page(api, limit=3)
    second = page(api, offset=3, limit=3)
    third = page(api, offset=6, limit=3)
    listed = [t["id"] for p in (first, second, third) for t in p["scheduled_tasks"]]
    assert listed == ids[::-1]
    assert {first["total_count"], third["total_count"]} == {7}
    empty = page(api, limit=0)
    assert empty == {"scheduled_tasks": [], "total_count": 7}


def test_list_filters_combine_and_name_is_case_sensitive_substring(api: TestClient) -> None:
    stop = create(api, task_name="Nightly stop")
    create(api, task_name="nightly reboot", task_type="REBOOT")
    create(api, task_name="夜间关机", task_type="HIBERNATE")
    assert [t["id"] for t in page(api, task_name="Nightly")["scheduled_tasks"]] == [stop]
    assert page(api, task_name="ightly")["total_count"] == 2
    assert page(api, task_name="关机")["total_count"] == 1
    assert page(api, task_name="ightly", task_type="REBOOT")["total_count"] == 1
    assert page(api, task_type="START")["total_count"] == 0


def test_life_cycle_tasks_are_listed_only_when_asked(api: TestClient) -> None:
    create(api)
    life = create(
        api,
        scheduled_type="LIFE_CYCLE",
        life_cycle_type="POST_DESKTOP_DISCONNECTED",
        day_interval=None,
        scheduled_time=None,
    )
    assert page(api)["total_count"] == 1
    only = page(api, scheduled_type="LIFE_CYCLE")
    assert [t["id"] for t in only["scheduled_tasks"]] == [life]
    item = only["scheduled_tasks"][0]
    assert item["life_cycle_exec_period"] == 1440
    assert item["wait_time"] == 0
    assert "next_execution_time" not in item


def test_list_item_shape_and_last_status_absent_until_a_run(
    api: TestClient, app_state: EmulatorState
) -> None:
    task_id = create(api, expire_time="2099-01-01 00:00:00")
    item = page(api)["scheduled_tasks"][0]
    assert item["enable"] is True
    assert item["expire_time"] == "2099-01-01 00:00:00"
    assert "last_status" not in item
    assert "priority" not in item  # only for trigger tasks
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 22:00:00", item["next_execution_time"])
    r = api.post("/_emulator/tick", json={"task_ids": [task_id], "status": "FAIL"})
    assert r.json() == {"records": 1}
    assert page(api)["scheduled_tasks"][0]["last_status"] == "FAIL"


def test_partial_update_keeps_other_fields(api: TestClient) -> None:
    task_id = create(api, description="keep me")
    r = api.put(f"{_base(api)}/{task_id}", json={"task_name": "renamed", "enable": False})
    assert r.status_code == 200
    shown = api.get(f"{_base(api)}/{task_id}").json()
    assert shown["task_name"] == "renamed"
    assert shown["description"] == "keep me"
    assert shown["day_interval"] == 1
    item = page(api)["scheduled_tasks"][0]
    assert item["enable"] is False
    assert "next_execution_time" not in item  # disabled


def test_update_apply_objects_full_coverage_and_clear_all(api: TestClient) -> None:
    task_id = create(api)
    url = f"{_base(api)}/{task_id}"
    new = [{"object_type": "DESKTOP_POOL", "object_id": "pool-9"}]
    api.put(url, json={"apply_object_update_type": "FULL_COVERAGE", "apply_objects": new})
    assert [o["object_id"] for o in api.get(url).json()["apply_objects"]] == ["pool-9"]
    api.put(url, json={"apply_object_update_type": "CLEAR_ALL"})
    assert api.get(url).json()["apply_objects"] == []


def test_update_is_checked_against_the_merged_task(api: TestClient) -> None:
    task_id = create(api, task_type="START")
    r = api.put(
        f"{_base(api)}/{task_id}",
        json={"scheduled_type": "LIFE_CYCLE", "life_cycle_type": "POST_DESKTOP_DISCONNECTED"},
    )
    assert r.status_code == 400
    assert "task_type" in r.json()["error_msg"]
    r = api.put(f"{_base(api)}/{task_id}", json={"scheduled_type": "WEEK"})
    assert r.status_code == 400 and "week_list" in r.json()["error_msg"]
    assert api.get(f"{_base(api)}/{task_id}").json()["scheduled_type"] == "DAY"  # unchanged


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "/{id}"),
        ("PUT", "/{id}"),
        ("DELETE", "/{id}"),
        ("GET", "/{id}/records"),
        ("GET", "/{id}/records/r-1?offset=0&limit=10"),
        ("POST", "/{id}/records/export"),
    ],
)
def test_unknown_task_is_400_wks_0001(api: TestClient, method: str, suffix: str) -> None:
    body = json.dumps({"description": "x"}) if method == "PUT" else None
    r = api.request(method, _base(api) + suffix.format(id="no-such-task"), content=body)
    assert r.status_code == 400
    assert r.json() == {"error_code": "WKS.0001", "error_msg": "The scheduled task does not exist."}


def test_projects_are_isolated(api: TestClient) -> None:
    mine = create(api)
    theirs = create(api, pid="other-project")
    assert [t["id"] for t in page(api)["scheduled_tasks"]] == [mine]
    assert [t["id"] for t in page(api, pid="other-project")["scheduled_tasks"]] == [theirs]
    r = api.get(f"{_base(api)}/{theirs}")
    assert r.status_code == 400
    r = api.post(f"{_base(api)}/batch-delete", json={"task_ids": [theirs]})
    assert r.status_code == 200  # unknown here: ignored by default
    assert page(api, pid="other-project")["total_count"] == 1


def test_batch_delete_ignores_unknown_and_duplicate_ids_by_default(api: TestClient) -> None:
    a, b, c = create(api), create(api), create(api)
    r = api.post(f"{_base(api)}/batch-delete", json={"task_ids": [a, a, "ghost", b]})
    assert r.status_code == 200
    assert [t["id"] for t in page(api)["scheduled_tasks"]] == [c]


def test_batch_delete_reject_policy_is_all_or_nothing(api: TestClient) -> None:
    a, b = create(api), create(api)
    assert api.put("/_emulator/policy", json={"unknown_ids": "reject"}).status_code == 200
    r = api.post(f"{_base(api)}/batch-delete", json={"task_ids": [a, "ghost", b]})
    assert r.status_code == 400
    assert r.json()["error_msg"] == "The scheduled task does not exist."
    assert page(api)["total_count"] == 2
    r = api.post(f"{_base(api)}/batch-delete", json={"task_ids": [a, b, a]})
    assert r.status_code == 200
    assert page(api)["total_count"] == 0


def test_deleting_a_task_deletes_its_records(api: TestClient, app_state: EmulatorState) -> None:
    task_id = create(api)
    api.post("/_emulator/tick", json={"task_ids": [task_id], "status": "SUCCESS"})
    assert app_state.store.counts()["records"] == 1
    api.delete(f"{_base(api)}/{task_id}")
    assert app_state.store.counts() == {"tasks": 0, "records": 0, "details": 0}


def test_records_and_details_page(api: TestClient) -> None:
    task_id = create(api)
    for seed in range(12):
        api.post("/_emulator/tick", json={"task_ids": [task_id], "seed": seed})
    records = api.get(f"{_base(api)}/{task_id}/records").json()
    assert records["total_count"] == 12
    assert len(records["tasks_records"]) == 10  # default limit
    more = api.get(f"{_base(api)}/{task_id}/records", params={"offset": 10, "limit": 100}).json()
    assert len(more["tasks_records"]) == 2
    record = records["tasks_records"][0]
    assert record["status"] in {"SUCCESS", "SKIP", "FAIL"}
    details = api.get(
        f"{_base(api)}/{task_id}/records/{record['id']}", params={"offset": 0, "limit": 10}
    ).json()
    assert details["total_count"] == len(details["tasks_records_details"]) >= 1
    assert {d["record_id"] for d in details["tasks_records_details"]} == {record["id"]}
    r = api.get(f"{_base(api)}/{task_id}/records/not-a-record", params={"offset": 0, "limit": 1})
    assert r.status_code == 400 and "record" in r.json()["error_msg"]


def test_export_returns_a_csv_file(api: TestClient) -> None:
    task_id = create(api)
    api.post("/_emulator/tick", json={"task_ids": [task_id], "status": "SUCCESS"})
    r = api.post(f"{_base(api)}/{task_id}/records/export", params={"language": "en-us"})
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,start_time,task_type")
    assert len(lines) == 2 and ",SUCCESS," in lines[1]


def test_helpers_time_zones_and_life_cycle_configurations(api: TestClient) -> None:
    zones = api.get(f"/v2/{api.pid}/common/timezones").json()["time_zones"]  # type: ignore[attr-defined]
    assert any(
        z["time_zone_name"] == "Asia/Shanghai" and z["time_zone"] == "GMT+08:00" for z in zones
    )
    one = api.get(
        f"/v2/{api.pid}/common/timezones",  # type: ignore[attr-defined]
        params={"time_zone_name": "Asia/Tokyo"},
    ).json()
    assert [z["time_zone_name"] for z in one["time_zones"]] == ["Asia/Tokyo"]
    conf = api.get(
        f"{_base(api)}/life-cycle-type/configurations", params={"type": "POST_DESKTOP_DISCONNECTED"}
    ).json()
    assert list(conf) == ["POST_DESKTOP_DISCONNECTED"]
    assert {"min_wait_time", "default_exec_time", "actions"} <= set(
        conf["POST_DESKTOP_DISCONNECTED"]
    )


def test_future_executions_creates_nothing(api: TestClient) -> None:
    body = {"scheduled_type": "WEEK", "week_list": "1", "scheduled_time": "09:00:00"}
    r = api.post(f"{_base(api)}/future-executions", json=body)
    runs = r.json()["future_executions"]
    assert len(runs) == 5 and all(run.endswith(" 09:00:00") for run in runs)
    assert page(api)["total_count"] == 0
