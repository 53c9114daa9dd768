"""wsnb.auth: Credentials.from_env, WorkspaceAuth on real httpx requests, secret hygiene."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from wsnb import _signer
from wsnb.auth import (
    CREDENTIAL_ENV_VARS,
    Credentials,
    CredentialsError,
    WorkspaceAuth,
    credentials_configured,
)
from wsnb.emulator import Emulator

AK = "AKEXAMPLE0000000WSNB"
SK = "SKexample-very-secret-0000000000000000000"
STS = "sts-security-token-value-xyz"
IAM_TOKEN = "MIIiam-token-value-abc"
PID = "0123456789abcdef0123456789abcdef"
NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
SECRETS = (SK, STS, IAM_TOKEN)


class Capture:
    """An httpx MockTransport handler that keeps every request it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200, json={})


def client(creds: Credentials, capture: Capture, clock: Any = None, **kw: Any) -> httpx.Client:
    auth = WorkspaceAuth(creds, clock=clock or (lambda: NOW), **kw)
    return httpx.Client(auth=auth, transport=httpx.MockTransport(capture))


def wire_parts(request: httpx.Request) -> tuple[str, list[tuple[str, str]]]:
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    return path, parse_qsl(query, keep_blank_values=True)


def sdk_signature_of(request: httpx.Request, ak: str, sk: str) -> str:
    """What the official SDK Signer computes for the captured wire request."""
    _, names, _ = _signer.parse_authorization(request.headers["Authorization"])
    path, query = wire_parts(request)
    sdk_request = SdkRequest(
        method=request.method,
        schema=request.url.scheme,
        host=request.headers["Host"],
        resource_path=path,
        query_params=query,
        header_params={name: request.headers[name] for name in names},
        body=request.content,
    )
    value: str = (
        Signer(SimpleNamespace(ak=ak, sk=sk)).sign(sdk_request).header_params["Authorization"]
    )
    return value


def verify(request: httpx.Request, now: datetime = NOW, **changes: Any) -> str | None:
    path, query = wire_parts(request)
    parts: dict[str, Any] = {
        "method": request.method,
        "path": path,
        "query": query,
        "headers": dict(request.headers),
        "body": request.content,
    }
    parts |= changes
    return _signer.verify(
        parts["method"],
        parts["path"],
        parts["query"],
        parts["headers"],
        parts["body"],
        lookup_sk={AK: SK}.get,
        now=now,
    )


# ---------------------------------------------------------------- WorkspaceAuth, AK/SK


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", f"https://workspace.example.com/v2/{PID}/scheduled-tasks", {}),
    (
        "GET",
        f"http://127.0.0.1:43683/v2/{PID}/scheduled-tasks",
        {
            "params": [
                ("offset", 0),
                ("limit", 50),
                ("task_name", "night stop 夜间 &=+/?"),
                ("flag", True),
                ("empty", ""),
                ("rep", "b"),
                ("rep", "a"),
            ]
        },
    ),
    (
        "POST",
        f"https://workspace.example.com:8443/v2/{PID}/scheduled-tasks",
        {"json": {"task_name": "测试任务 ü", "task_type": "STOP"}},
    ),
    (
        "POST",
        f"http://localhost:8080/v2/{PID}/scheduled-tasks/batch-delete",
        {"content": b'{"task_ids": ["a", "b"]}'},
    ),
    ("DELETE", f"http://127.0.0.1:9/v2/{PID}/scheduled-tasks/t%20id%2F%C3%A9", {}),
    (
        "PUT",
        f"http://127.0.0.1:9/v2/{PID}/scheduled-tasks/x y",
        {"json": {"a": 1}, "headers": {"User-Agent": "agent/1"}},
    ),
]


@pytest.mark.parametrize(("method", "url", "kw"), REQUESTS)
def test_signed_wire_request_matches_sdk_and_verifies(
    method: str, url: str, kw: dict[str, Any]
) -> None:
    capture = Capture()
    creds = Credentials(ak=AK, sk=SK, project_id=PID)
    with client(creds, capture) as http:
        http.request(method, url, **kw)
    (sent,) = capture.requests
    assert sent.headers["Authorization"] == sdk_signature_of(sent, AK, SK)
    assert verify(sent) is None
    assert sent.headers["X-Sdk-Date"] == "20250101T120000Z"
    assert sent.headers["X-Project-Id"] == PID
    assert sent.headers["Content-Type"].startswith("application/json")
    _, names, _ = _signer.parse_authorization(sent.headers["Authorization"])
    assert names == ["content-type", "host", "x-project-id", "x-sdk-date"]


def test_query_is_sent_rfc3986_encoded_in_order() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture) as http:
        http.get(
            "http://127.0.0.1:1/v2/p/x",
            params=[("z", "a b+c"), ("a", "夜"), ("m", ""), ("a", "!"), ("t", True)],
        )
        http.get("http://127.0.0.1:1/v2/p/x")
    with_query, without = capture.requests
    assert (
        with_query.url.query == b"z=a%20b%2Bc&a=%E5%A4%9C&a=%21&m=&t=true"
    )  # httpx groups repeats
    assert without.url.query == b"" and b"?" not in without.url.raw_path
    assert verify(with_query) is None
    assert with_query.headers["Authorization"] == sdk_signature_of(with_query, AK, SK)


def test_host_header_carries_explicit_port_only() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture) as http:
        http.get("https://workspace.example.com/v2/p/x")
        http.get("https://workspace.example.com:443/v2/p/x")
        http.get("http://127.0.0.1:8080/v2/p/x")
    hosts = [r.headers["Host"] for r in capture.requests]
    assert hosts == ["workspace.example.com", "workspace.example.com", "127.0.0.1:8080"]
    assert all(verify(r) is None for r in capture.requests)
    assert all("X-Project-Id" not in r.headers for r in capture.requests)


def test_project_id_argument_overrides_credentials() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK, project_id="from-creds"), capture, project_id="arg") as h:
        h.get("http://127.0.0.1:1/v2/arg/scheduled-tasks")
    (sent,) = capture.requests
    assert sent.headers["X-Project-Id"] == "arg"
    assert verify(sent) is None


def test_security_token_is_sent_and_signed() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK, security_token=STS, project_id=PID), capture) as http:
        http.get("http://127.0.0.1:1/v2/p/x")
    (sent,) = capture.requests
    assert sent.headers["X-Security-Token"] == STS
    _, names, _ = _signer.parse_authorization(sent.headers["Authorization"])
    assert "x-security-token" in names
    assert sent.headers["Authorization"] == sdk_signature_of(sent, AK, SK)
    forged = dict(sent.headers) | {"X-Security-Token": "other"}
    assert verify(sent, headers=forged) == "signature mismatch"


def test_existing_content_type_is_kept_and_signed() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture) as http:
        http.post(
            "http://127.0.0.1:1/v2/p/x",
            content=b"{}",
            headers={"Content-Type": "application/json;charset=UTF-8"},
        )
    (sent,) = capture.requests
    assert sent.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert verify(sent) is None


def test_user_agent_is_not_signed_so_proxies_may_rewrite_it() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture) as http:
        http.get("http://127.0.0.1:1/v2/p/x", headers={"User-Agent": "wsnb/0.1"})
    (sent,) = capture.requests
    rewritten = dict(sent.headers) | {"user-agent": "proxy/9", "via": "1.1 proxy"}
    assert verify(sent, headers=rewritten) is None


@pytest.mark.parametrize("field", ["path", "query", "body", "header", "date", "method"])
def test_tampered_wire_request_is_rejected(field: str) -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK, project_id=PID), capture) as http:
        http.post(
            f"http://127.0.0.1:1/v2/{PID}/scheduled-tasks/batch-delete",
            params={"offset": 0},
            json={"task_ids": ["a"]},
        )
    (sent,) = capture.requests
    path, _ = wire_parts(sent)
    headers = dict(sent.headers)
    options: dict[str, dict[str, Any]] = {
        "path": {"path": path.replace(PID, "f" * 32)},
        "query": {"query": [("offset", "1")]},
        "body": {"body": sent.content.replace(b'"a"', b'"b"')},
        "header": {"headers": headers | {"x-project-id": "f" * 32}},
        "date": {"headers": headers | {"x-sdk-date": "20250101T120100Z"}},
        "method": {"method": "PUT"},
    }
    changes = options[field]
    assert verify(sent, **changes) == "signature mismatch"


def test_sixteen_minute_skew_is_rejected() -> None:
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture, clock=lambda: NOW - timedelta(minutes=16)) as h:
        h.get("http://127.0.0.1:1/v2/p/x")
    (sent,) = capture.requests
    assert verify(sent) == "X-Sdk-Date is more than 15 minutes from now"
    assert verify(sent, now=NOW - timedelta(minutes=16)) is None


def test_every_attempt_gets_a_fresh_date_and_signature() -> None:
    ticks = iter([NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=61)])
    capture = Capture()
    with client(Credentials(ak=AK, sk=SK), capture, clock=lambda: next(ticks)) as http:
        http.get("http://127.0.0.1:1/v2/p/x")
        request = http.build_request("GET", "http://127.0.0.1:1/v2/p/x")
        http.send(request)
        first_copy = dict(request.headers)
        http.send(request)  # the same Request object sent again (a naive retry)
    # capture.requests holds that object twice; snapshot its first headers separately
    seen = [dict(capture.requests[0].headers), first_copy, dict(request.headers)]
    dates = [h["x-sdk-date"] for h in seen]
    assert dates == ["20250101T120000Z", "20250101T120030Z", "20250101T120101Z"]
    assert len({h["authorization"] for h in seen}) == 3
    for headers, date in zip(seen, dates, strict=True):
        now = datetime.strptime(date, _signer.DATE_FORMAT).replace(tzinfo=UTC)
        assert verify(capture.requests[0], now=now, headers=headers) is None


async def _async_send(creds: Credentials, capture: Capture) -> None:
    auth = WorkspaceAuth(creds, clock=lambda: NOW)
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(capture)) as http:
        await http.post("http://127.0.0.1:1/v2/p/x", json={"k": "v"})


def test_async_client_is_signed_too() -> None:
    import asyncio

    capture = Capture()
    asyncio.run(_async_send(Credentials(ak=AK, sk=SK), capture))
    (sent,) = capture.requests
    assert verify(sent) is None


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.received.append(
            {
                "method": self.command,
                "target": self.path,
                "headers": dict(self.headers),
                "body": body,
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_bytes_on_a_real_socket_verify_and_logs_hold_no_secrets(
    recorder: tuple[str, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    base, received = recorder
    caplog.set_level(logging.DEBUG)
    creds = Credentials(ak=AK, sk=SK, security_token=STS, project_id=PID)
    with httpx.Client(auth=WorkspaceAuth(creds), base_url=base) as http:
        http.get(f"/v2/{PID}/scheduled-tasks", params={"task_name": "a b", "limit": 10})
        http.post(f"/v2/{PID}/scheduled-tasks", json={"task_name": "夜间"})
    assert len(received) == 2
    for got in received:
        path, _, query = got["target"].partition("?")
        reason = _signer.verify(
            got["method"],
            path,
            parse_qsl(query, keep_blank_values=True),
            got["headers"],
            got["body"],
            lookup_sk={AK: SK}.get,
            now=datetime.now(UTC),
        )
        assert reason is None
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in (*SECRETS, AK):
        assert secret not in text


# ---------------------------------------------------------------- WorkspaceAuth, token


def test_token_auth_sets_header_and_does_not_sign() -> None:
    capture = Capture()
    with client(Credentials(token=IAM_TOKEN, project_id=PID), capture) as http:
        http.get("http://127.0.0.1:1/v2/p/x")
    (sent,) = capture.requests
    assert sent.headers["X-Auth-Token"] == IAM_TOKEN
    assert sent.headers["X-Project-Id"] == PID
    assert "Authorization" not in sent.headers
    assert "X-Sdk-Date" not in sent.headers


# ---------------------------------------------------------------- Credentials


def test_credentials_validation() -> None:
    with pytest.raises(CredentialsError, match="ak and sk, or an IAM token"):
        Credentials()
    with pytest.raises(CredentialsError, match="sk is missing"):
        Credentials(ak=AK)
    with pytest.raises(CredentialsError, match="ak is missing"):
        Credentials(sk=SK)
    with pytest.raises(CredentialsError, match="not both"):
        Credentials(ak=AK, sk=SK, token=IAM_TOKEN)
    with pytest.raises(CredentialsError, match="security_token"):
        Credentials(token=IAM_TOKEN, security_token=STS)
    assert Credentials(ak=AK, sk=SK).kind == "aksk"
    assert Credentials(token=IAM_TOKEN).kind == "token"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Credentials(ak=AK, sk=SK).sk = "x"  # type: ignore[misc]


def test_from_env_reads_sdk_variables(tmp_path: Path) -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": STS,
        "HUAWEICLOUD_SDK_PROJECT_ID": PID,
        "HOME": str(tmp_path),
    }
    creds = Credentials.from_env(env)
    assert (creds.ak, creds.sk, creds.security_token, creds.project_id) == (AK, SK, STS, PID)
    assert creds.kind == "aksk"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_from_env_reads_default_file_under_home(tmp_path: Path) -> None:
    _write(
        tmp_path / ".huaweicloud" / "credentials",
        f"[basic]\nak = {AK}\nsk = {SK}\nproject_id = {PID}\nsecurity_token = {STS}\n",
    )
    creds = Credentials.from_env({"HOME": str(tmp_path)})
    assert (creds.ak, creds.sk, creds.security_token, creds.project_id) == (AK, SK, STS, PID)


def test_from_env_file_from_variable_and_argument(tmp_path: Path) -> None:
    by_var = _write(tmp_path / "a.ini", f"[basic]\nak = var-ak\nsk = {SK}\n")
    by_arg = _write(tmp_path / "b.ini", f"[basic]\nak = arg-ak\nsk = {SK}\n")
    env = {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(by_var), "HOME": str(tmp_path)}
    assert Credentials.from_env(env).ak == "var-ak"
    assert Credentials.from_env(env, credentials_file=by_arg).ak == "arg-ak"


def test_environment_wins_over_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.ini",
        "[basic]\nak = file-ak\nsk = file-sk\nproject_id = file-pid\nsecurity_token = file-sts\n",
    )
    env = {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_PROJECT_ID": PID}
    creds = Credentials.from_env(env, credentials_file=path)
    # the file's security token belongs to the file's key pair, so it is not mixed in
    assert (creds.ak, creds.sk, creds.project_id, creds.security_token) == (AK, SK, PID, None)
    creds = Credentials.from_env({"WSNB_AUTH_TOKEN": IAM_TOKEN}, credentials_file=path)
    assert (creds.kind, creds.token, creds.project_id) == ("token", IAM_TOKEN, "file-pid")
    creds = Credentials.from_env({}, credentials_file=path)
    assert (creds.ak, creds.project_id, creds.security_token) == ("file-ak", "file-pid", "file-sts")


def test_from_env_aksk_beats_token_and_empty_values_are_unset(tmp_path: Path) -> None:
    env = {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "WSNB_AUTH_TOKEN": IAM_TOKEN}
    assert Credentials.from_env(env | {"HOME": str(tmp_path)}).kind == "aksk"
    env = {"HUAWEICLOUD_SDK_AK": "", "HUAWEICLOUD_SDK_SK": "", "WSNB_AUTH_TOKEN": IAM_TOKEN}
    assert Credentials.from_env(env | {"HOME": str(tmp_path)}).kind == "token"


def test_from_env_errors_name_the_variables(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env(home)
    message = str(info.value)
    for name in (
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "WSNB_AUTH_TOKEN",
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    ):
        assert name in message
    with pytest.raises(CredentialsError, match="HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK"):
        Credentials.from_env(home | {"HUAWEICLOUD_SDK_AK": AK})
    with pytest.raises(CredentialsError, match="HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK"):
        Credentials.from_env(home | {"HUAWEICLOUD_SDK_SK": SK})
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env(home | {"HUAWEICLOUD_SDK_SK": SK})
    assert SK not in str(info.value)


def test_from_env_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ini"
    with pytest.raises(CredentialsError, match="does not exist"):
        Credentials.from_env({}, credentials_file=missing)
    with pytest.raises(CredentialsError, match="does not exist"):
        Credentials.from_env({"HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(missing)})
    no_section = _write(tmp_path / "g.ini", f"[global]\nak = {AK}\nsk = {SK}\n")
    with pytest.raises(CredentialsError, match=r"no \[basic\] section"):
        Credentials.from_env({}, credentials_file=no_section)
    half = _write(tmp_path / "h.ini", f"[basic]\nak = {AK}\n")
    with pytest.raises(CredentialsError, match=r"\[basic\] lacks sk"):
        Credentials.from_env({}, credentials_file=half)
    broken = _write(tmp_path / "b.ini", f"sk = {SK}\n[basic\n")
    with pytest.raises(CredentialsError, match="not valid INI") as info:
        Credentials.from_env({}, credentials_file=broken)
    assert SK not in str(info.value)
    # a default file without [basic] is simply not a source
    _write(tmp_path / ".huaweicloud" / "credentials", "[global]\nak = x\n")
    with pytest.raises(CredentialsError, match="no credentials found"):
        Credentials.from_env({"HOME": str(tmp_path)})


def test_credential_env_vars_are_every_credential_source(tmp_path: Path) -> None:
    """Peeling the listed variables off one by one (in precedence order) changes the credentials
    each time, and with all of them gone there is no source left; the project id stays."""
    book = _write(tmp_path / "c.ini", f"[basic]\nak = file-ak\nsk = {SK}\n")
    env = {
        "HOME": str(tmp_path),  # no default credentials file there
        "HUAWEICLOUD_SDK_PROJECT_ID": PID,
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": STS,
        "WSNB_AUTH_TOKEN": IAM_TOKEN,
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(book),
    }
    assert "HUAWEICLOUD_SDK_PROJECT_ID" not in CREDENTIAL_ENV_VARS
    assert set(env) - {"HOME", "HUAWEICLOUD_SDK_PROJECT_ID"} == set(CREDENTIAL_ENV_VARS)

    def seen() -> tuple[str | None, ...]:
        try:
            creds = Credentials.from_env(env)
        except CredentialsError as error:
            return ("error", str(error).split(":")[0])
        assert creds.project_id == PID
        return (creds.kind, creds.ak, creds.security_token, creds.token)

    steps = [seen()]
    for name in (
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "WSNB_AUTH_TOKEN",
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    ):
        del env[name]
        steps.append(seen())
    assert steps == [
        ("aksk", AK, STS, None),
        ("aksk", AK, None, None),
        ("error", "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not; set both"),
        ("token", None, None, IAM_TOKEN),
        ("aksk", "file-ak", None, None),
        ("error", "no credentials found"),
    ]


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WSNB_AUTH_TOKEN", IAM_TOKEN)
    assert Credentials.from_env().token == IAM_TOKEN


@pytest.mark.parametrize(
    "creds",
    [
        Credentials(ak=AK, sk=SK, security_token=STS, project_id=PID),
        Credentials(token=IAM_TOKEN, project_id=PID),
        Credentials(ak=AK, sk=SK),
    ],
    ids=["aksk+sts", "token", "aksk"],
)
def test_no_secret_in_repr_str_format(creds: Credentials) -> None:
    auth = WorkspaceAuth(creds)
    shown = [repr(creds), str(creds), f"{creds}", f"{creds!r}", f"{creds:>200}", repr(auth)]
    shown.append(repr([creds]))
    for text in shown:
        for secret in (*SECRETS, AK):
            assert secret not in text
        assert creds.kind in text
    assert "<set>" in repr(creds)
    if creds.project_id:
        assert PID in repr(creds)


def test_repr_shape() -> None:
    creds = Credentials(ak=AK, sk=SK, security_token=STS, project_id=PID)
    assert repr(creds) == (
        f"Credentials(kind='aksk', project_id='{PID}', ak=<set>, sk=<set>, security_token=<set>)"
    )
    assert repr(Credentials(token=IAM_TOKEN)) == (
        "Credentials(kind='token', project_id=None, token=<set>)"
    )


def test_credentials_configured(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert credentials_configured(home) is False
    assert credentials_configured({**home, "WSNB_AUTH_TOKEN": "t"}) is True
    (tmp_path / ".huaweicloud").mkdir()
    (tmp_path / ".huaweicloud" / "credentials").write_text("[basic]\nak = a\nsk = b\n")
    assert credentials_configured(home) is True


# ---------------------------------------------------------------- hostile credential values

#: Surrounding whitespace from a copy-paste: stripped, and the credentials work.
PASTED = ["\r", "\n", "\r\n", "  ", "\t", " \r\n\t", "\u00a0"]
#: Characters that cannot be in a credential (illegal in a header, or a sure bad paste).
ILLEGAL = [
    ("\r", "a line break"),
    ("\n", "a line break"),
    ("\r\n", "a line break"),
    ("\t", "a tab"),
    ("\x00", "a NUL character"),
    ("\x1b", "a control character"),
    ("é", "a non-ASCII character"),
    ("\u200b", "a non-ASCII character"),
    (" ", "whitespace"),
]
FIELDS = ("ak", "sk", "security_token", "token", "project_id")


def _fields_for(name: str, value: str) -> dict[str, str]:
    base = {"ak": AK, "sk": SK, "project_id": PID}
    if name == "token":
        base = {"token": IAM_TOKEN, "project_id": PID}
    return base | {name: value}


def _shown(error: BaseException) -> str:
    """Everything a user could see of ``error``: str, repr and the printed traceback."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def _assert_hidden(text: str, value: str) -> None:
    """No visible piece (6+ characters) of ``value`` is in ``text``."""
    pieces = [p for p in re.split(r"[^!-~]", value) if len(p) >= 6]
    assert pieces, "test values must be long enough to be searched for"
    for piece in pieces:
        assert piece not in text


@pytest.mark.parametrize("pad", PASTED, ids=repr)
@pytest.mark.parametrize("name", FIELDS)
def test_surrounding_whitespace_is_stripped(name: str, pad: str) -> None:
    clean = {"ak": AK, "sk": SK, "security_token": STS, "token": IAM_TOKEN, "project_id": PID}[name]
    creds = Credentials(**_fields_for(name, pad + clean + pad))
    assert getattr(creds, name) == clean


@pytest.mark.parametrize(("bad", "described"), ILLEGAL, ids=repr)
@pytest.mark.parametrize("name", FIELDS)
def test_illegal_characters_are_refused_naming_the_field_not_the_value(
    name: str, bad: str, described: str
) -> None:
    clean = {"ak": AK, "sk": SK, "security_token": STS, "token": IAM_TOKEN, "project_id": PID}[name]
    value = clean[:8] + bad + clean[8:]
    with pytest.raises(CredentialsError) as info:
        Credentials(**_fields_for(name, value))
    text = _shown(info.value)
    assert str(info.value).startswith(f"{name} contains {described}")
    assert described in str(info.value) and "position 9" in str(info.value)
    _assert_hidden(text, value)


def test_trailing_nul_is_not_whitespace_and_is_refused() -> None:
    with pytest.raises(CredentialsError, match="sk contains a NUL character at position 42"):
        Credentials(ak=AK, sk=SK + "\x00")


ENV_NAMES = {
    "ak": "HUAWEICLOUD_SDK_AK",
    "sk": "HUAWEICLOUD_SDK_SK",
    "security_token": "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "project_id": "HUAWEICLOUD_SDK_PROJECT_ID",
    "token": "WSNB_AUTH_TOKEN",
}


@pytest.mark.parametrize(("bad", "described"), ILLEGAL[:7], ids=repr)
@pytest.mark.parametrize("name", FIELDS)
def test_from_env_names_the_variable(tmp_path: Path, name: str, bad: str, described: str) -> None:
    clean = {"ak": AK, "sk": SK, "security_token": STS, "token": IAM_TOKEN, "project_id": PID}[name]
    env = {ENV_NAMES[k]: v for k, v in _fields_for(name, clean).items()} | {"HOME": str(tmp_path)}
    env[ENV_NAMES[name]] = clean[:8] + bad + clean[8:]
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env(env)
    assert str(info.value).startswith(f"{ENV_NAMES[name]} contains {described}")
    _assert_hidden(_shown(info.value), env[ENV_NAMES[name]])


def test_from_env_strips_pasted_line_endings(tmp_path: Path) -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": AK + "\r\n",
        "HUAWEICLOUD_SDK_SK": "  " + SK + "\r",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": STS + "\n",
        "HUAWEICLOUD_SDK_PROJECT_ID": "\t" + PID,
        "HOME": str(tmp_path),
    }
    creds = Credentials.from_env(env)
    assert (creds.ak, creds.sk, creds.security_token, creds.project_id) == (AK, SK, STS, PID)
    assert creds.source == (
        "environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_SECURITY_TOKEN)"
    )
    only_space = {"HUAWEICLOUD_SDK_AK": " \r\n", "WSNB_AUTH_TOKEN": IAM_TOKEN + "\n"}
    creds = Credentials.from_env(only_space | {"HOME": str(tmp_path)})
    assert (creds.kind, creds.token, creds.source) == (
        "token",
        IAM_TOKEN,
        "environment (WSNB_AUTH_TOKEN)",
    )


def test_credentials_file_values_are_checked_and_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.ini", f"[basic]\nak = {AK}\nsk = {SK[:8]}\x01{SK[8:]}\n")
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env({}, credentials_file=path)
    assert str(info.value).startswith(f"credentials file {path}: [basic] sk contains a control")
    _assert_hidden(_shown(info.value), SK)
    # a continuation line puts a line break inside the value
    path = _write(tmp_path / "d.ini", f"[basic]\nak = {AK}\nsk = {SK[:10]}\n  {SK[10:]}\n")
    with pytest.raises(CredentialsError, match=r"\[basic\] sk contains a line break") as info:
        Credentials.from_env({}, credentials_file=path)
    _assert_hidden(_shown(info.value), SK)
    path = _write(tmp_path / "e.ini", f"[basic]\nak = {AK}  \nsk = {SK}\t\n")
    creds = Credentials.from_env({}, credentials_file=path)
    assert (creds.ak, creds.sk, creds.source) == (AK, SK, f"credentials file {path}: [basic]")


def test_non_str_values_are_refused() -> None:
    with pytest.raises(CredentialsError, match="sk must be a str, got bytes"):
        Credentials(ak=AK, sk=SK.encode())  # type: ignore[arg-type]


def test_auth_project_id_argument_is_checked() -> None:
    with pytest.raises(CredentialsError, match="project_id contains a line break"):
        WorkspaceAuth(Credentials(ak=AK, sk=SK), project_id=PID + "\nX-Evil: 1")
    assert WorkspaceAuth(Credentials(ak=AK, sk=SK), project_id=f" {PID}\r\n").project_id == PID


@pytest.mark.parametrize("pad", ["\r", "\n", "\r\n", "  ", "\t"], ids=repr)
def test_pasted_credentials_work_against_the_emulator(
    emulator: Emulator, tmp_path: Path, pad: str
) -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": emulator.ak + pad,
        "HUAWEICLOUD_SDK_SK": pad + emulator.sk + pad,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id + pad,
        "HOME": str(tmp_path),
    }
    with emulator.client(credentials=Credentials.from_env(env), project_id=None) as api:
        assert api.list_tasks_page(0, 1)["total_count"] == 0
    token = Credentials(token=pad + emulator.token + pad, project_id=emulator.project_id)
    with emulator.client(credentials=token, project_id=f"{pad}{emulator.project_id}") as api:
        assert api.list_tasks_page(0, 1)["total_count"] == 0
