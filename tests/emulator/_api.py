"""Helpers for the emulator's HTTP tests: task URLs, creating tasks, reading list pages."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import task_body

JSON_TYPE = "application/json;charset=UTF-8"


def _base(api: TestClient, pid: str | None = None) -> str:
    return f"/v2/{pid or api.pid}/scheduled-tasks"  # type: ignore[attr-defined]


def create(api: TestClient, pid: str | None = None, **overrides: Any) -> str:
    r = api.post(_base(api, pid), json=task_body(**overrides))
    assert r.status_code == 200, r.text
    task_id: str = r.json()["task_id"]
    return task_id


def page(api: TestClient, pid: str | None = None, **query: Any) -> dict[str, Any]:
    query = {"offset": 0, "limit": 50, **query}
    r = api.get(_base(api, pid), params=query)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result
