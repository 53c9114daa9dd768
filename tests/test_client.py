"""wsnb.client: every operation on the wire, paging, errors, retries, throttling, secrets.

Both ``Client`` and ``AsyncClient`` run every shared test (the ``api`` fixture), against an
``httpx.MockTransport`` that records requests and answers from a script. One test uses a real
loopback HTTP server so httpx/httpcore logging is exercised too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wsnb._retry import RateLimit, RetryPolicy
from wsnb.auth import CREDENTIAL_ENV_VARS, Credentials
from wsnb.client import DEFAULT_TIMEOUT, REGIONS, AsyncClient, Client
from wsnb.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
    RequestTooLargeError,
    ServerError,
    ServiceNotEnabledError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    WorkspaceError,
)
from wsnb.models import TaskType

AK = "HPUAEXAMPLEAK0000001"
SK = "exampleSecretKey0000000000000000000000000"
TOKEN = "MIIZsecretIamTokenValue0123456789abcdef"
PID = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://workspace.cn-north-4.myhuaweicloud.com"
BASE = f"/v2/{PID}"
RID = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
SECRETS = (AK, SK, TOKEN)

AKSK = Credentials(ak=AK, sk=SK, project_id=PID)
TOKEN_CREDS = Credentials(token=TOKEN, project_id=PID)


class FakeClock:
    """Monotonic seconds that advance only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(body: Any = None, status: int = 200, **headers: str) -> httpx.Response:
    content = (
        b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    )
    return httpx.Response(status, content=content, headers={"X-Request-Id": RID, **headers})


def fail(status: int, code: str, msg: str, **headers: str) -> httpx.Response:
    return ok({"error_code": code, "error_msg": msg}, status, **headers)


class Server:
    """Answers requests from a script (then a default) and records them."""

    def __init__(self, *answers: Answer, default: Answer | None = None) -> None:
        self.answers = list(answers)
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else self.default
        if answer is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


class Api:
    """One client of either kind, with a blocking ``call`` for tests."""

    def __init__(
        self, kind: str, server: Server, clock: FakeClock | None = None, **kw: Any
    ) -> None:
        self.kind = kind
        self.server = server
        self.clock = clock or FakeClock()
        options: dict[str, Any] = {
            "endpoint": ENDPOINT,
            "credentials": AKSK,
            "transport": httpx.MockTransport(server),
            "rate_limit": None,
            "retry": RetryPolicy(initial=0.5),
            "clock": self.clock,
            **kw,
        }
        if kind == "sync":
            self.client: Client | AsyncClient = Client(sleep=self.clock.sleep, **options)
        else:
            self.client = AsyncClient(sleep=self.clock.asleep, **options)

    def call(self, name: str, *args: Any, **kw: Any) -> Any:
        result = getattr(self.client, name)(*args, **kw)
        return asyncio.run(result) if self.kind == "async" else result

    def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            asyncio.run(self.client.close())
        else:
            self.client.close()


@pytest.fixture(params=["sync", "async"])
def make_api(request: pytest.FixtureRequest) -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(server: Server, **kw: Any) -> Api:
        api = Api(request.param, server, **kw)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


# --- every operation on the wire ----------------------------------------------------------------

TASK = {"id": "t-1", "task_name": "night stop", "task_type": "STOP", "enable": True}
RECORD = {"id": "r-1", "status": "SUCCESS", "success_num": 3}
DETAIL = {"id": "d-1", "record_id": "r-1", "desktop_id": "desk-1", "exec_status": "SUCCESS"}
CONFIG = {"POST_DESKTOP_DISCONNECTED": {"min_wait_time": 1, "actions": [{"action": "STOP"}]}}
ZONE = {"time_zone": "GMT+08:00", "time_zone_name": "Asia/Shanghai"}
CREATE = {"task_name": "测试任务", "task_type": "STOP"}

# (method name, args, kwargs, answer, HTTP method, path, query, JSON body, result)
OPERATIONS: list[
    tuple[str, tuple[Any, ...], dict[str, Any], Any, str, str, list[Any], Any, Any]
] = [
    (
        "list_tasks",
        (),
        {"task_type": TaskType.STOP, "last_status": "FAIL"},
        {"scheduled_tasks": [TASK], "total_count": 1},
        "GET",
        "/scheduled-tasks",
        [("offset", "0"), ("limit", "50"), ("task_type", "STOP"), ("last_status", "FAIL")],
        None,
        [TASK],
    ),
    (
        "list_tasks_page",
        (100, 20),
        {"task_name": "night stop", "scheduled_type": "LIFE_CYCLE"},
        {"scheduled_tasks": [TASK], "total_count": 121},
        "GET",
        "/scheduled-tasks",
        [
            ("offset", "100"),
            ("limit", "20"),
            ("task_name", "night stop"),
            ("scheduled_type", "LIFE_CYCLE"),
        ],
        None,
        {"scheduled_tasks": [TASK], "total_count": 121},
    ),
    ("get_task", ("t-1",), {}, TASK, "GET", "/scheduled-tasks/t-1", [], None, TASK),
    (
        "create_task",
        (CREATE,),
        {"scheduled_type": "DAY", "day_interval": 1},
        {"task_id": "new-1"},
        "POST",
        "/scheduled-tasks",
        [],
        {**CREATE, "scheduled_type": "DAY", "day_interval": 1},
        "new-1",
    ),
    (
        "update_task",
        ("t-1",),
        {"enable": False, "priority": 3},
        None,
        "PUT",
        "/scheduled-tasks/t-1",
        [],
        {"enable": False, "priority": 3},
        None,
    ),
    ("delete_task", ("t-1",), {}, None, "DELETE", "/scheduled-tasks/t-1", [], None, RID),
    (
        "batch_delete",
        (["a", "b"],),
        {},
        None,
        "POST",
        "/scheduled-tasks/batch-delete",
        [],
        {"task_ids": ["a", "b"]},
        RID,  # the deletes return the answer's X-Request-Id (the ledger keeps it per id)
    ),
    (
        "list_records",
        ("t-1",),
        {"offset": 10, "limit": 5},
        {"tasks_records": [RECORD], "total_count": 11},
        "GET",
        "/scheduled-tasks/t-1/records",
        [("offset", "10"), ("limit", "5")],
        None,
        [RECORD],
    ),
    (
        "list_record_details",
        ("t-1", "r-1"),
        {"offset": 0, "limit": 100},
        {"tasks_records_details": [DETAIL], "total_count": 1},
        "GET",
        "/scheduled-tasks/t-1/records/r-1",
        [("offset", "0"), ("limit", "100")],
        None,
        [DETAIL],
    ),
    (
        "export_records",
        ("t-1",),
        {"language": "en-us", "time_zone": "Asia/Shanghai"},
        b"id,status\nr-1,SUCCESS\n",
        "POST",
        "/scheduled-tasks/t-1/records/export",
        [("language", "en-us"), ("time_zone", "Asia/Shanghai")],
        None,
        b"id,status\nr-1,SUCCESS\n",
    ),
    (
        "future_executions",
        ({"scheduled_type": "DAY"},),
        {"day_interval": 1, "scheduled_time": "22:00:00"},
        {"future_executions": ["2025-01-02 22:00:00", "2025-01-03 22:00:00"]},
        "POST",
        "/scheduled-tasks/future-executions",
        [],
        {"scheduled_type": "DAY", "day_interval": 1, "scheduled_time": "22:00:00"},
        ["2025-01-02 22:00:00", "2025-01-03 22:00:00"],
    ),
    (
        "life_cycle_configurations",
        ("POST_DESKTOP_DISCONNECTED",),
        {},
        CONFIG,
        "GET",
        "/scheduled-tasks/life-cycle-type/configurations",
        [("type", "POST_DESKTOP_DISCONNECTED")],
        None,
        CONFIG,
    ),
    (
        "time_zones",
        ("Asia/Shanghai",),
        {},
        {"time_zones": [ZONE]},
        "GET",
        "/common/timezones",
        [("time_zone_name", "Asia/Shanghai")],
        None,
        [ZONE],
    ),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "answer", "method", "path", "query", "body", "result"),
    OPERATIONS,
    ids=[op[0] for op in OPERATIONS],
)
def test_operation_on_the_wire(
    make_api: Callable[..., Api],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    answer: Any,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: Any,
    result: Any,
) -> None:
    server = Server(ok(answer))
    api = make_api(server)
    assert api.call(name, *args, **kwargs) == result
    [request] = server.requests
    assert request.method == method
    assert request.url.host == "workspace.cn-north-4.myhuaweicloud.com"
    assert request.url.path == BASE + path
    assert request.url.params.multi_items() == query
    # JSON bodies are serialized exactly like the SDK (json.dumps default separators, \u escapes)
    assert request.content == (b"" if body is None else json.dumps(body).encode())
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={AK}, ")
    assert api.client.stats.by_operation == {"list_tasks" if name.startswith("list_t") else name: 1}


def test_every_operation_is_covered() -> None:
    from wsnb.models import READ_OPERATIONS, WRITE_OPERATIONS

    names = {op[0] for op in OPERATIONS} - {"list_tasks_page"}
    assert names == READ_OPERATIONS | WRITE_OPERATIONS


def test_batch_delete_bytes_match_the_reference_vector(make_api: Callable[..., Api]) -> None:
    server = Server(ok())
    make_api(server).call("batch_delete", ["task-1", "task-2"])
    assert server.last.content == b'{"task_ids": ["task-1", "task-2"]}'
    assert server.last.url.raw_path == f"{BASE}/scheduled-tasks/batch-delete".encode()


def test_non_ascii_body_is_escaped_like_the_sdk(make_api: Callable[..., Api]) -> None:
    server = Server(ok({"task_id": "n"}))
    make_api(server).call("create_task", task_name="测试任务", task_type="STOP")
    assert (
        server.last.content == b'{"task_name": "\\u6d4b\\u8bd5\\u4efb\\u52a1", "task_type": "STOP"}'
    )


def test_path_parameters_are_percent_encoded(make_api: Callable[..., Api]) -> None:
    server = Server(ok(TASK), ok({"tasks_records_details": []}))
    api = make_api(server)
    api.call("get_task", "a/b c?#%")
    assert server.requests[0].url.raw_path == f"{BASE}/scheduled-tasks/a%2Fb%20c%3F%23%25".encode()
    api.call("list_record_details", "t 1", "r/1", offset=0)
    assert server.requests[1].url.raw_path.startswith(
        f"{BASE}/scheduled-tasks/t%201/records/r%2F1?".encode()
    )


@pytest.mark.parametrize("content", [b"", b"{}", b"  "])
@pytest.mark.parametrize("name", ["delete_task", "update_task", "batch_delete"])
def test_empty_and_empty_object_success_bodies(
    make_api: Callable[..., Api], name: str, content: bytes
) -> None:
    api = make_api(Server(ok(content)))
    args: dict[str, tuple[Any, ...]] = {
        "delete_task": ("t-1",),
        "update_task": ("t-1", {"enable": True}),
        "batch_delete": (["t-1"],),
    }
    assert api.call(name, *args[name]) == (None if name == "update_task" else RID)


@pytest.mark.parametrize("name", ["delete_task", "batch_delete"])
def test_deletes_without_a_request_id_return_none(make_api: Callable[..., Api], name: str) -> None:
    answer = httpx.Response(200, content=b"{}")  # no X-Request-Id header at all
    args = ("t-1",) if name == "delete_task" else (["t-1"],)
    assert make_api(Server(answer)).call(name, *args) is None


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"[]"),
        ok(b"<html><title>OK</title></html>", 200, **{"Content-Type": "text/html"}),
        ok(b"garbage \xff\x00"),
        ok(b"", 204),
        ok(b"not json", 202),
    ],
)
@pytest.mark.parametrize("name", ["delete_task", "batch_delete"])
def test_deletes_succeed_whatever_the_2xx_body(
    make_api: Callable[..., Api], name: str, answer: httpx.Response
) -> None:
    server = Server(answer)
    args = ("t-1",) if name == "delete_task" else (["t-1"],)
    assert make_api(server).call(name, *args) == RID
    assert len(server.requests) == 1


HTML_200 = b"<!DOCTYPE html><html><head><title>Sign in to the\n Wi-Fi</title></head><body>"


@pytest.mark.parametrize(
    ("name", "args", "content", "match", "requests"),
    [
        # unreadable answers to reads: retried (a proxy hiccup), then a typed error
        ("get_task", ("t-1",), b'{"id": "t-1", "task_na', "body is not JSON", 6),
        ("get_task", ("t-1",), b"<html>", "HTML page instead of JSON", 6),
        ("list_tasks", (), b"", "empty body where JSON was expected", 6),
        ("time_zones", (), HTML_200 + b"x" * 5000, "HTML page .*'Sign in to the Wi-Fi'", 6),
        # JSON of the wrong shape: final at once
        ("list_tasks", (), b'{"scheduled_tasks": {}}', "not a list", 1),
        ("get_task", ("t-1",), b"[1, 2]", "expected a JSON object, got list", 1),
    ],
)
def test_unreadable_success_bodies_of_reads_raise(
    make_api: Callable[..., Api],
    name: str,
    args: tuple[Any, ...],
    content: bytes,
    match: str,
    requests: int,
) -> None:
    server = Server(default=ok(content))
    with pytest.raises(UnexpectedResponseError, match=match) as info:
        make_api(server).call(name, *args)
    operation = "list_tasks" if name == "list_tasks_page" else name
    assert info.value.request_id == RID and info.value.status == 200
    assert info.value.operation == operation
    assert f"({operation} " in str(info.value)
    assert len(server.requests) == requests
    assert "x" * 100 not in str(info.value)  # never the whole page


@pytest.mark.parametrize(
    ("name", "args", "content", "match"),
    [
        ("create_task", ({"task_name": "x"},), b"{}", "no task_id"),
        ("create_task", ({"task_name": "x"},), b"", "empty body"),
        ("create_task", ({"task_name": "x"},), b"<html>proxy</html>", "HTML page"),
        ("update_task", ("t-1", {"enable": True}), b"garbage", "body is not JSON"),
    ],
)
def test_unreadable_success_bodies_of_writes_are_unknown_outcomes(
    make_api: Callable[..., Api], name: str, args: tuple[Any, ...], content: bytes, match: str
) -> None:
    server = Server(default=ok(content))
    with pytest.raises(OutcomeUnknownError, match=match) as info:
        make_api(server).call(name, *args)
    assert len(server.requests) == 1  # never repeated: the write may have happened
    assert isinstance(info.value.cause, UnexpectedResponseError)
    assert info.value.status == 200 and info.value.operation == name
    assert "check the server" in str(info.value)


# --- paging -------------------------------------------------------------------------------------


def task_list(
    count: int, *, with_total: bool = True, total: int | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """A listing of ``count`` tasks whose ``total_count`` is ``total`` (default: ``count``)."""
    tasks = [{"id": f"t-{i:04d}", "task_name": f"n{i}"} for i in range(count)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        body: dict[str, Any] = {"scheduled_tasks": tasks[offset : offset + limit]}
        if with_total:
            body["total_count"] = count if total is None else total
        return ok(body)

    return answer


@pytest.mark.parametrize(
    ("count", "with_total", "offsets"),
    [
        (0, True, [0]),
        (1, True, [0]),
        (49, True, [0]),
        (50, True, [0, 50]),  # a full page: only a short page ends the listing
        (51, True, [0, 50]),
        (100, True, [0, 50, 100]),
        (120, True, [0, 50, 100]),
        (50, False, [0, 50]),
        (100, False, [0, 50, 100]),
    ],
)
def test_list_tasks_reads_every_page_once(
    make_api: Callable[..., Api], count: int, with_total: bool, offsets: list[int]
) -> None:
    server = Server(default=task_list(count, with_total=with_total))
    api = make_api(server)
    tasks = api.call("list_tasks", scheduled_type="WEEK")
    assert [t["id"] for t in tasks] == [f"t-{i:04d}" for i in range(count)]
    assert [int(r.url.params["offset"]) for r in server.requests] == offsets
    assert {r.url.params["limit"] for r in server.requests} == {"50"}
    assert {r.url.params["scheduled_type"] for r in server.requests} == {"WEEK"}
    assert api.client.stats.calls == len(offsets)


@pytest.mark.parametrize("total", [0, 1, 50, 60, 119, 121, 5000])
def test_list_tasks_does_not_trust_total_count(make_api: Callable[..., Api], total: int) -> None:
    """``total_count`` may count hidden LIFE_CYCLE tasks or be off: only a short page ends."""
    server = Server(default=task_list(120, total=total))
    tasks = make_api(server).call("list_tasks")
    assert [t["id"] for t in tasks] == [f"t-{i:04d}" for i in range(120)]
    assert [int(r.url.params["offset"]) for r in server.requests] == [0, 50, 100]


@pytest.mark.parametrize(
    ("content", "total"),
    [
        (b'{"scheduled_tasks": [], "total_count": 7}', 7),
        (b'{"scheduled_tasks": []}', None),  # absent: unknown, never 0
        (b'{"scheduled_tasks": [], "total_count": null}', None),
        (b'{"scheduled_tasks": [], "total_count": "3"}', None),  # not an integer: no hint
        (b'{"scheduled_tasks": [], "total_count": true}', None),
    ],
)
def test_list_tasks_page_total_count_is_a_hint_or_none(
    make_api: Callable[..., Api], content: bytes, total: int | None
) -> None:
    server = Server(default=ok(content))
    page = make_api(server).call("list_tasks_page", 0)
    assert page == {"scheduled_tasks": [], "total_count": total}
    assert len(server.requests) == 1


def test_list_tasks_drops_items_repeated_by_a_shifting_listing(
    make_api: Callable[..., Api],
) -> None:
    first = [{"id": f"t-{i}"} for i in range(50)]
    second = [{"id": "t-49"}, *({"id": f"t-{i}"} for i in range(50, 60))]  # t-49 shifted down
    server = Server(ok({"scheduled_tasks": first}), ok({"scheduled_tasks": second}))
    tasks = make_api(server).call("list_tasks")
    assert [t["id"] for t in tasks] == [f"t-{i}" for i in range(60)]


def test_paging_stops_when_the_server_ignores_offset(make_api: Callable[..., Api]) -> None:
    same = ok({"scheduled_tasks": [{"id": f"t-{i}"} for i in range(50)]})
    server = Server(default=same)
    with pytest.raises(WorkspaceError, match="repeated a whole page at offset 50") as info:
        make_api(server).call("list_tasks")
    assert len(server.requests) == 2
    assert info.value.operation == "list_tasks"


def test_records_page_by_hundred_until_a_short_page(make_api: Callable[..., Api]) -> None:
    records = [{"id": f"r-{i}"} for i in range(250)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return ok({"tasks_records": records[offset : offset + limit], "total_count": 250})

    server = Server(default=answer)
    assert make_api(server).call("list_records", "t-1") == records
    assert [r.url.params.multi_items() for r in server.requests] == [
        [("offset", str(o)), ("limit", "100")] for o in (0, 100, 200)
    ]


def test_records_do_not_trust_total_count(make_api: Callable[..., Api]) -> None:
    records = [{"id": f"r-{i}"} for i in range(250)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return ok({"tasks_records": records[offset : offset + limit], "total_count": 100})

    server = Server(default=answer)
    assert make_api(server).call("list_records", "t-1") == records


# --- validation before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "error", "match"),
    [
        ([], ValueError, r"task_ids must hold 1 to 5000 ids, got 0"),
        (["x"] * 5001, ValueError, r"task_ids must hold 1 to 5000 ids, got 5001"),
        (["ok", ""], ValueError, r"task_ids\[1\] must be a str of 1 to 255 characters"),
        (["y" * 256], ValueError, r"task_ids\[0\] must be a str of 1 to 255"),
        (["a", 7], ValueError, r"task_ids\[1\]"),
        ("abc", TypeError, "task_ids must be a sequence"),
        (None, TypeError, "task_ids must be a sequence"),
    ],
)
def test_batch_delete_validates_before_sending(
    make_api: Callable[..., Api], ids: Any, error: type[Exception], match: str
) -> None:
    server = Server()
    with pytest.raises(error, match=match):
        make_api(server).call("batch_delete", ids)
    assert server.requests == []


def test_batch_delete_at_the_limits_is_one_call(make_api: Callable[..., Api]) -> None:
    ids = [f"{i:0255d}" for i in range(5000)]
    server = Server(ok())
    make_api(server).call("batch_delete", ids)
    [request] = server.requests
    assert json.loads(request.content) == {"task_ids": ids}


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "error", "match"),
    [
        ("list_tasks", (), {"task_type": "NOPE"}, ValueError, "task_type must be one of START"),
        ("list_tasks", (), {"last_status": "success"}, ValueError, "last_status must be one of"),
        ("list_tasks", (), {"scheduled_type": "HOURLY"}, ValueError, "scheduled_type must be"),
        ("list_tasks", (), {"life_cycle_type": "X"}, ValueError, "life_cycle_type must be"),
        ("list_tasks", (), {"task_name": ""}, ValueError, "task_name filter must be"),
        ("list_tasks_page", (0,), {"colour": "red"}, TypeError, "unknown list filter"),
        ("list_tasks_page", (-1,), {}, ValueError, "offset must be between 0 and 2147483647"),
        ("list_tasks_page", (2**31,), {}, ValueError, "offset must be between 0 and 2147483647"),
        ("list_records", ("t",), {"offset": 2**31}, ValueError, "offset must be between 0 and"),
        ("list_record_details", ("t", "r"), {"offset": -1}, ValueError, "offset must be between"),
        ("list_tasks_page", (0, 51), {}, ValueError, "limit must be between 0 and 50"),
        ("list_tasks_page", (0, True), {}, TypeError, "limit must be an int"),
        ("get_task", ("",), {}, ValueError, "task_id must be a non-empty str"),
        ("delete_task", ("z" * 256,), {}, ValueError, "task_id must be .* at most 255"),
        ("list_records", ("t",), {"limit": 0}, ValueError, "limit must be between 1 and 100"),
        ("list_records", ("t",), {"offset": 0, "limit": 101}, ValueError, "limit must be"),
        ("list_record_details", ("t", ""), {}, ValueError, "record_id must be"),
        ("create_task", (), {"colour": "red"}, TypeError, r"unknown field\(s\) \['colour'\]"),
        ("create_task", (), {}, ValueError, "create_task needs at least one field"),
        ("update_task", ("t", None), {"task_type": "STOP"}, TypeError, "update_task got unknown"),
        ("future_executions", (), {"task_name": "x"}, TypeError, "future_executions got unknown"),
        ("life_cycle_configurations", ("NOPE",), {}, ValueError, "type must be one of"),
    ],
)
def test_bad_arguments_fail_before_sending(
    make_api: Callable[..., Api],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    server = Server()
    with pytest.raises(error, match=match):
        make_api(server).call(name, *args, **kwargs)
    assert server.requests == []


# --- error responses ----------------------------------------------------------------------------

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@pytest.mark.parametrize(
    ("answer", "name", "args", "cls", "code", "requests"),
    [
        (
            fail(400, "WKS.0001", "The scheduled task does not exist."),
            "delete_task",
            ("t-1",),
            BadRequestError,
            "WKS.0001",
            1,
        ),
        (
            fail(401, "APIG.0301", "verify aksk signature fail"),
            "get_task",
            ("t",),
            AuthenticationError,
            "APIG.0301",
            1,
        ),
        (
            fail(404, "APIG.0101", "The API does not exist"),
            "list_tasks",
            (),
            NotFoundError,
            "APIG.0101",
            1,
        ),
        (
            fail(413, "APIG.0201", "Request entity too large"),
            "batch_delete",
            (["a"],),
            RequestTooLargeError,
            "APIG.0201",
            1,
        ),
        (
            fail(413, "APIGW.0201", "Request entity too large"),
            "create_task",
            ({"task_name": "x"},),
            RequestTooLargeError,
            "APIGW.0201",
            1,
        ),
        (
            fail(401, "APIGW.0301", "Incorrect IAM authentication information: ak X not exist"),
            "list_tasks",
            (),
            AuthenticationError,
            "APIGW.0301",
            1,
        ),
        (
            fail(404, "APIGW.0101", "The API does not exist"),
            "get_task",
            ("t",),
            NotFoundError,
            "APIGW.0101",
            1,
        ),
        (
            fail(403, "WKS.00010099", "The service is not enabled."),
            "list_tasks",
            (),
            ServiceNotEnabledError,
            "WKS.00010099",
            1,
        ),
        (fail(504, "APIGW.0201", "timeout"), "get_task", ("t",), ServerError, "APIGW.0201", 6),
        (
            fail(504, "APIGW.0201", "timeout"),
            "batch_delete",
            (["a"],),
            OutcomeUnknownError,
            "APIGW.0201",
            1,
        ),
        (fail(500, "WKS.0202", "internal"), "get_task", ("t",), ServerError, "WKS.0202", 1),
        (fail(500, "WKS.0202", "internal"), "batch_delete", (["a"],), ServerError, "WKS.0202", 1),
        (ok(HTML.encode(), 502), "get_task", ("t",), ServerError, "502", 6),
        (ok(HTML.encode(), 503), "update_task", ("t", {"enable": True}), ServerError, "503", 6),
        (ok(b"", 504), "time_zones", (), ServerError, "504", 6),
        (ok(HTML.encode(), 502), "batch_delete", (["a"],), OutcomeUnknownError, "502", 1),
        (ok(b"", 503), "create_task", ({"task_name": "x"},), OutcomeUnknownError, "503", 1),
        (ok(b"", 504), "delete_task", ("t",), OutcomeUnknownError, "504", 1),
        (ok(b"", 503), "export_records", ("t",), OutcomeUnknownError, "503", 1),
    ],
)
def test_error_statuses(
    make_api: Callable[..., Api],
    answer: httpx.Response,
    name: str,
    args: tuple[Any, ...],
    cls: type[WorkspaceError],
    code: str,
    requests: int,
) -> None:
    server = Server(default=answer)
    api = make_api(server)
    with pytest.raises(WorkspaceError) as info:
        api.call(name, *args)
    error = info.value
    assert type(error) is cls
    assert error.error_code == code
    assert error.operation == name
    assert error.request_id == RID
    assert error.path is not None and error.path.startswith(BASE)
    assert len(server.requests) == requests
    assert api.client.stats.retries == requests - 1
    if isinstance(error, OutcomeUnknownError):
        assert isinstance(error.cause, ServerError) and error.cause.status == error.status


def test_task_missing_and_message(make_api: Callable[..., Api]) -> None:
    api = make_api(Server(fail(400, "WKS.0001", "The scheduled task does not exist.")))
    with pytest.raises(BadRequestError) as info:
        api.call("batch_delete", ["gone"])
    assert info.value.task_missing
    assert str(info.value) == (
        "400 WKS.0001: The scheduled task does not exist. "
        f"(batch_delete POST {BASE}/scheduled-tasks/batch-delete, request_id={RID})"
    )


def test_forbidden_carries_encoded_authorization_message(make_api: Callable[..., Api]) -> None:
    body = {"error_code": "APIG.0302", "error_msg": "denied", "encoded_authorization_message": "E"}
    with pytest.raises(ForbiddenError) as info:
        make_api(Server(ok(body, 403))).call("list_tasks")
    assert info.value.encoded_authorization_message == "E"


# --- retries ------------------------------------------------------------------------------------

THROTTLED = fail(429, "APIG.0308", "The throttling threshold has been reached")


def test_retry_after_seconds_then_success(make_api: Callable[..., Api]) -> None:
    throttled = fail(429, "APIG.0308", "over ratelimit", **{"Retry-After": "2"})
    server = Server(throttled, ok())
    api = make_api(server)
    api.call("batch_delete", ["a", "b"])
    assert api.clock.sleeps == [2.0]
    assert [r.content for r in server.requests] == [b'{"task_ids": ["a", "b"]}'] * 2
    stats = api.client.stats
    assert (stats.calls, stats.retries, stats.throttled) == (2, 1, 1)
    assert stats.by_operation == {"batch_delete": 2}
    assert stats.snapshot() == {
        "calls": 2,
        "retries": 1,
        "throttled": 1,
        "by_operation": {"batch_delete": 2},
    }


def test_retry_after_http_date(make_api: Callable[..., Api]) -> None:
    when = formatdate(datetime.now(UTC).timestamp() + 30, usegmt=True)
    server = Server(fail(429, "APIG.0308", "over", **{"Retry-After": when}), ok(TASK))
    api = make_api(server)
    assert api.call("get_task", "t-1") == TASK
    [wait] = api.clock.sleeps
    assert 28.0 <= wait <= 31.0


def test_throttled_without_retry_after_backs_off_then_gives_up(
    make_api: Callable[..., Api],
) -> None:
    server = Server(default=THROTTLED)
    api = make_api(server)
    with pytest.raises(ThrottledError):
        api.call("delete_task", "t-1")
    assert len(server.requests) == 6
    assert len(api.clock.sleeps) == 5
    # Huawei's advice: wait 2-5 s (not a full-jitter backoff starting at milliseconds)
    assert all(2.0 <= w <= 5.0 for w in api.clock.sleeps)
    assert (api.client.stats.throttled, api.client.stats.retries) == (6, 5)


def test_throttle_wait_scales_for_time_scaled_servers(make_api: Callable[..., Api]) -> None:
    server = Server(THROTTLED, ok(TASK))
    api = make_api(server, retry=RetryPolicy(throttle_wait=0.01))
    assert api.call("get_task", "t-1") == TASK
    [wait] = api.clock.sleeps
    assert 0.01 <= wait <= 0.025


def test_retry_after_beyond_deadline_is_not_waited(make_api: Callable[..., Api]) -> None:
    server = Server(default=fail(429, "APIG.0308", "over", **{"Retry-After": "600"}))
    api = make_api(server)
    with pytest.raises(ThrottledError) as info:
        api.call("list_tasks")
    assert info.value.retry_after == 600.0
    assert len(server.requests) == 1 and api.clock.sleeps == []


def test_deadline_counts_every_wait(make_api: Callable[..., Api]) -> None:
    throttled = fail(429, "APIG.0308", "over", **{"Retry-After": "40"})
    server = Server(default=throttled)
    api = make_api(server, retry=RetryPolicy(max_attempts=10, deadline=100.0))
    with pytest.raises(ThrottledError):
        api.call("get_task", "t")
    assert api.clock.sleeps == [40.0, 40.0]
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("name", "args"),
    [("get_task", ("t",)), ("list_tasks", ()), ("update_task", ("t", {"enable": False}))],
)
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        ok(b"", 503),
    ],
    ids=["read-timeout", "dropped", "503"],
)
def test_reads_and_update_retry_ambiguous_failures(
    make_api: Callable[..., Api], name: str, args: tuple[Any, ...], failure: Answer
) -> None:
    server = Server(failure, default=ok({"scheduled_tasks": []}))
    api = make_api(server)
    api.call(name, *args)
    assert len(server.requests) == 2
    assert api.client.stats.retries == 1


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("create_task", ({"task_name": "x"},)),
        ("delete_task", ("t",)),
        ("batch_delete", (["a"],)),
        ("export_records", ("t",)),
    ],
)
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteTimeout("timed out"),
    ],
    ids=["read-timeout", "dropped", "write-timeout"],
)
def test_ambiguous_writes_raise_outcome_unknown(
    make_api: Callable[..., Api], name: str, args: tuple[Any, ...], failure: Exception
) -> None:
    server = Server(failure, default=ok({"task_id": "should-not-be-reached"}))
    api = make_api(server)
    with pytest.raises(OutcomeUnknownError) as info:
        api.call(name, *args)
    assert len(server.requests) == 1
    assert isinstance(info.value.cause, TransportError) and info.value.cause.sent
    assert info.value.__cause__ is info.value.cause
    assert info.value.operation == name
    assert "check the server" in str(info.value)


@pytest.mark.parametrize("name", ["create_task", "batch_delete", "delete_task"])
def test_connect_errors_are_retried_for_writes(make_api: Callable[..., Api], name: str) -> None:
    args = {"create_task": ({"task_name": "x"},), "batch_delete": (["a"],), "delete_task": ("t",)}
    server = Server(
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        default=ok({"task_id": "new"}),
    )
    api = make_api(server)
    api.call(name, *args[name])
    assert len(server.requests) == 3
    assert len({r.content for r in server.requests}) == 1


def test_connect_errors_exhausted_raise_transport_error(make_api: Callable[..., Api]) -> None:
    server = Server(default=httpx.ConnectError("refused"))
    with pytest.raises(TransportError) as info:
        make_api(server, retry=RetryPolicy(max_attempts=3)).call("batch_delete", ["a"])
    assert not info.value.sent
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(server.requests) == 3


def test_each_attempt_is_signed_anew(make_api: Callable[..., Api]) -> None:
    from wsnb._signer import verify

    start = datetime(2026, 11, 29, 3, 0, 0, tzinfo=UTC)
    clock = FakeClock()

    def wall() -> datetime:
        return start + timedelta(seconds=clock.now)

    throttled = fail(429, "APIG.0308", "over", **{"Retry-After": "3"})
    server = Server(throttled, ok())
    api = make_api(server, clock=clock, wall_clock=wall)
    api.call("batch_delete", ["a"])
    first, second = server.requests
    assert first.headers["X-Sdk-Date"] == "20261129T030000Z"
    assert second.headers["X-Sdk-Date"] == "20261129T030003Z"
    assert first.headers["Authorization"] != second.headers["Authorization"]
    for request, now in ((first, start), (second, start + timedelta(seconds=3))):
        reason = verify(
            request.method,
            request.url.raw_path.split(b"?")[0].decode(),
            request.url.params.multi_items(),
            request.headers,
            request.content,
            lookup_sk=lambda ak: SK if ak == AK else None,
            now=now,
        )
        assert reason is None


# --- rate limiting ------------------------------------------------------------------------------


def test_rate_limit_paces_calls_per_class(make_api: Callable[..., Api]) -> None:
    clock = FakeClock()  # moves only when the client sleeps
    limit = RateLimit(reads_per_minute=60, writes_per_minute=30, burst=1, clock=clock)
    api = make_api(Server(default=ok(TASK)), clock=clock, rate_limit=limit)
    for _ in range(3):
        api.call("get_task", "t")
    api.call("delete_task", "t")  # writes have their own bucket: no wait
    api.call("delete_task", "t")
    assert api.clock.sleeps == pytest.approx([60 / 58, 60 / 58, 60 / 28])


def test_throttled_answers_slow_the_rate_limit_and_successes_restore_it(
    make_api: Callable[..., Api],
) -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, writes_per_minute=100, clock=clock)
    top = 200 - 5 - 1  # the quota less the burst and one call of margin
    assert limit.per_minute("get_task") == top
    throttled = fail(429, "APIG.0308", "over", **{"Retry-After": "1"})
    api = make_api(Server(throttled, default=ok(TASK)), clock=clock, rate_limit=limit)
    api.call("get_task", "t")
    assert limit.per_minute("get_task") == pytest.approx(top / 2)  # cut once, on the 429
    assert limit.per_minute("delete_task") == limit.per_minute_max("delete_task")
    for _ in range(60):
        api.call("get_task", "t")
    assert limit.per_minute("get_task") == pytest.approx(top)  # back up, and no higher
    assert len(api.server.requests) == 62
    assert api.client.stats.throttled == 1


def test_rate_limit_is_on_by_default_and_none_disables() -> None:
    server = Server(default=ok(TASK))
    clock = FakeClock()
    with Client(
        endpoint=ENDPOINT,
        credentials=AKSK,
        transport=httpx.MockTransport(server),
        clock=clock,
        sleep=clock.sleep,
    ) as client:
        for _ in range(201):  # the quota less one of margin in a window, then the next one
            client.get_task("t")
    assert clock.sleeps == pytest.approx([60.0])
    clock = FakeClock()
    with Client(
        endpoint=ENDPOINT,
        credentials=AKSK,
        transport=httpx.MockTransport(server),
        rate_limit=None,
        sleep=clock.sleep,
    ) as client:
        for _ in range(50):
            client.get_task("t")
    assert clock.sleeps == []


# --- construction -------------------------------------------------------------------------------


def test_region_endpoint_and_project() -> None:
    with Client(region="cn-east-3", credentials=AKSK) as client:
        assert client.endpoint == "https://workspace.cn-east-3.myhuaweicloud.com"
        assert client.project_id == PID
    assert len(REGIONS) == 18
    with Client(endpoint="http://127.0.0.1:8080/", credentials=AKSK, project_id="other") as c:
        assert c.endpoint == "http://127.0.0.1:8080"
        assert c.project_id == "other"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"region": "mars-north-1"}, "unknown region 'mars-north-1'; known regions: af-north-1"),
        ({}, "give region="),
        ({"endpoint": "workspace.example.com"}, "endpoint must start with https://"),
        ({"region": "cn-north-4", "credentials": Credentials(token=TOKEN)}, "project_id"),
        ({"region": "cn-north-4", "project_id": "x" * 256}, "project_id must be"),
    ],
)
def test_construction_errors_are_clear(kwargs: dict[str, Any], match: str) -> None:
    options = {"credentials": AKSK, **kwargs}
    with pytest.raises(ValueError, match=match):
        Client(**options)


def test_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in CREDENTIAL_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", SK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", PID)
    monkeypatch.setenv("WSNB_REGION", "ap-southeast-1")
    monkeypatch.delenv("WSNB_ENDPOINT", raising=False)
    server = Server(ok(TASK))
    with Client.from_env(transport=httpx.MockTransport(server), rate_limit=None) as client:
        assert client.endpoint == "https://workspace.ap-southeast-1.myhuaweicloud.com"
        client.get_task("t")
    assert server.last.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={AK}")
    monkeypatch.setenv("WSNB_ENDPOINT", "http://127.0.0.1:9999")
    assert AsyncClient.from_env().endpoint == "http://127.0.0.1:9999"
    monkeypatch.delenv("WSNB_ENDPOINT")
    monkeypatch.delenv("WSNB_REGION")
    with pytest.raises(ValueError, match="WSNB_ENDPOINT or WSNB_REGION"):
        Client.from_env()


def test_timeouts_user_agent_and_token_auth(make_api: Callable[..., Api]) -> None:
    assert (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read) == (10.0, 60.0)
    server = Server(default=ok(TASK))
    make_api(server, credentials=TOKEN_CREDS).call("get_task", "t")
    request = server.last
    assert request.extensions["timeout"] == {
        "connect": 10.0,
        "read": 60.0,
        "write": 60.0,
        "pool": 60.0,
    }
    assert request.headers["User-Agent"].startswith("wsnb/")
    assert request.headers["X-Auth-Token"] == TOKEN
    assert "Authorization" not in request.headers
    make_api(server, timeout=5.0, user_agent="probe/1").call("get_task", "t")
    assert server.last.extensions["timeout"]["read"] == 5.0
    assert server.last.headers["User-Agent"] == "probe/1"


def test_repr_shows_endpoint_and_project_only() -> None:
    for credentials in (AKSK, TOKEN_CREDS):
        client = Client(endpoint=ENDPOINT, credentials=credentials)
        text = repr(client)
        assert text.startswith(f"Client(endpoint='{ENDPOINT}', project_id='{PID}'")
        assert not any(secret in text for secret in SECRETS)
        client.close()


def test_context_managers_close_the_pool() -> None:
    with Client(endpoint=ENDPOINT, credentials=AKSK) as client:
        pass
    assert client._http.is_closed

    async def main() -> AsyncClient:
        async with AsyncClient(endpoint=ENDPOINT, credentials=AKSK) as aclient:
            pass
        return aclient

    assert asyncio.run(main())._http.is_closed


def test_sync_client_works_inside_a_running_event_loop() -> None:
    server = Server(default=ok({"scheduled_tasks": [TASK], "total_count": 1}))

    async def notebook_cell() -> list[Any]:
        asyncio.get_running_loop()  # we are inside a loop, as in Jupyter
        with Client(
            endpoint=ENDPOINT, credentials=AKSK, transport=httpx.MockTransport(server)
        ) as c:
            return c.list_tasks()

    assert asyncio.run(notebook_cell()) == [TASK]


# --- secrets never leak -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body: dict[str, object]
        if type(self).hits == 1:
            status, body = 429, {"error_code": "APIG.0308", "error_msg": "over ratelimit"}
        elif self.command == "DELETE":
            status, body = (
                400,
                {"error_code": "WKS.0001", "error_msg": "The scheduled task does not exist."},
            )
        else:
            status, body = 200, TASK
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Id", RID)
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_DELETE = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[str]:
    _Handler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _exercise_sync(options: dict[str, Any]) -> list[str]:
    _Handler.hits = 0
    with Client(**options) as client:
        assert client.get_task("t-1") == TASK  # a 429 first, then 200
        with pytest.raises(BadRequestError) as info:
            client.delete_task("t-1")
        return [repr(client), str(info.value), repr(info.value)]


async def _exercise_async(options: dict[str, Any]) -> list[str]:
    _Handler.hits = 0
    async with AsyncClient(**options) as client:
        assert await client.get_task("t-1") == TASK
        with pytest.raises(BadRequestError) as info:
            await client.delete_task("t-1")
        return [repr(client), str(info.value), repr(info.value)]


def test_no_secret_in_logs_reprs_or_errors(loopback: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for credentials in (AKSK, TOKEN_CREDS, Credentials(ak=AK, sk=SK, security_token=TOKEN)):
        options: dict[str, Any] = {
            "endpoint": loopback,
            "credentials": credentials,
            "project_id": PID,
            "rate_limit": None,
        }
        texts += _exercise_sync(options)
        texts += asyncio.run(_exercise_async(options))
        refused = {
            **options,
            "endpoint": "http://127.0.0.1:1",
            "retry": RetryPolicy(max_attempts=1),
        }
        with Client(**refused) as client, pytest.raises(TransportError) as info:
            client.batch_delete(["t-1"])
        texts += [str(info.value), repr(info.value), repr(info.value.__cause__)]
    names = {record.name.split(".")[0] for record in caplog.records}
    assert {"wsnb", "httpx", "httpcore"} <= names  # the loggers really ran at DEBUG
    wsnb_lines = [r.getMessage() for r in caplog.records if r.name == "wsnb.client"]
    assert sum(f"-> 429 request_id={RID} attempt=1" in line for line in wsnb_lines) == 6
    assert sum(f"-> 200 request_id={RID} attempt=2" in line for line in wsnb_lines) == 6
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    for secret in SECRETS:
        leaked = [text for text in texts if secret in text]
        assert leaked == [], f"secret leaked into: {leaked[:3]}"


def _shown(error: BaseException) -> str:
    """Everything a user could see of ``error``: str, repr and the printed traceback (chain)."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def _forced(credentials: Credentials, **values: str) -> Credentials:
    """Credentials holding values validation refuses (as an object built around it might)."""
    for name, value in values.items():
        object.__setattr__(credentials, name, value)
    return credentials


@pytest.mark.parametrize(
    ("values", "operation", "cls"),
    [
        ({"ak": AK + "\r"}, "get_task", TransportError),
        ({"ak": AK + "\n"}, "batch_delete", OutcomeUnknownError),
        ({"security_token": TOKEN + "\r\n"}, "get_task", TransportError),
        ({"token": TOKEN + "\n", "ak": None, "sk": None}, "delete_task", OutcomeUnknownError),
    ],
)
def test_illegal_header_error_from_the_http_stack_is_redacted(
    loopback: str, values: dict[str, Any], operation: str, cls: type[WorkspaceError]
) -> None:
    """The real leak: h11 quotes the whole refused header (AK + signature, or the token)."""
    credentials = _forced(Credentials(ak=AK, sk=SK, project_id=PID), **values)
    options: dict[str, Any] = {"retry": RetryPolicy(max_attempts=1), "rate_limit": None}
    client = Client(endpoint=loopback, credentials=credentials, **options)
    with client, pytest.raises(WorkspaceError) as info:
        getattr(client, operation)(["t-1"] if operation == "batch_delete" else "t-1")
    error = info.value
    assert type(error) is cls
    shown = _shown(error)
    assert "Illegal header value b'<redacted>'" in shown
    assert "original exception withheld" in shown
    for secret in (AK, SK, TOKEN):
        assert secret not in shown
    assert "Signature=" not in shown and "Access=" not in shown
    transport = error.cause if isinstance(error, OutcomeUnknownError) else error
    assert isinstance(transport, TransportError)
    assert transport.__cause__ is None and transport.__suppress_context__


def test_transport_error_quoting_a_secret_is_redacted_and_its_chain_cut(
    make_api: Callable[..., Api],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        quoted = request.headers["Authorization"].encode()
        try:
            raise ValueError(f"Illegal header value {quoted!r}")
        except ValueError as inner:
            raise httpx.LocalProtocolError(f"bad header for {AK}: {quoted!r}") from inner

    server = Server(default=refuse)
    api = make_api(server, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(TransportError) as info:
        api.call("get_task", "t-1")
    signature = server.last.headers["Authorization"].rsplit("Signature=", 1)[1]
    shown = _shown(info.value)
    assert "LocalProtocolError: bad header for <redacted>: b'<redacted>'" in shown
    for secret in (AK, SK, signature):
        assert secret not in shown
    assert info.value.__cause__ is None
    assert len(server.requests) == 2  # still retried like any dropped read


def test_harmless_transport_errors_keep_their_cause(make_api: Callable[..., Api]) -> None:
    server = Server(default=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(TransportError) as info:
        make_api(server, retry=RetryPolicy(max_attempts=1)).call("get_task", "t-1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert str(info.value).startswith("ConnectError: [Errno 111] Connection refused (get_task")


def test_gateway_echoing_the_access_key_is_redacted(make_api: Callable[..., Api]) -> None:
    echo = f"Incorrect IAM authentication information: ak {AK} not exist"
    api = make_api(Server(fail(401, "APIGW.0301", echo)))
    with pytest.raises(AuthenticationError) as info:
        api.call("list_tasks")
    assert info.value.error_msg == (
        "Incorrect IAM authentication information: ak <redacted> not exist"
    )
    assert AK not in _shown(info.value)


def test_stats_are_thread_safe() -> None:
    server = Server(default=ok(TASK))
    with Client(
        endpoint=ENDPOINT, credentials=AKSK, transport=httpx.MockTransport(server), rate_limit=None
    ) as client:

        def work() -> None:
            for _ in range(50):
                client.get_task("t")

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.stats.snapshot() == {
            "calls": 300,
            "retries": 0,
            "throttled": 0,
            "by_operation": {"get_task": 300},
        }
        client.stats.reset()
        assert client.stats.calls == 0 and client.stats.by_operation == {}
    assert len(server.requests) == 300


# --- connections and threads for concurrent callers -------------------------------------------


class _CountingHandler(BaseHTTPRequestHandler):
    """Answers each request with a task once ``meet`` has all callers in flight together;
    counts the TCP connections it was given."""

    protocol_version = "HTTP/1.1"  # keep-alive
    connections = 0
    lock = threading.Lock()
    meet = threading.Barrier(1)

    def setup(self) -> None:
        super().setup()
        with type(self).lock:
            type(self).connections += 1

    def do_GET(self) -> None:
        type(self).meet.wait()
        data = json.dumps(TASK).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_pool_keeps_a_connection_per_concurrent_caller() -> None:
    """32 calls in flight at once, twice: the second round reuses the first round's
    connections (httpx keeps only 20 alive by default: 12 more TLS handshakes a round)."""
    _CountingHandler.connections = 0
    _CountingHandler.meet = threading.Barrier(32, timeout=20)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    rounds: list[int] = []
    try:
        with Client(endpoint=endpoint, credentials=AKSK, rate_limit=None) as client:
            for _ in range(2):
                threads = [threading.Thread(target=client.get_task, args=("t",)) for _ in range(32)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                rounds.append(_CountingHandler.connections)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert rounds == [32, 32]


def test_async_algorithms_run_a_sync_client_on_enough_threads() -> None:
    """``wsnb._aio.Api`` over a sync client: 12 calls in flight at once (the loop's default
    executor has min(32, cores + 4) threads: 6 on a 2-core machine)."""
    from wsnb._aio import Api

    meet = threading.Barrier(12, timeout=10)

    def answer(request: httpx.Request) -> httpx.Response:
        meet.wait()  # broken if fewer than 12 calls are in flight together
        return ok(TASK)

    async def main(api: Api) -> list[Any]:
        return await asyncio.gather(*(api.get_task(f"t-{i}") for i in range(12)))

    with Client(
        endpoint=ENDPOINT,
        credentials=AKSK,
        transport=httpx.MockTransport(answer),
        rate_limit=None,
    ) as client:
        assert asyncio.run(main(Api(client))) == [TASK] * 12


def test_async_requests_do_not_search_the_import_path(loopback: str) -> None:
    """httpcore's async pool runs ``import sniffio`` several times per request; without sniffio
    installed (anyio >= 4.11 no longer brings it) every one of those fails and searches
    sys.path again (about 1 ms of CPU per request)."""
    import sys
    from importlib.abc import MetaPathFinder

    searched: list[str] = []

    class Spy(MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            searched.append(name)

    async def main() -> None:
        async with AsyncClient(
            endpoint=loopback, credentials=AKSK, rate_limit=None, retry=RetryPolicy(initial=0)
        ) as client:
            await client.get_task("t-1")  # the first answer is a 429: warm up through it
            sys.meta_path.insert(0, Spy())
            try:
                for _ in range(5):
                    await client.get_task("t-1")
            finally:
                del sys.meta_path[0]

    asyncio.run(main())
    assert searched == []


def test_clients_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs 50-100 ms of CPU; a notebook makes many clients."""
    import ssl

    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kw: Any) -> None:
        loads.append(args or kw)
        load(self, *args, **kw)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    for _ in range(3):
        Client(endpoint=ENDPOINT, credentials=AKSK).close()

    async def make_async() -> None:
        await AsyncClient(endpoint=ENDPOINT, credentials=AKSK).close()

    asyncio.run(make_async())
    assert len(loads) <= 1
