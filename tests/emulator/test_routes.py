"""The route table: literal segments before ``{task_id}``, unknown APIs and methods as 404."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.emulator._api import JSON_TYPE, _base


def test_literal_segments_win_over_task_id(api: TestClient) -> None:
    body = {"scheduled_type": "DAY", "day_interval": 2, "scheduled_time": "08:00:00"}
    r = api.post(f"{_base(api)}/future-executions", json=body)
    assert r.status_code == 200 and len(r.json()["future_executions"]) == 5
    r = api.get(f"{_base(api)}/life-cycle-type/configurations")
    assert r.status_code == 200 and "POST_DESKTOP_CANNOT_CONNECT" in r.json()
    # a GET on a POST-only literal is "show task 'batch-delete'", as on the real gateway
    r = api.get(f"{_base(api)}/batch-delete")
    assert r.status_code == 400 and r.json()["error_msg"] == "The scheduled task does not exist."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/{pid}/no-such-thing"),
        ("PATCH", "/v2/{pid}/scheduled-tasks/abc"),
        ("DELETE", "/v2/{pid}/scheduled-tasks"),
        ("GET", "/v1/{pid}/schedule-task"),
        ("POST", "/v2/{pid}/common/timezones"),
    ],
)
def test_unknown_api_or_method_is_404_apig_0101(api: TestClient, method: str, path: str) -> None:
    r = api.request(method, path.format(pid=api.pid))  # type: ignore[attr-defined]
    assert r.status_code == 404
    assert r.json()["error_code"] == "APIG.0101"
    assert r.headers["content-type"] == JSON_TYPE
