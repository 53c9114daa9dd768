"""Authentication: configured tokens, SDK-HMAC-SHA256 signatures (tampering, skew), loose mode."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from wsnb import _signer
from wsnb.emulator import Emulator


def signed(
    emu: Emulator,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    when: datetime | None = None,
    sk: str | None = None,
    ak: str | None = None,
) -> httpx.Request:
    """A request signed the way the SDK signs it (host, content-type, x-project-id, x-sdk-date)."""
    url = httpx.URL(emu.endpoint + path, params=query or [])
    headers = {
        "Content-Type": "application/json",
        "Host": url.netloc.decode(),
        "X-Project-Id": emu.project_id,
        "X-Sdk-Date": _signer.format_sdk_date(when or datetime.now(UTC)),
    }
    headers["Authorization"] = _signer.sign(
        method,
        url.raw_path.split(b"?")[0].decode(),
        query or [],
        headers,
        body,
        ak or emu.ak,
        sk or emu.sk,
    )
    return httpx.Request(method, url, headers=headers, content=body)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _tasks(emu: Emulator) -> str:
    return f"/v2/{emu.project_id}/scheduled-tasks"


LIST_QUERY = [("offset", "0"), ("limit", "10"), ("task_name", "night stop")]


def test_valid_signature_is_accepted(emulator: Emulator, http: httpx.Client) -> None:
    r = http.send(signed(emulator, "GET", _tasks(emulator), query=LIST_QUERY))
    assert r.status_code == 200, r.text
    body = b'{"task_ids": ["a", "b"]}'
    r = http.send(signed(emulator, "POST", _tasks(emulator) + "/batch-delete", body=body))
    assert r.status_code == 200, r.text


def _rebuild(
    req: httpx.Request,
    *,
    url: httpx.URL | None = None,
    headers: httpx.Headers | None = None,
    content: bytes | None = None,
) -> httpx.Request:
    """A copy of ``req`` with parts replaced (Content-Length recomputed)."""
    kept = httpx.Headers(headers if headers is not None else req.headers)
    del kept["Content-Length"]
    body = req.content if content is None else content
    return httpx.Request(req.method, url or req.url, headers=kept, content=body)


def _tamper_body(req: httpx.Request) -> httpx.Request:
    return _rebuild(req, content=b'{"task_ids": ["c"]}')


def _tamper_query(req: httpx.Request) -> httpx.Request:
    return _rebuild(req, url=req.url.copy_set_param("x", "2"))


def _tamper_path(req: httpx.Request) -> httpx.Request:
    parts = req.url.path.split("/")
    parts[2] = "0" * 32  # another project: the route exists, the signature does not match
    url = req.url.copy_with(path="/".join(parts))
    return _rebuild(req, url=url)


def _tamper_header(req: httpx.Request) -> httpx.Request:
    headers = httpx.Headers(req.headers)
    headers["X-Project-Id"] = "someone-else"
    return _rebuild(req, headers=headers)


def _tamper_signature(req: httpx.Request) -> httpx.Request:
    headers = httpx.Headers(req.headers)
    auth = headers["Authorization"]
    headers["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    return _rebuild(req, headers=headers)


def _drop_authorization(req: httpx.Request) -> httpx.Request:
    headers = httpx.Headers(req.headers)
    del headers["Authorization"]
    return _rebuild(req, headers=headers)


def _other_algorithm(req: httpx.Request) -> httpx.Request:
    headers = httpx.Headers(req.headers)
    headers["Authorization"] = headers["Authorization"].replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3")
    return _rebuild(req, headers=headers)


@pytest.mark.parametrize(
    "tamper",
    [_tamper_body, _tamper_query, _tamper_path, _tamper_header, _tamper_signature,
     _drop_authorization, _other_algorithm],
)  # fmt: skip
def test_tampered_requests_are_401(emulator: Emulator, http: httpx.Client, tamper: Any) -> None:
    body = b'{"task_ids": ["a", "b"]}'
    req = signed(
        emulator, "POST", _tasks(emulator) + "/batch-delete", query=[("x", "1")], body=body
    )
    r = http.send(tamper(req))
    assert r.status_code == 401
    payload = r.json()
    assert payload["error_code"] == "APIG.0301"
    assert payload["error_msg"].startswith("Incorrect IAM authentication information")
    assert len(payload["request_id"]) == 32 and payload["request_id"] == r.headers["x-request-id"]
    assert emulator.sk not in r.text


@pytest.mark.parametrize(
    ("case", "shift", "ok"),
    [("14 min late", -14, True), ("16 min late", -16, False), ("16 min early", 16, False)],
)
def test_clock_skew_window_is_15_minutes(
    emulator: Emulator, http: httpx.Client, case: str, shift: int, ok: bool
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=shift)
    r = http.send(signed(emulator, "GET", _tasks(emulator), query=LIST_QUERY, when=when))
    assert (r.status_code == 200) is ok, r.text
    if not ok:
        assert "15 minutes" in r.json()["error_msg"]


def test_unknown_ak_and_wrong_sk(emulator: Emulator, http: httpx.Client) -> None:
    cases: list[dict[str, Any]] = [{"ak": "UNKNOWNAK00000000000"}, {"sk": "wrong-secret"}]
    for kw in cases:
        r = http.send(signed(emulator, "GET", _tasks(emulator), query=LIST_QUERY, **kw))
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301"
        assert "wrong-secret" not in r.text and emulator.sk not in r.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Auth-Token": "TOKEN"}, 200),
        ({"X-Auth-Token": "not-the-token"}, 401),
        ({"X-Auth-Token": ""}, 401),
        ({}, 401),
        ({"Authorization": "Bearer abc"}, 401),
    ],
)
def test_token_auth(
    emulator: Emulator, http: httpx.Client, headers: dict[str, str], status: int
) -> None:
    headers = {k: (emulator.token if v == "TOKEN" else v) for k, v in headers.items()}
    r = http.get(
        emulator.endpoint + _tasks(emulator), params={"offset": 0, "limit": 1}, headers=headers
    )
    assert r.status_code == status
    if status == 401:
        assert r.json()["error_code"] == "APIG.0301"


def test_auth_failures_are_logged_and_change_nothing(
    emulator: Emulator, http: httpx.Client
) -> None:
    task_id = emulator.control.seed(1)[0]
    body = f'{{"task_ids": ["{task_id}"]}}'.encode()
    req = _tamper_signature(signed(emulator, "POST", _tasks(emulator) + "/batch-delete", body=body))
    assert http.send(req).status_code == 401
    assert emulator.control.task_ids() == [task_id]
    last = emulator.control.requests()[-1]
    assert (last["operation"], last["status"]) == ("batch_delete", 401)


def test_loose_mode_accepts_anything(make_emulator: Any, http: httpx.Client) -> None:
    emu = make_emulator(auth="loose")
    r = http.get(emu.endpoint + _tasks(emu), params={"offset": 0, "limit": 1})
    assert r.status_code == 200


def test_secrets_stay_out_of_reprs() -> None:
    emu = Emulator(ak="A" * 20, sk="S" * 40, token="T" * 30)
    for text in (repr(emu), repr(emu.config), repr(emu.state.config)):
        assert "S" * 40 not in text and "T" * 30 not in text
    emu.state.store.close()


def test_each_emulator_has_random_keys() -> None:
    a, b = Emulator(), Emulator()
    assert a.ak != b.ak and a.sk != b.sk and a.token != b.token
    assert len(a.ak) == 20 and len(a.sk) == 40
    a.state.store.close()
    b.state.store.close()
