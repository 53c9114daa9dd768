"""The scheduled-tasks service as a Starlette app: routes, auth, throttle, faults, request log.

Every API route is an :class:`_Operation`, a small ASGI app that runs the same pipeline for each
call: read the body (413 past the limit) → authenticate (401) → throttle (429) → faults "before"
→ the handler, one SQLite transaction → faults "after" → the answer, always JSON in Huawei's
error envelope when it fails, with an ``X-Request-Id``.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from wsnb.models import RECORD_FIELDS, TASK_DETAIL_FIELDS, TASK_FIELDS

from . import _validation as v
from ._control import control_routes
from ._errors import (
    AUTH_FAILED,
    INTERNAL,
    NO_SUCH_API,
    NO_SUCH_API_MSG,
    RECORD_MISSING,
    TASK_MISSING,
    TOO_LARGE,
    ApiError,
    bad_request,
)
from ._reference import LIFE_CYCLE_CONFIGURATIONS, TIME_ZONES
from ._schedule import PREVIEW_COUNT, executions, local_date, next_execution
from .faults import Faults, Limiter, RequestLog, Throttle
from .store import Store, TaskRow

log = logging.getLogger("wsnb.emulator")

JSON_TYPE: Final = "application/json;charset=UTF-8"
AuthMode = Literal["strict", "loose"]
UnknownIds = Literal["ignore", "reject"]
_FIELDS_ONLY_FOR_TRIGGERS: Final = frozenset({"priority", "wait_time", "life_cycle_exec_period"})


@dataclass
class EmulatorConfig:
    """How an emulator behaves. Secrets (``keys``, ``tokens``) never appear in its repr.

    ``keys`` maps AK → SK for SDK-HMAC-SHA256; ``tokens`` are accepted ``X-Auth-Token`` values.
    ``project_id`` is the default project (the control plane's, and the one handed to clients);
    ``None`` reuses the one a file db remembers, else picks a random one. Any project id in a
    path works; data stays separate per project. ``auth="loose"`` accepts any request.
    ``unknown_ids`` is the batch-delete policy for ids that do not exist. ``clock`` is the wall
    clock (tests freeze it).
    """

    project_id: str | None = None
    db: str | Path | None = None
    auth: AuthMode = "strict"
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    tokens: frozenset[str] = field(default_factory=frozenset, repr=False)
    unknown_ids: UnknownIds = "ignore"
    throttle: Throttle | None = None
    fault_seed: int = 0
    max_body_bytes: int = 12 * 1024 * 1024
    max_skew: timedelta = timedelta(minutes=15)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    control_from_anywhere: bool = False

    def __post_init__(self) -> None:
        if self.auth not in ("strict", "loose"):
            raise ValueError(f"auth must be 'strict' or 'loose', not {self.auth!r}")
        if self.unknown_ids not in ("ignore", "reject"):
            raise ValueError(f"unknown_ids must be 'ignore' or 'reject', not {self.unknown_ids!r}")


class EmulatorState:
    """Everything a running app holds: config, store, throttle, faults and the request log."""

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store(config.db)
        self.project_id = self.store.default_project(config.project_id)
        config.project_id = self.project_id
        self.limiter = Limiter(config.throttle)
        self.faults = Faults(config.fault_seed)
        self.log = RequestLog()
        self.initial_unknown_ids: UnknownIds = config.unknown_ids

    def now(self) -> datetime:
        return self.config.clock()


@dataclass
class Call:
    """One API call as the handlers see it."""

    state: EmulatorState
    project_id: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    task_ids: list[str] | None = None

    def json(self) -> dict[str, Any]:
        return v.parse_json_body(self.body)


@dataclass
class Reply:
    """A success answer: JSON (``payload``), raw bytes, or empty."""

    payload: Any = None
    raw: bytes | None = None
    media_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Reply]


# --- responses ---------------------------------------------------------------------------------


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    status: int, payload: Any, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer with the service's content type and request id (``None`` → empty body)."""
    body = b"" if payload is None else _encode(payload)
    response = Response(
        body, status_code=status, headers={"X-Request-Id": request_id, **(headers or {})}
    )
    response.headers["Content-Type"] = JSON_TYPE
    return response


def error_response(error: ApiError, request_id: str) -> Response:
    return json_response(error.status, error.body(request_id), request_id, error.headers)


def new_request_id() -> str:
    return uuid.uuid4().hex


# --- presentation ------------------------------------------------------------------------------


def list_item(row: TaskRow, now: datetime) -> dict[str, Any]:
    """A stored task as a ``ScheduledTask`` list item (absent values left out)."""
    data = row.data
    anchor = local_date(datetime.fromisoformat(row.created_at), data.get("time_zone"))
    item: dict[str, Any] = {"id": row.id}
    for name in TASK_FIELDS[1:]:
        if name == "next_execution_time":
            value = next_execution(data, now, anchor)
        elif name == "enable":
            value = data.get("enable", True)
        elif name in _FIELDS_ONLY_FOR_TRIGGERS and data.get("scheduled_type") != "LIFE_CYCLE":
            value = None
        else:
            value = data.get(name)
        if value is not None:
            item[name] = value
    return item


def detail(row: TaskRow) -> dict[str, Any]:
    """A stored task as the show response (``object_name`` filled in)."""
    out: dict[str, Any] = {"id": row.id}
    for name in TASK_DETAIL_FIELDS[1:]:
        value = row.data.get(name)
        if name == "apply_objects":
            value = [
                {**obj, "object_name": obj.get("object_name") or f"desktop-{obj['object_id'][:8]}"}
                for obj in value or []
            ]
        if value is not None:
            out[name] = value
    return out


# --- handlers ----------------------------------------------------------------------------------


def list_tasks(call: Call) -> Reply:
    offset, limit, filters = v.list_query(call.query)
    rows, total = call.state.store.list_tasks(call.project_id, offset, limit, filters)
    now = call.state.now()
    return Reply({"scheduled_tasks": [list_item(r, now) for r in rows], "total_count": total})


def create_task(call: Call) -> Reply:
    fields = v.validate_create(call.json())
    data = {"enable": True, "force_execute": False, **fields}
    if data["scheduled_type"] == "LIFE_CYCLE":
        data = {"wait_time": 0, "life_cycle_exec_period": 1440, **data}
    data.setdefault("time_zone", "Asia/Shanghai")
    task_id = call.state.store.create_task(call.project_id, data, call.state.now().isoformat())
    return Reply({"task_id": task_id})


def _task_row(call: Call) -> TaskRow:
    row = call.state.store.get_task(call.project_id, call.params["task_id"])
    if row is None:
        raise bad_request(TASK_MISSING)
    return row


def get_task(call: Call) -> Reply:
    return Reply(detail(_task_row(call)))


def update_task(call: Call) -> Reply:
    changes = v.validate_update(call.json())

    def change(row: TaskRow) -> dict[str, Any]:
        data = dict(row.data)
        mode = changes.pop("apply_object_update_type", None)
        data.update(changes)
        if mode == "CLEAR_ALL":
            data["apply_objects"] = []
        v.check_schedule_rules(data, data["task_type"])
        return data

    call.state.store.update_task(call.project_id, call.params["task_id"], change)
    return Reply()


def delete_task(call: Call) -> Reply:
    call.state.store.delete_task(call.project_id, call.params["task_id"])
    return Reply()


def batch_delete(call: Call) -> Reply:
    ids = v.task_ids(call.json())
    reject = call.state.config.unknown_ids == "reject"
    call.state.store.batch_delete(call.project_id, ids, reject_unknown=reject)
    return Reply()


def list_records(call: Call) -> Reply:
    offset, limit = v.page_query(call.query)
    rows, total = call.state.store.list_records(
        call.project_id, call.params["task_id"], offset, limit
    )
    return Reply({"tasks_records": rows, "total_count": total})


def list_record_details(call: Call) -> Reply:
    offset, limit = v.page_query(call.query)
    found = call.state.store.list_details(
        call.project_id, call.params["task_id"], call.params["record_id"], offset, limit
    )
    if found is None:
        raise bad_request(RECORD_MISSING)
    rows, total = found
    return Reply({"tasks_records_details": rows, "total_count": total})


def export_records(call: Call) -> Reply:
    records = call.state.store.all_records(call.project_id, call.params["task_id"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(RECORD_FIELDS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    name = f"scheduled-task-records-{call.params['task_id']}.csv"
    return Reply(
        raw=("\ufeff" + out.getvalue()).encode(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def future_executions(call: Call) -> Reply:
    cfg = v.validate_schedule(call.json())
    return Reply({"future_executions": executions(cfg, call.state.now(), count=PREVIEW_COUNT)})


def life_cycle_configurations(call: Call) -> Reply:
    wanted = v.life_cycle_type_param(call.query.get("type"))
    if wanted:
        return Reply({wanted: LIFE_CYCLE_CONFIGURATIONS[wanted]})
    return Reply(dict(LIFE_CYCLE_CONFIGURATIONS))


def time_zones(call: Call) -> Reply:
    name = call.query.get("time_zone_name")
    zones = [z for z in TIME_ZONES if not name or z["time_zone_name"] == name]
    return Reply({"time_zones": zones})


# --- the per-call pipeline ---------------------------------------------------------------------


def named_task_ids(operation: str, call: Call) -> list[str] | None:
    """The ids a delete or batch-delete names, for the request log (best effort, pre-validation)."""
    if operation == "delete_task":
        return [call.params["task_id"]]
    if operation == "batch_delete":
        try:
            ids = json.loads(call.body).get("task_ids")
        except (ValueError, AttributeError):
            return None
        return [str(i) for i in ids] if isinstance(ids, list) else None
    return None


class _Dropped(Exception):
    """Internal: the connection is to be dropped (a fault)."""


def _verify_signature(state: EmulatorState, request: Request, body: bytes) -> str | None:
    """``None`` when the SDK-HMAC-SHA256 signature is valid, else a short reason."""
    from wsnb import _signer  # the one signer of the library; imported late, the module is shared

    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = parse_qsl(
        request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    )
    return _signer.verify(
        request.method,
        raw_path.decode("latin-1"),
        query,
        request.headers,
        body,
        lookup_sk=state.config.keys.get,
        now=state.now(),
        max_skew=state.config.max_skew,
    )


def authenticate(state: EmulatorState, request: Request, body: bytes) -> None:
    """401 ``APIG.0301`` unless a configured token or a valid signature comes with the call."""
    if state.config.auth == "loose":
        return
    token = request.headers.get("x-auth-token")
    if token is not None:
        if any(hmac.compare_digest(token.encode(), t.encode()) for t in state.config.tokens):
            return
        raise ApiError(
            401, AUTH_FAILED, "Incorrect IAM authentication information: decrypt token fail"
        )
    authorization = request.headers.get("authorization")
    if authorization is None:
        raise ApiError(
            401, AUTH_FAILED, "Incorrect IAM authentication information: Authorization not found"
        )
    reason = _verify_signature(state, request, body)
    if reason is not None:
        raise ApiError(
            401,
            AUTH_FAILED,
            f"Incorrect IAM authentication information: verify aksk signature fail ({reason})",
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body (never re-serialized: signatures hash these bytes); 413 past ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, TOO_LARGE, "Request entity too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, TOO_LARGE, "Request entity too large.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _apply_faults(
    state: EmulatorState, operation: str, phase: Literal["before", "after"], fired: list[str]
) -> None:
    """Apply the rules that fire (noting their kinds in ``fired``)."""
    for rule in state.faults.pick(operation, phase):
        fired.append(rule.kind)
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency)
        elif rule.kind == "status":
            raise ApiError(rule.status, rule.error_code, rule.error_msg)
        else:
            raise _Dropped


async def drop_connection(send: Send) -> None:
    """Start a response and never finish it: the server closes the socket mid-answer."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", JSON_TYPE.encode()), (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})


class _Operation:
    """One API operation as an ASGI app (Starlette routes non-function endpoints as raw ASGI)."""

    def __init__(self, state: EmulatorState, name: str, handler: Handler) -> None:
        self.state = state
        self.name = name
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = new_request_id()
        params = {k: str(val) for k, val in request.path_params.items()}
        call = Call(
            self.state, params.get("project_id", ""), params, dict(request.query_params), b""
        )
        status: int | None = None
        fired: list[str] = []
        try:
            call.body = await read_body(request, self.state.config.max_body_bytes)
            call.task_ids = named_task_ids(self.name, call)
            authenticate(self.state, request, call.body)
            self.state.limiter.check(call.project_id, self.name)
            await _apply_faults(self.state, self.name, "before", fired)
            reply = self.handler(call)
            await _apply_faults(self.state, self.name, "after", fired)
            if reply.raw is not None:
                response = Response(
                    reply.raw, headers={"X-Request-Id": request_id, **reply.headers}
                )
                response.headers["Content-Type"] = reply.media_type
            else:
                response = json_response(200, reply.payload, request_id, reply.headers)
        except _Dropped:
            response = None
        except ApiError as error:
            response = error_response(error, request_id)
        except Exception:
            log.exception("emulator: unexpected error in %s", self.name)
            response = error_response(ApiError(500, INTERNAL, "Internal server error."), request_id)
        if response is not None:
            status = response.status_code
        self.state.log.add(
            {
                "time": datetime.now(UTC).isoformat(),
                "method": request.method,
                "path": request.url.path,
                "operation": self.name,
                "status": status,
                "project_id": call.project_id,
                "request_id": request_id,
                "task_ids": call.task_ids,
                "fault": ",".join(fired) or None,
            }
        )
        if response is None:
            await drop_connection(send)
        else:
            await response(scope, receive, send)


_TASKS: Final = "/v2/{project_id}/scheduled-tasks"
#: (path, method, operation, handler); literal segments come before ``{task_id}``.
OPERATIONS: Final[tuple[tuple[str, str, str, Handler], ...]] = (
    (_TASKS, "GET", "list_tasks", list_tasks),
    (_TASKS, "POST", "create_task", create_task),
    (f"{_TASKS}/batch-delete", "POST", "batch_delete", batch_delete),
    (f"{_TASKS}/future-executions", "POST", "future_executions", future_executions),
    (
        f"{_TASKS}/life-cycle-type/configurations",
        "GET",
        "life_cycle_configurations",
        life_cycle_configurations,
    ),
    (f"{_TASKS}/{{task_id}}", "GET", "get_task", get_task),
    (f"{_TASKS}/{{task_id}}", "PUT", "update_task", update_task),
    (f"{_TASKS}/{{task_id}}", "DELETE", "delete_task", delete_task),
    (f"{_TASKS}/{{task_id}}/records", "GET", "list_records", list_records),
    (f"{_TASKS}/{{task_id}}/records/export", "POST", "export_records", export_records),
    (
        f"{_TASKS}/{{task_id}}/records/{{record_id}}",
        "GET",
        "list_record_details",
        list_record_details,
    ),
    ("/v2/{project_id}/common/timezones", "GET", "time_zones", time_zones),
)


async def _no_such_api(request: Request, exc: Exception) -> Response:
    """404 / 405 from routing → the gateway's 404 ``APIG.0101``."""
    request_id = new_request_id()
    return error_response(ApiError(404, NO_SUCH_API, NO_SUCH_API_MSG), request_id)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, INTERNAL, "Internal server error."), new_request_id())


def create_app(
    config: EmulatorConfig | None = None, *, state: EmulatorState | None = None
) -> Starlette:
    """The emulator as an ASGI app (use :class:`wsnb.emulator.Emulator` to serve it)."""
    state = state or EmulatorState(config or EmulatorConfig())
    routes: list[BaseRoute] = [
        Route(path, _Operation(state, name, handler), methods=[method], name=name)
        for path, method, name, handler in OPERATIONS
    ]
    routes.extend(control_routes(state))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: _no_such_api,
        405: _no_such_api,
        500: _server_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.emulator = state
    return app


__all__ = ["OPERATIONS", "EmulatorConfig", "EmulatorState", "create_app"]
