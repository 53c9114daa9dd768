"""Hostile input: client mistakes must be 400 ``WKS.0001`` naming the field, never a 500.

Deeply nested JSON, lone surrogates (``"\\ud800"`` as a JSON escape), integers past what the
service parses, and the same mistakes in every place the emulator reads a body or a query.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import task_body
from tests.emulator._api import _base, create
from wsnb.emulator import Emulator
from wsnb.emulator import _validation as v
from wsnb.emulator._errors import ApiError

NESTED = b"[" * 100_000 + b"]" * 100_000


def _assert_400(r: Any, word: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] == "WKS.0001", body
    assert word in body["error_msg"], body["error_msg"]


def _splice(body: dict[str, Any], name: str, raw: str) -> bytes:
    """``body`` as JSON text with field ``name`` set to the raw JSON text ``raw``."""
    rest = {k: val for k, val in body.items() if k != name}
    return (json.dumps(rest)[:-1] + f', "{name}": {raw}}}').encode()


# --- deeply nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix", ["", "/batch-delete", "/future-executions"], ids=["create", "batch", "future"]
)
def test_deeply_nested_json_is_400(api: TestClient, suffix: str) -> None:
    body = b'{"task_ids": ' + NESTED + b', "task_name": ' + NESTED + b"}"
    _assert_400(api.post(_base(api) + suffix, content=body), "nested")
    _assert_400(api.post(_base(api) + suffix, content=NESTED), "nested")


def test_deeply_nested_json_in_update_and_extra_params_is_400(api: TestClient) -> None:
    task_id = create(api)
    _assert_400(api.put(f"{_base(api)}/{task_id}", content=NESTED), "nested")
    nested_text = json.dumps("[" * 1000 + "]" * 1000)  # within extra_params' 2000 chars
    raw = _splice(task_body(), "extra_params", nested_text)
    _assert_400(api.post(_base(api), content=raw), "extra_params")


def test_nesting_limit_is_max_depth(api: TestClient) -> None:
    """Depth counts containers below the body object; the limit is ``MAX_DEPTH``."""
    inside = v.MAX_DEPTH - 1  # the body object itself is the first level
    ok = _splice(task_body(), "unknown", "[" * inside + "]" * inside)
    assert api.post(_base(api), content=ok).status_code == 200
    deep = _splice(task_body(), "unknown", "[" * (inside + 1) + "]" * (inside + 1))
    _assert_400(api.post(_base(api), content=deep), "nested")


# --- lone surrogates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "word"),
    [
        ("task_name", '"\\ud800"', "task_name"),
        ("task_name", '"night \\udc00 stop"', "task_name"),
        ("description", '"\\ud800"', "description"),
        ("extra_params", '"{\\"a\\": \\"\\ud800\\"}"', "extra_params"),
        ("apply_objects", '[{"object_type": "DESKTOP", "object_id": "\\ud800"}]', "object_id"),
        ("gray_desktop_ids", '["\\ud800"]', "gray_desktop_ids"),
        ("unknown_\\ud800", "1", "unknown_"),  # even in a key of an ignored field
    ],
)
def test_lone_surrogate_in_create_is_400(api: TestClient, name: str, raw: str, word: str) -> None:
    r = api.post(_base(api), content=_splice(task_body(), name, raw))
    _assert_400(r, word)
    assert "Unicode" in r.json()["error_msg"]
    assert api.get("/_emulator/health").json()["counts"]["tasks"] == 0


def test_lone_surrogate_in_update_and_batch_delete_is_400(api: TestClient) -> None:
    task_id = create(api)
    r = api.put(f"{_base(api)}/{task_id}", content=b'{"description": "\\ud800"}')
    _assert_400(r, "description")
    r = api.post(f"{_base(api)}/batch-delete", content=b'{"task_ids": ["\\udc00"]}')
    _assert_400(r, "task_ids")
    r = api.post(
        f"{_base(api)}/future-executions",
        content=b'{"scheduled_type": "DAY", "day_interval": 1, "scheduled_time": "\\ud800"}',
    )
    _assert_400(r, "scheduled_time")
    assert api.get("/_emulator/health").json()["counts"]["tasks"] == 1


def test_surrogate_check_names_nested_fields() -> None:
    with pytest.raises(ApiError) as caught:
        v.parse_json_body(b'{"apply_objects": [{"object_id": "a"}, {"object_id": "\\ud800x"}]}')
    assert caught.value.status == 400
    assert "apply_objects[1].object_id" in caught.value.message
    assert v.parse_json_body(b'{"task_name": "\\ud83d\\ude00 ok"}') == {"task_name": "😀 ok"}


# --- numbers past what the service parses --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("offset", str(2**63)),
        ("offset", str(2**64 + 5)),
        ("offset", str(2**31)),
        ("offset", "1_0"),
        ("offset", " 5"),
        ("offset", "\u0661\u0662"),  # Arabic-Indic digits: Python's int() takes them
        ("limit", "1" * 5000),
        ("limit", "\u0665"),
    ],
)
def test_list_query_integers_out_of_reach_are_400(api: TestClient, name: str, value: str) -> None:
    query = {"offset": "0", "limit": "10", name: value}
    _assert_400(api.get(_base(api), params=query), name)


@pytest.mark.parametrize(
    ("name", "value"), [("offset", str(2**63)), ("offset", str(2**31)), ("limit", "1_0")]
)
def test_records_query_integers_out_of_reach_are_400(
    api: TestClient, name: str, value: str
) -> None:
    task_id = create(api)
    base = f"{_base(api)}/{task_id}/records"
    _assert_400(api.get(base, params={name: value}), name)
    _assert_400(api.get(f"{base}/some-record", params={name: value}), name)


def test_largest_offset_is_an_empty_page(api: TestClient) -> None:
    create(api)
    r = api.get(_base(api), params={"offset": str(2**31 - 1), "limit": "50"})
    assert r.status_code == 200, r.text
    assert r.json() == {"scheduled_tasks": [], "total_count": 1}


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("gray_count", "9" * 40),
        ("gray_count", "1e400"),
        ("wait_time", "-" + "9" * 40),
        ("day_interval", "1.0"),
    ],
)
def test_huge_body_numbers_are_400(api: TestClient, name: str, raw: str) -> None:
    _assert_400(api.post(_base(api), content=_splice(task_body(), name, raw)), name)


def test_body_number_with_too_many_digits_is_400(api: TestClient) -> None:
    raw = _splice(task_body(), "gray_count", "9" * 5000)  # past Python's int-from-text limit
    r = api.post(_base(api), content=raw)
    assert r.status_code == 400 and r.json()["error_code"] == "WKS.0001", r.text


def test_time_zone_of_2000_chars_is_400(api: TestClient) -> None:
    _assert_400(api.post(_base(api), json=task_body(time_zone="a" * 2000)), "time_zone")


def test_non_string_ids_are_400(api: TestClient) -> None:
    for ids in ([None], [["a"]], [{"id": "a"}], [True], [10**30]):
        _assert_400(api.post(f"{_base(api)}/batch-delete", json={"task_ids": ids}), "task_ids")


# --- over a real socket --------------------------------------------------------------------------


def test_hostile_calls_over_a_socket_are_logged_400s(emulator: Emulator) -> None:
    """Signed calls through uvicorn: the answers are 400s and the request log says so."""
    import httpx

    http = httpx.Client(base_url=emulator.endpoint, headers={"X-Auth-Token": emulator.token})
    base = f"/v2/{emulator.project_id}/scheduled-tasks"
    try:
        bodies = [http.post(f"{base}/batch-delete", content=NESTED)]
        bodies.append(http.post(base, content=_splice(task_body(), "task_name", '"\\ud800"')))
        bodies.append(http.get(base, params={"offset": str(2**63), "limit": "1"}))
    finally:
        http.close()
    assert [r.status_code for r in bodies] == [400, 400, 400]
    assert [e["status"] for e in emulator.control.requests()] == [400, 400, 400]


def test_control_plane_refuses_nested_json(api: TestClient) -> None:
    r = api.post("/_emulator/seed", content=NESTED)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "EMU.400"


def test_raw_http_garbage_gets_uvicorns_plain_400(emulator: Emulator) -> None:
    """Documented in the README: it never reaches the app (no envelope, no log entry)."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(emulator.endpoint)
    for raw in (b"GARBAGE\r\n\r\n", b"GET /v2/p/\xff HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(raw)
            head = sock.recv(200)
        assert head.startswith(b"HTTP/1.1 400 ") and b"text/plain" in head
    assert emulator.control.requests() == []
