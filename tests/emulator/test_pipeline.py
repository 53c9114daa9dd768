"""The per-call pipeline: request ids, content type, empty answers, 413 body limit, JSON 500."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.emulator._api import JSON_TYPE, _base, create
from wsnb.emulator.state import EmulatorState


def test_every_response_has_request_id_and_content_type(api: TestClient) -> None:
    task_id = create(api)
    responses = [
        api.get(_base(api), params={"offset": 0, "limit": 1}),
        api.get(f"{_base(api)}/{task_id}"),
        api.put(f"{_base(api)}/{task_id}", json={"description": "x"}),
        api.get(f"{_base(api)}/nope"),
        api.get("/v2/p/unknown"),
        api.delete(f"{_base(api)}/{task_id}"),
    ]
    ids = set()
    for r in responses:
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
        assert r.headers["content-type"] == JSON_TYPE
        ids.add(r.headers["x-request-id"])
    assert len(ids) == len(responses)


def test_update_delete_batch_delete_answer_empty_bodies(api: TestClient) -> None:
    a, b = create(api), create(api)
    for r in (
        api.put(f"{_base(api)}/{a}", json={"enable": False}),
        api.delete(f"{_base(api)}/{a}"),
        api.post(f"{_base(api)}/batch-delete", json={"task_ids": [b]}),
    ):
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["content-length"] == "0"


def test_huge_body_is_413_apig_0201(app_state: EmulatorState) -> None:
    from wsnb.emulator import create_app

    app_state.config.max_body_bytes = 1000
    with TestClient(create_app(state=app_state)) as client:
        url = f"/v2/{app_state.config.project_id}/scheduled-tasks/batch-delete"
        r = client.post(url, json={"task_ids": ["x" * 200] * 10})
        assert r.status_code == 413
        assert r.json()["error_code"] == "APIG.0201"
        assert client.post(url, json={"task_ids": ["x"]}).status_code == 200


def test_unexpected_exception_is_json_500(api: TestClient, app_state: EmulatorState) -> None:
    def boom(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("disk on fire")

    app_state.store.list_raw = boom  # type: ignore[method-assign]
    r = api.get(_base(api), params={"offset": 0, "limit": 1})
    assert r.status_code == 500
    assert r.headers["content-type"] == JSON_TYPE
    assert r.json()["error_code"] == "WKS.0202"
    assert "disk on fire" not in r.text
