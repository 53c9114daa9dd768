"""Emulator profiles: the presets, each knob on its own, combining them, switching at run time.

Each knob reproduces one evidenced difference between the documents and the live service (the
tags in the comments are those of ``live-api-evidence.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.conftest import task_body
from tests.emulator._api import _base, create
from wsnb.emulator import PROFILES, Emulator, EmulatorConfig, Profile, create_app
from wsnb.emulator._cli import build_emulator
from wsnb.emulator._cli import emulator as emulator_group
from wsnb.emulator.state import EmulatorState


def app(profile: Profile | str, **config: Any) -> TestClient:
    state = EmulatorState(EmulatorConfig(auth="loose", profile=profile, **config))
    client = TestClient(create_app(state=state))
    client.pid = state.config.project_id  # type: ignore[attr-defined]
    return client


@pytest.fixture
def live() -> Iterator[TestClient]:
    with app("live") as client:
        yield client


def test_presets_and_combinations() -> None:
    assert Profile() == PROFILES["documented"] and Profile().name == "documented"
    live = Profile.preset("live")
    assert (live.gateway_prefix, live.total_count, live.time_zone_filter) == (
        "APIGW",
        "with_life_cycle",
        False,
    )
    omitting = Profile.preset("live", total_count="omit")
    assert omitting.name == "custom" and omitting.gateway_prefix == "APIGW"
    assert Profile(total_count="omit").gateway_prefix == "APIG"
    assert Profile.from_dict({"preset": "live", "record_times": "plain"}).record_times == "plain"
    assert Profile.from_dict({"total_count": "omit"}, base=live) == omitting
    assert Profile.from_dict(live.to_dict()) == live  # "name" is informative, ignored
    with pytest.raises(ValueError, match="unknown profile 'staging'"):
        Profile.preset("staging")
    with pytest.raises(ValueError, match="unknown profile knob"):
        Profile.preset("live", colour="red")
    with pytest.raises(ValueError, match="total_count must be one of"):
        Profile(total_count="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time_zone_filter"):
        Profile(time_zone_filter=1)  # type: ignore[arg-type]
    assert EmulatorConfig(profile="live").profile == live


@pytest.mark.parametrize(
    ("knob", "value", "status", "code"),
    [
        # 401: SIGN error table, ISS (ddns-go#844, sdk-python#13)
        ("auth", None, 401, "0301"),
        # 404: APIG table; APIGW for cloud services (same prefix argument)
        ("missing", None, 404, "0101"),
        # 413: APIG table / SIGN 12 MB
        ("big", None, 413, "0201"),
        # 429: OCE FAQ
        ("throttle", None, 429, "0308"),
    ],
)
@pytest.mark.parametrize("prefix", ["APIG", "APIGW"])
def test_gateway_prefix_knob(knob: str, value: Any, status: int, code: str, prefix: str) -> None:
    from wsnb.emulator import Throttle

    extra: dict[str, Any] = {"auth": "strict"} if knob == "auth" else {}
    if knob == "big":
        extra["max_body_bytes"] = 100
    if knob == "throttle":
        extra["throttle"] = Throttle(reads_per_minute=1)
    state = EmulatorState(
        EmulatorConfig(**{"auth": "loose", **extra}, profile=Profile(gateway_prefix=prefix))  # type: ignore[arg-type]
    )
    with TestClient(create_app(state=state)) as client:
        base = f"/v2/{state.config.project_id}/scheduled-tasks"
        if knob == "big":
            r = client.post(base, content=b"x" * 200)
        elif knob == "missing":
            r = client.get(f"/v2/{state.config.project_id}/nothing-here")
        else:
            r = client.get(base, params={"offset": 0, "limit": 1})
            if knob == "throttle":
                r = client.get(base, params={"offset": 0, "limit": 1})
    assert r.status_code == status
    body = r.json()
    assert body["error_code"] == f"{prefix}.{code}"
    assert body["request_id"] == r.headers["x-request-id"]


def test_injected_fault_codes_are_sent_as_given(live: TestClient) -> None:
    live.post("/_emulator/faults", json={"status": 429, "error_code": "APIG.0308", "count": 1})
    r = live.get(_base(live), params={"offset": 0, "limit": 1})
    assert (r.status_code, r.json()["error_code"]) == (429, "APIG.0308")


@pytest.mark.parametrize(
    ("total_count", "plain", "life"),
    [("listed", 2, 1), ("with_life_cycle", 3, 1), ("omit", None, None)],
)
def test_total_count_knob(total_count: str, plain: int | None, life: int | None) -> None:
    """TF ignores the total and pages to a short page; the live total counts hidden tasks."""
    with app(Profile(total_count=total_count)) as client:  # type: ignore[arg-type]
        create(client)
        create(client, task_name="other")
        create(
            client,
            scheduled_type="LIFE_CYCLE",
            life_cycle_type="POST_DESKTOP_DISCONNECTED",
            day_interval=None,
            scheduled_time=None,
        )
        pages = [
            client.get(_base(client), params={"offset": 0, "limit": 50, **q}).json()
            for q in ({}, {"scheduled_type": "LIFE_CYCLE"})
        ]
    assert [len(p["scheduled_tasks"]) for p in pages] == [2, 1]
    assert [p.get("total_count") for p in pages] == [plain, life]
    assert ("total_count" in pages[0]) == (total_count != "omit")


def test_time_knobs_write_the_evidenced_shapes(live: TestClient) -> None:
    """List ``next_execution_time`` with the zone's offset at that time (TF docs), records'
    ``start_time`` RFC 3339 (TF ``time.RFC3339``), details ``….000Z`` UTC (TF parse format)."""
    summer = create(
        live,
        scheduled_type="FIXED_TIME",
        scheduled_date="2099-07-01",
        scheduled_time="08:00:00",
        day_interval=None,
        time_zone="Europe/Berlin",
    )
    winter = create(
        live,
        scheduled_type="FIXED_TIME",
        scheduled_date="2099-01-15",
        scheduled_time="08:00:00",
        day_interval=None,
        time_zone="Europe/Berlin",
    )
    items = {
        t["id"]: t
        for t in live.get(_base(live), params={"offset": 0, "limit": 50}).json()["scheduled_tasks"]
    }
    assert items[summer]["next_execution_time"] == "2099-07-01 08:00:00 GMT+02:00"
    assert items[winter]["next_execution_time"] == "2099-01-15 08:00:00 GMT+01:00"
    live.post("/_emulator/tick", json={"task_ids": [summer]})
    record = live.get(f"{_base(live)}/{summer}/records").json()["tasks_records"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", record["start_time"])
    detail = live.get(
        f"{_base(live)}/{summer}/records/{record['id']}", params={"offset": 0, "limit": 10}
    ).json()["tasks_records_details"][0]
    for name in ("start_time", "end_time"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", detail[name])
    # the stored (documented) form is untouched: switching back shows it again
    live.put("/_emulator/profile", json={"preset": "documented"})
    again = live.get(f"{_base(live)}/{summer}/records").json()["tasks_records"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", again["start_time"])


def test_time_zone_filter_knob(live: TestClient) -> None:
    url = f"/v2/{live.pid}/common/timezones"  # type: ignore[attr-defined]
    everything = live.get(url).json()["time_zones"]
    assert live.get(url, params={"time_zone_name": "Asia/Tokyo"}).json()["time_zones"] == everything
    live.put("/_emulator/profile", json={"time_zone_filter": True})
    one = live.get(url, params={"time_zone_name": "Asia/Tokyo"}).json()["time_zones"]
    assert [z["time_zone_name"] for z in one] == ["Asia/Tokyo"]


def test_control_plane_switches_profiles_and_reset_restores(emulator: Emulator) -> None:
    control = emulator.control
    assert control.profile()["name"] == "documented"
    assert control.set_profile("live")["name"] == "live"
    assert control.health()["profile"] == "live"
    changed = control.set_profile(total_count="omit")  # a knob on top of the current profile
    assert (changed["name"], changed["gateway_prefix"]) == ("custom", "APIGW")
    assert control.set_profile(Profile(detail_times="utc_millis"))["gateway_prefix"] == "APIG"
    with pytest.raises(Exception, match="unknown profile knob"):
        control.set_profile(colour="red")
    control.deny(["t-1"], status=400)
    assert control.denials()[0]["status"] == 400
    control.reset()
    assert control.profile()["name"] == "documented" and control.denials() == []


def test_denials_refuse_every_call_naming_the_id(api: TestClient) -> None:
    """Per-id IAM (DEF batch-delete ``@WksIamAuthMeta(resourceField="taskIds")``)."""
    task_id = create(api)
    other = create(api, task_name="other")
    api.put("/_emulator/denials", json={"task_ids": [task_id]})
    base = _base(api)
    calls = [
        ("GET", f"{base}/{task_id}", None),
        ("PUT", f"{base}/{task_id}", {"description": "x"}),
        ("DELETE", f"{base}/{task_id}", None),
        ("GET", f"{base}/{task_id}/records", None),
        ("POST", f"{base}/{task_id}/records/export", None),
        ("POST", f"{base}/batch-delete", {"task_ids": [other, task_id]}),
    ]
    for method, url, body in calls:
        r = api.request(method, url, json=body)
        assert r.status_code == 403, (method, url)
        payload = r.json()
        assert payload["encoded_authorization_message"]
        assert "workspace:scheduledTasks:" in payload["error_msg"]
    assert api.get(f"{base}/{other}").status_code == 200  # nothing was deleted
    assert api.put("/_emulator/denials", json={"task_ids": "x"}).status_code == 400
    assert api.put("/_emulator/denials", json={"task_ids": ["x"], "status": 500}).status_code == 400
    api.delete("/_emulator/denials")
    r = api.post(f"{base}/batch-delete", json={"task_ids": [other, task_id]})
    assert r.status_code == 200


def test_emulator_and_cli_take_a_profile(tmp_path: Any) -> None:
    emu = Emulator(profile=Profile.preset("live", total_count="omit"))
    assert emu.state.profile.total_count == "omit" and "profile='custom'" in repr(emu)
    emu.state.store.close()
    built = build_emulator(
        host="127.0.0.1", port=0, db=None, seed=0, tasks=0, project_id=None, auth="strict",
        unknown_ids="ignore", reads_per_minute=None, writes_per_minute=None, retry_after=True,
        fault_rate=0.0, fault_status=500, profile="live",
    )  # fmt: skip
    assert built.state.profile == PROFILES["live"]
    built.state.store.close()
    result = CliRunner().invoke(emulator_group, ["serve", "--help"])
    assert "--profile [documented|live]" in result.output


def test_all_desktops_and_documented_details_paging(api: TestClient) -> None:
    """Documented: ``object_id`` optional for ALL_DESKTOPS (DEF ``ApplyObject`` has no
    ``required``), details' ``offset``/``limit`` mandatory (DOC Details)."""
    r = api.post(_base(api), json=task_body(apply_objects=[{"object_type": "ALL_DESKTOPS"}]))
    assert r.status_code == 200
    task_id = r.json()["task_id"]
    api.post("/_emulator/tick", json={"task_ids": [task_id]})
    record = api.get(f"{_base(api)}/{task_id}/records").json()["tasks_records"][0]
    assert api.get(f"{_base(api)}/{task_id}/records/{record['id']}").status_code == 400
