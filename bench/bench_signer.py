"""AK/SK signing speed: ``wsnb._signer.sign`` vs the official SDK's ``Signer`` on the same requests.

Both sign a paged list GET (query with a space) and a 100-id batch-delete POST with a fixed
``X-Sdk-Date``; the SDK side builds its ``SdkRequest`` per call, as its client does. Also reports
server-side ``verify`` calls per second (no baseline). Only the ratio is meaningful.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

from bench._harness import Result, timer
from wsnb import _signer

AK = "HPUAEXAMPLEAK0000001"
SK = "exampleSecretKey0000000000000000000000000"
PID = "0123456789abcdef0123456789abcdef"
HOST = "workspace.cn-north-4.myhuaweicloud.com"
DATE = "20250101T120000Z"

_Request = tuple[str, str, list[tuple[str, str]], bytes]
_LIST: _Request = (
    "GET",
    f"/v2/{PID}/scheduled-tasks",
    [("offset", "0"), ("limit", "50"), ("task_name", "night stop")],
    b"",
)
_DELETE: _Request = (
    "POST",
    f"/v2/{PID}/scheduled-tasks/batch-delete",
    [],
    json.dumps({"task_ids": [f"task-{i:04d}" for i in range(100)]}).encode(),
)
_HEADERS = {
    "Content-Type": "application/json",
    "X-Project-Id": PID,
    "X-Sdk-Date": DATE,
    "Host": HOST,
}


def _ours() -> str:
    out = ""
    for method, path, query, body in (_LIST, _DELETE):
        out = _signer.sign(method, path, query, _HEADERS, body, AK, SK)
    return out


def _sdk_factory() -> Callable[[], str]:
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    signer = Signer(SimpleNamespace(ak=AK, sk=SK))
    headers = {k: v for k, v in _HEADERS.items() if k != "Host"}

    def sdk() -> str:
        out = ""
        for method, path, query, body in (_LIST, _DELETE):
            request = SdkRequest(
                method=method,
                schema="https",
                host=HOST,
                resource_path=path,
                query_params=list(query),
                header_params=dict(headers),
                body=body,
            )
            out = signer.sign(request).header_params["Authorization"]
        return out

    return sdk


def _rate(fn: Callable[[], object], calls: int, per_call: int) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(3):
        with timer() as t:
            for _ in range(calls):
                fn()
        best = min(best, t[0])
    return calls * per_call / best


def run(quick: bool) -> list[Result]:
    calls = 500 if quick else 5000
    sdk = _sdk_factory()
    if sdk() != _ours():
        raise AssertionError("wsnb and the SDK disagree on the benchmark request's signature")
    ours_rate = _rate(_ours, calls, 2)
    sdk_rate = _rate(sdk, calls, 2)

    method, path, query, body = _DELETE
    received = _HEADERS | {
        "Authorization": _signer.sign(method, path, query, _HEADERS, body, AK, SK)
    }
    now = datetime.strptime(DATE, _signer.DATE_FORMAT).replace(tzinfo=UTC)

    def check() -> None:
        if _signer.verify(method, path, query, received, body, lookup_sk={AK: SK}.get, now=now):
            raise AssertionError("verify rejected a valid request")

    verify_rate = _rate(check, calls, 1)
    return [
        Result(
            "signer",
            "sign",
            ours_rate,
            "sig/s",
            baseline=sdk_rate,
            baseline_name="SDK Signer",
            note="list GET + 100-id batch-delete POST, best of 3",
        ),
        Result("signer", "verify", verify_rate, "req/s", note="server side, 100-id POST"),
    ]
