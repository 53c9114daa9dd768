"""``Client`` and ``AsyncClient``: one method per scheduled-task operation, over httpx.

Each operation is described once, by a small function that validates the arguments and returns a
:class:`_Call` (method, path, query, JSON body, response parser). The sync and async clients only
differ in ``_send``, which throttles, signs (through :class:`wsnb.auth.WorkspaceAuth`), sends,
retries (see :mod:`wsnb._retry`) and maps errors (see :mod:`wsnb.errors`). Paging is shared too: a
:class:`_Pager` decides the next page from the last one, so no page is ever fetched twice.

Answers: a read needs a JSON object (an empty, non-JSON or HTML 200 is an
:class:`~wsnb.errors.UnexpectedResponseError`, retried as a read); a 2xx to ``delete_task`` or
``batch_delete`` is success whatever its body (the ``X-Request-Id`` is returned when there is
one); an unreadable 2xx to any other write (``create_task`` without a ``task_id``, a non-JSON
``update_task`` answer) is an :class:`~wsnb.errors.OutcomeUnknownError`. Every error text is
scrubbed of the credentials and the request's signature (:mod:`wsnb._redact`) before it leaves.
Arguments are bounded before sending: ``offset`` 0 to :data:`OFFSET_MAX`, ``limit`` per operation.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar, cast
from urllib.parse import quote

import httpx

from wsnb import __version__, _cancel
from wsnb._checks import check_int
from wsnb._redact import redact, secrets_of
from wsnb._retry import (
    Admission,
    RateLimit,
    Reservation,
    RetryPolicy,
    async_retrying,
    retrying,
    settle_parse_error,
    settle_response_error,
    transport_error,
)
from wsnb.auth import Credentials, WorkspaceAuth, clean_value
from wsnb.errors import (
    ThrottledError,
    UnexpectedResponseError,
    WorkspaceError,
    error_from_response,
    html_summary,
)
from wsnb.models import (
    BATCH_DELETE_MAX,
    CREATE_FIELDS,
    ID_MAX_LEN,
    LIFE_CYCLE_CONFIG_TYPES,
    LIST_PAGE_MAX,
    READ_OPERATIONS,
    RECORDS_PAGE_MAX,
    SCHEDULE_FIELDS,
    UPDATE_FIELDS,
    LastStatus,
    LifeCycleType,
    Record,
    RecordDetail,
    ScheduledType,
    Task,
    TaskDetail,
    TaskPage,
    TaskType,
    TimeZoneInfo,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "OFFSET_MAX",
    "REGIONS",
    "AsyncClient",
    "Client",
    "ClientStats",
]

_log = logging.getLogger("wsnb.client")
T = TypeVar("T")

#: Connect within 10 s; read (and write, and wait for a pooled connection) within 60 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)

#: Connections kept open for concurrent callers (listing pages, snapshots and deletes in flight
#: at once). httpx keeps only 20 alive by default: every call past that paid a new TCP + TLS
#: handshake (several round trips). Also the size of a sync client's thread pool for the async
#: algorithms (see ``Client._in_thread``).
DEFAULT_LIMITS: Final = httpx.Limits(
    max_connections=64, max_keepalive_connections=64, keepalive_expiry=30.0
)

#: The largest ``offset`` the client sends (the API documents no maximum; the server's Java
#: backend reads it as a 32-bit int, and no project holds two billion tasks).
OFFSET_MAX: Final = 2**31 - 1

#: The regions the official SDK knows for Workspace.
REGIONS: Final = frozenset(
    {
        "cn-north-4",
        "cn-east-3",
        "cn-south-1",
        "cn-southwest-2",
        "cn-north-9",
        "cn-east-5",
        "cn-north-11",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "af-south-1",
        "af-north-1",
        "la-south-2",
        "la-north-2",
        "sa-brazil-1",
        "me-east-1",
        "tr-west-1",
        "eu-west-101",
    }
)

_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """The verified TLS context every client shares, built once per CA setting.

    httpx builds one per client by default, loading the CA bundle each time (50-100 ms of CPU);
    a notebook or a test suite makes many clients. Same CAs as httpx picks: ``SSL_CERT_FILE``,
    ``SSL_CERT_DIR``, else certifi's bundle.
    """
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _ssl_lock:
        context = _ssl_contexts.get(key)
        if context is None:
            context = _ssl_contexts[key] = httpx.create_ssl_context()
    return context


_FILTER_ENUMS: Final[dict[str, type[Enum]]] = {
    "task_type": TaskType,
    "scheduled_type": ScheduledType,
    "life_cycle_type": LifeCycleType,
    "last_status": LastStatus,
}
_FILTERS: Final = ("task_name", *_FILTER_ENUMS)


# --- statistics ---------------------------------------------------------------------------------


def _kind(operation: str) -> str:
    """``"read"`` or ``"write"``: the quota class of ``operation``."""
    return "read" if operation in READ_OPERATIONS else "write"


@dataclass
class ClientStats:
    """Thread-safe counters of one client's traffic.

    ``calls`` counts HTTP requests sent (retries included, so it matches what the server's
    throttle sees); ``retries`` the attempts after the first; ``throttled`` the 429 answers;
    ``by_operation`` the requests per operation name.

    Pace observed per quota class (``read``/``write``, not part of :meth:`snapshot`):
    :meth:`seconds_per_call` (the time a call of the class was on the wire over the calls
    answered: what the estimates learn from) and :meth:`latency`.

    Observations of the last answer (not part of :meth:`snapshot`): ``server_skew`` is the local
    wall clock minus the answer's ``Date`` header in seconds (positive: this machine is ahead;
    ``Date`` has one-second resolution), ``rate_limit_headers`` the answer's rate-limit headers
    (names containing ``ratelimit`` or ``rate-limit``), if the gateway sends any.
    """

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    server_skew: float | None = None
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: per class (``read``/``write``): answers, seconds with a call in flight, summed latency
    _answered: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _busy: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _latency: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _in_flight: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _busy_since: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def call_began(self, operation: str, now: float) -> None:
        """A call of ``operation`` went on the wire at ``now`` (monotonic seconds)."""
        kind = _kind(operation)
        with self._lock:
            if not self._in_flight.get(kind):
                self._busy_since[kind] = now
            self._in_flight[kind] = self._in_flight.get(kind, 0) + 1

    def call_ended(self, operation: str, began: float, now: float) -> None:
        """The call that began at ``began`` is answered (or failed) and read, at ``now``."""
        kind = _kind(operation)
        with self._lock:
            self._in_flight[kind] -= 1
            self._answered[kind] = self._answered.get(kind, 0) + 1
            self._latency[kind] = self._latency.get(kind, 0.0) + (now - began)
            if not self._in_flight[kind]:
                since = self._busy_since.pop(kind, now)
                self._busy[kind] = self._busy.get(kind, 0.0) + (now - since)

    def seconds_per_call(self, kind: str, at_least: int = 8) -> float | None:
        """Observed seconds per ``kind`` call at the concurrency this client reached: the time
        a call of that class was on the wire over the calls answered (round trip, server and
        parsing, shared by the calls in flight); ``None`` before ``at_least`` answers."""
        with self._lock:
            answered = self._answered.get(kind, 0)
            return self._busy.get(kind, 0.0) / answered if answered >= at_least else None

    def concurrency(self, kind: str, at_least: int = 8) -> float | None:
        """Observed mean ``kind`` calls in flight while any was (``None`` before ``at_least``)."""
        with self._lock:
            busy = self._busy.get(kind, 0.0)
            if self._answered.get(kind, 0) < at_least or busy <= 0:
                return None
            return self._latency.get(kind, 0.0) / busy

    def latency(self, kind: str, at_least: int = 1) -> float | None:
        """Observed mean seconds from sending a ``kind`` call to having read its answer."""
        with self._lock:
            answered = self._answered.get(kind, 0)
            return self._latency.get(kind, 0.0) / answered if answered >= at_least else None

    def record_call(self, operation: str) -> None:
        with self._lock:
            self.calls += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def observe(self, headers: httpx.Headers, local: datetime) -> None:
        """Note the answer's clock (``Date``) against ``local`` and its rate-limit headers."""
        skew: float | None = None
        served = headers.get("Date")
        if served:
            try:
                when = parsedate_to_datetime(served)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                skew = (local - when).total_seconds()
        limits = {
            name: value
            for name, value in headers.items()
            if "ratelimit" in name.lower() or "rate-limit" in name.lower()
        }
        with self._lock:
            if skew is not None:
                self.server_skew = skew
            if limits:
                self.rate_limit_headers = limits

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the counters as a plain dict."""
        with self._lock:
            return {
                "calls": self.calls,
                "retries": self.retries,
                "throttled": self.throttled,
                "by_operation": dict(self.by_operation),
            }

    def reset(self) -> None:
        with self._lock:
            self.calls = self.retries = self.throttled = 0
            self.by_operation.clear()
            self._answered.clear()
            self._busy.clear()
            self._latency.clear()
            self.server_skew = None
            self.rate_limit_headers = {}


# --- operations: validation, request description, response parsing -----------------------------


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One API request, described independently of sync/async sending."""

    operation: str
    method: str
    path: str  # below /v2/{project_id}, path parameters already percent-encoded
    parse: Callable[[httpx.Response], T]
    params: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None


def _bad_response(
    response: httpx.Response, why: str, *, transient: bool = False
) -> UnexpectedResponseError:
    request = response.request
    return UnexpectedResponseError(
        f"unexpected response: {why}",
        transient=transient,
        status=response.status_code,
        request_id=response.headers.get("X-Request-Id"),
        method=request.method,
        path=request.url.path,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a success answer; empty, non-JSON or non-object bodies are errors."""
    if not response.content.strip():
        raise _bad_response(response, "empty body where JSON was expected", transient=True)
    try:
        data = json.loads(response.content)
    except ValueError:
        text = response.content[:65536].decode("utf-8", "replace")
        kind = response.headers.get("Content-Type", "").lower()
        if "html" in kind or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            why = html_summary(response.status_code, text)
        else:
            why = f"body is not JSON (Content-Type {kind or 'missing'!r})"
        raise _bad_response(response, why, transient=True) from None
    if not isinstance(data, dict):
        raise _bad_response(response, f"expected a JSON object, got {type(data).__name__}")
    return data


def _list_of(response: httpx.Response, key: str) -> list[Any]:
    value = _json_object(response).get(key, [])
    if not isinstance(value, list):
        raise _bad_response(response, f"{key!r} is not a list")
    return value


def _page(key: str) -> Callable[[httpx.Response], tuple[list[Any], int | None]]:
    """Parse one page: its items and ``total_count``, or ``None`` for a total that is absent or
    not an integer. The total is only a hint (it may count hidden LIFE_CYCLE tasks, or drift):
    never 0 for "absent", which would read as "the project is empty"."""

    def parse(response: httpx.Response) -> tuple[list[Any], int | None]:
        data = _json_object(response)
        items = data.get(key, [])
        if not isinstance(items, list):
            raise _bad_response(response, f"{key!r} is not a list")
        total = data.get("total_count")
        if isinstance(total, bool) or not isinstance(total, int):
            return items, None
        return items, total

    return parse


def _nothing(response: httpx.Response) -> None:
    """``update_task``: an empty body or any JSON is success; anything else is unreadable."""
    if response.content.strip():
        try:
            json.loads(response.content)
        except ValueError:
            raise _bad_response(response, "body is not JSON", transient=True) from None


def _request_id(response: httpx.Response) -> str | None:
    """A delete's 2xx is success whatever its body: ``X-Request-Id`` is what support asks for."""
    request_id: str | None = response.headers.get("X-Request-Id") or None
    return request_id


def _task_id_of(response: httpx.Response) -> str:
    task_id = _json_object(response).get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise _bad_response(response, "no task_id in the create response")
    return task_id


def _seg(name: str, value: object) -> str:
    """Validate an id path parameter and percent-encode it as the SDK does."""
    if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX_LEN:
        raise ValueError(
            f"{name} must be a non-empty str of at most {ID_MAX_LEN} characters, got {value!r:.80}"
        )
    return quote(value, safe="")


def _filter_params(filters: Mapping[str, object]) -> list[tuple[str, str]]:
    """Validate list filters client-side (clear errors instead of a 400 round trip)."""
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        raise TypeError(f"unknown list filter(s) {unknown}; the filters are {list(_FILTERS)}")
    params: list[tuple[str, str]] = []
    for name in _FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        if name == "task_name":
            if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX_LEN:
                raise ValueError(
                    f"task_name filter must be a str of 1 to {ID_MAX_LEN} characters, "
                    f"got {value!r:.80}"
                )
            params.append((name, value))
            continue
        allowed = [member.value for member in _FILTER_ENUMS[name]]
        text = value.value if isinstance(value, Enum) else value
        if text not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        params.append((name, str(text)))
    return params


def _fields(
    operation: str,
    body: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    allowed: Sequence[str],
) -> dict[str, Any]:
    """Merge a positional body with keyword fields; keyword names are checked against the model.

    A ``body`` mapping is passed through as given (an escape hatch for fields newer than wsnb).
    """
    if body is not None and not isinstance(body, Mapping):
        raise TypeError(f"{operation} body must be a mapping, got {type(body).__name__}")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"{operation} got unknown field(s) {unknown}; allowed: {list(allowed)}")
    merged = {**(body or {}), **fields}
    if not merged:
        raise ValueError(f"{operation} needs at least one field")
    return merged


def _task_ids(task_ids: Sequence[str]) -> list[str]:
    if isinstance(task_ids, str | bytes) or not isinstance(task_ids, Iterable):
        raise TypeError("task_ids must be a sequence of task id strings, not a single value")
    ids = list(task_ids)
    if not 1 <= len(ids) <= BATCH_DELETE_MAX:
        raise ValueError(f"task_ids must hold 1 to {BATCH_DELETE_MAX} ids, got {len(ids)}")
    for index, task_id in enumerate(ids):
        if not isinstance(task_id, str) or not 1 <= len(task_id) <= ID_MAX_LEN:
            raise ValueError(
                f"task_ids[{index}] must be a str of 1 to {ID_MAX_LEN} characters, "
                f"got {task_id!r:.80}"
            )
    return ids


_TASKS = "/scheduled-tasks"
_PageCall = _Call[tuple[list[Any], int | None]]


def _list_tasks_page_call(offset: int, limit: int, filters: Mapping[str, object]) -> _PageCall:
    params = [
        ("offset", str(check_int("offset", offset, 0, OFFSET_MAX))),
        ("limit", str(check_int("limit", limit, 0, LIST_PAGE_MAX))),
        *_filter_params(filters),
    ]
    parse = _page("scheduled_tasks")
    return _Call("list_tasks", "GET", _TASKS, parse, tuple(params))


def _records_page_call(task_id: str, record_id: str | None, offset: int, limit: int) -> _PageCall:
    params = (
        ("offset", str(check_int("offset", offset, 0, OFFSET_MAX))),
        ("limit", str(check_int("limit", limit, 0, RECORDS_PAGE_MAX))),
    )
    path = f"{_TASKS}/{_seg('task_id', task_id)}/records"
    if record_id is None:
        return _Call("list_records", "GET", path, _page("tasks_records"), params)
    path = f"{path}/{_seg('record_id', record_id)}"
    return _Call("list_record_details", "GET", path, _page("tasks_records_details"), params)


def _get_task_call(task_id: str) -> _Call[TaskDetail]:
    path = f"{_TASKS}/{_seg('task_id', task_id)}"
    return _Call("get_task", "GET", path, lambda r: cast(TaskDetail, _json_object(r)))


def _create_task_call(body: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> _Call[str]:
    merged = _fields("create_task", body, fields, CREATE_FIELDS)
    return _Call("create_task", "POST", _TASKS, _task_id_of, body=merged)


def _update_task_call(
    task_id: str, body: Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> _Call[None]:
    path = f"{_TASKS}/{_seg('task_id', task_id)}"
    merged = _fields("update_task", body, fields, UPDATE_FIELDS)
    return _Call("update_task", "PUT", path, _nothing, body=merged)


def _delete_task_call(task_id: str) -> _Call[str | None]:
    return _Call("delete_task", "DELETE", f"{_TASKS}/{_seg('task_id', task_id)}", _request_id)


def _batch_delete_call(task_ids: Sequence[str]) -> _Call[str | None]:
    body = {"task_ids": _task_ids(task_ids)}
    return _Call("batch_delete", "POST", f"{_TASKS}/batch-delete", _request_id, body=body)


def _export_records_call(task_id: str, language: str | None, time_zone: str | None) -> _Call[bytes]:
    params = tuple((k, v) for k, v in (("language", language), ("time_zone", time_zone)) if v)
    path = f"{_TASKS}/{_seg('task_id', task_id)}/records/export"
    return _Call("export_records", "POST", path, lambda r: r.content, params)


def _future_executions_call(
    body: Mapping[str, Any] | None, schedule: Mapping[str, Any]
) -> _Call[list[str]]:
    merged = _fields("future_executions", body, schedule, SCHEDULE_FIELDS)
    path = f"{_TASKS}/future-executions"
    return _Call(
        "future_executions", "POST", path, lambda r: _list_of(r, "future_executions"), body=merged
    )


def _life_cycle_call(type: str | None) -> _Call[dict[str, Any]]:
    if type is not None and type not in LIFE_CYCLE_CONFIG_TYPES:
        raise ValueError(f"type must be one of {', '.join(LIFE_CYCLE_CONFIG_TYPES)}; got {type!r}")
    params = (("type", type),) if type is not None else ()
    path = f"{_TASKS}/life-cycle-type/configurations"
    return _Call("life_cycle_configurations", "GET", path, _json_object, params)


def _time_zones_call(time_zone_name: str | None) -> _Call[list[TimeZoneInfo]]:
    params = (("time_zone_name", time_zone_name),) if time_zone_name else ()
    return _Call(
        "time_zones", "GET", "/common/timezones", lambda r: _list_of(r, "time_zones"), params
    )


class _Pager:
    """Offset paging shared by both clients: next call from the last page, until a short page.

    Only a short (or empty) page ends the listing: ``total_count`` is not trusted (it may count
    hidden LIFE_CYCLE tasks, be absent, or be off), as the Terraform provider pages too.
    Items are de-duplicated by ``id`` in case the listing shifts while it is read.
    """

    def __init__(self, make: Callable[[int, int], _PageCall], limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"page limit must be a positive int, got {limit!r}")
        self._make = make
        self._limit = limit
        self._offset = 0
        self._seen: set[str] = set()
        self.items: list[Any] = []
        self.first = make(0, limit)

    def feed(self, page: tuple[list[Any], int | None]) -> _PageCall | None:
        """Take one page; return the call for the next page, or None when the list is done."""
        items, _total = page
        fresh = 0
        for item in items:
            key = item.get("id") if isinstance(item, dict) else None
            if isinstance(key, str):
                if key in self._seen:
                    continue
                self._seen.add(key)
            self.items.append(item)
            fresh += 1
        if items and not fresh and len(items) >= self._limit:
            raise WorkspaceError(
                f"the listing repeated a whole page at offset {self._offset}; "
                "the server seems to ignore offset, so paging cannot finish",
                operation=self.first.operation,
            )
        self._offset += len(items)
        if len(items) < self._limit:
            return None
        return self._make(self._offset, self._limit)


# --- the shared core ----------------------------------------------------------------------------


def _endpoint(region: str | None, endpoint: str | None) -> str:
    if endpoint:
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError(f"endpoint must start with https:// or http://, got {endpoint!r}")
        return endpoint.rstrip("/")
    if not region:
        raise ValueError("give region= (e.g. 'cn-north-4') or endpoint=")
    if region not in REGIONS:
        raise ValueError(
            f"unknown region {region!r}; known regions: {', '.join(sorted(REGIONS))} "
            "(pass endpoint= for any other)"
        )
    return f"https://workspace.{region}.myhuaweicloud.com"


class _Sentinel(Enum):
    DEFAULT = "default"


def _utcnow() -> datetime:
    return datetime.now(UTC)


_DEFAULT: Final = _Sentinel.DEFAULT


class _Core:
    """Configuration, request building and response handling common to both clients."""

    endpoint: str
    project_id: str
    stats: ClientStats

    def _setup(
        self,
        region: str | None,
        endpoint: str | None,
        project_id: str | None,
        credentials: Credentials | None,
        rate_limit: RateLimit | _Sentinel | None,
        retry: RetryPolicy,
        clock: Callable[[], float] | None,
        user_agent: str | None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> WorkspaceAuth:
        self.endpoint = _endpoint(region, endpoint)
        creds = credentials if credentials is not None else Credentials.from_env()
        pid = clean_value(project_id, "project_id") or creds.project_id
        if not pid:
            raise ValueError(
                "project_id is required: pass project_id= or set HUAWEICLOUD_SDK_PROJECT_ID"
            )
        self._base_path = f"/v2/{_seg('project_id', pid)}"
        self.project_id = pid
        self._kind = creds.kind
        self._credentials = creds
        self._secrets = tuple(
            value for value in (creds.ak, creds.sk, creds.security_token, creds.token) if value
        )
        self._clock = clock or time.monotonic
        self._wall_clock = wall_clock or _utcnow
        self._rate = RateLimit(clock=self._clock) if rate_limit is _DEFAULT else rate_limit
        self._retry = retry
        self.stats = ClientStats()
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": user_agent or f"wsnb/{__version__} httpx/{httpx.__version__}",
        }
        return WorkspaceAuth(creds, project_id=pid, clock=self._wall_clock)

    @property
    def credentials(self) -> Credentials:
        """The credentials in use (their repr shows no secret)."""
        return self._credentials

    @property
    def rate_limit(self) -> RateLimit | None:
        """The client-side rate limit (``None``: off)."""
        return self._rate

    def wall_clock(self) -> datetime:
        """The wall clock that stamps ``X-Sdk-Date`` (``datetime.now(UTC)`` unless injected)."""
        return self._wall_clock()

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: _Call[Any]) -> httpx.Request:
        content = json.dumps(call.body).encode() if call.body is not None else None
        return http.build_request(
            call.method,
            self.endpoint + self._base_path + call.path,
            params=list(call.params) or None,
            content=content,
            headers=self._headers,
        )

    def _on_retry(self, error: BaseException | None, wait: float, attempt: int) -> None:
        self.stats.record_retry()

    def _reserve(self, operation: str) -> Reservation | None:
        """A token from the rate limit (``None`` without one); the caller sleeps ``.wait``."""
        return None if self._rate is None else self._rate.acquire(operation)

    def _answered(self, operation: str, admission: Admission | None) -> None:
        """Tell the rate limit's window that an admitted call is over (answered or failed)."""
        if self._rate is not None and admission is not None:
            self._rate.answered(operation, admission.ticket)

    def _sending(self, operation: str) -> float:
        """Count a call going on the wire; returns when it went (monotonic seconds)."""
        self.stats.record_call(operation)
        began = time.monotonic()
        self.stats.call_began(operation, began)
        return began

    def _over(self, operation: str, began: float, admission: Admission | None) -> None:
        """A call that went at ``began`` is over (answered, read or failed)."""
        self.stats.call_ended(operation, began, time.monotonic())
        self._answered(operation, admission)

    def _finish(
        self,
        call: _Call[T],
        request: httpx.Request,
        response: httpx.Response,
        attempt: int,
        ticket: Reservation | None = None,
    ) -> T:
        request_id = response.headers.get("X-Request-Id")
        _log.debug(
            "%s %s %s -> %d request_id=%s attempt=%d",
            call.operation,
            request.method,
            request.url.raw_path.decode("ascii", "replace"),
            response.status_code,
            request_id,
            attempt,
        )
        self.stats.observe(response.headers, self._wall_clock())
        if response.status_code >= 400:
            error = self._scrub(error_from_response(response, call.operation), request)
            if isinstance(error, ThrottledError):
                self.stats.record_throttled()
                if self._rate is not None:  # slow down (AIMD), once per throttle episode
                    self._rate.throttled(call.operation, ticket.generation if ticket else None)
            elif self._rate is not None:
                self._rate.succeeded(call.operation)
            raise settle_response_error(call.operation, error)
        if self._rate is not None:
            self._rate.succeeded(call.operation)
        try:
            return call.parse(response)
        except UnexpectedResponseError as error:
            error.operation = call.operation
            error.refresh()
            failure = settle_parse_error(call.operation, error)
        raise failure

    def _scrub(self, error: WorkspaceError, request: httpx.Request) -> WorkspaceError:
        """Remove the credentials and signature from the texts of an error answer (a gateway
        may echo the AK in its message)."""
        secrets = secrets_of(request, self._secrets)
        for name in ("error_msg", "error_detail"):
            value = getattr(error, name)
            if value:
                setattr(error, name, redact(value, secrets))
        error.refresh()
        return error

    def _failed(
        self, call: _Call[Any], request: httpx.Request, exc: httpx.TransportError, attempt: int
    ) -> WorkspaceError:
        _log.debug(
            "%s %s %s -> %s attempt=%d",
            call.operation,
            request.method,
            request.url.raw_path.decode("ascii", "replace"),
            type(exc).__name__,
            attempt,
        )
        return transport_error(call.operation, exc, request, secrets_of(request, self._secrets))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, "
            f"project_id={self.project_id!r}, auth={self._kind!r})"
        )


def _list_tasks_pager(filters: Mapping[str, object]) -> _Pager:
    clean = {k: v for k, v in filters.items() if v is not None}
    return _Pager(lambda offset, limit: _list_tasks_page_call(offset, limit, clean), LIST_PAGE_MAX)


def _records_pager(task_id: str, record_id: str | None, limit: int | None) -> _Pager:
    size = RECORDS_PAGE_MAX if limit is None else check_int("limit", limit, 1, RECORDS_PAGE_MAX)
    return _Pager(lambda offset, lim: _records_page_call(task_id, record_id, offset, lim), size)


# --- sync ---------------------------------------------------------------------------------------


class Client(_Core):
    """Synchronous Workspace scheduled-tasks client (safe to call inside a running event loop).

    ``clock`` (monotonic seconds: rate limit and retry deadline) and ``sleep`` exist for tests
    and simulations; ``wall_clock`` (an aware ``datetime``) stamps ``X-Sdk-Date`` and is what
    the server's ``Date`` is compared with (tests skew it); ``transport`` is for tests.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        project_id: str | None = None,
        credentials: Credentials | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        rate_limit: RateLimit | _Sentinel | None = _DEFAULT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is harmless
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        auth = self._setup(
            region,
            endpoint,
            project_id,
            credentials,
            rate_limit,
            retry,
            clock,
            user_agent,
            wall_clock,
        )
        self._sleep = sleep or _cancel.sleep  # returns early when a run is cancelled
        self._http = httpx.Client(
            auth=auth, timeout=timeout, transport=transport, limits=limits, verify=_ssl_context()
        )
        self._threads = limits.max_connections or DEFAULT_LIMITS.max_connections or 64
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_env(cls, **kw: Any) -> Self:
        """A client for ``WSNB_ENDPOINT`` or ``WSNB_REGION`` with ``Credentials.from_env()``."""
        return cls(**_env_location(kw))

    def _send(self, call: _Call[T]) -> T:
        for attempt in retrying(
            self._retry,
            call.operation,
            sleep=self._sleep,
            clock=self._clock,
            on_retry=self._on_retry,
        ):
            with attempt:
                return self._attempt(call, attempt.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _attempt(self, call: _Call[T], number: int) -> T:
        ticket = self._reserve(call.operation)
        if ticket is not None and ticket.wait > 0:
            self._sleep(ticket.wait)
        admission = None
        if self._rate is not None:  # the window, checked as the call is about to go
            while (admission := self._rate.admit(call.operation)).wait > 0:
                self._sleep(admission.wait)
        try:
            _cancel.check(call.operation)  # a cancelled run sends nothing new (wsnb._cancel)
            request = self._build(self._http, call)
        except BaseException:
            self._answered(call.operation, admission)
            raise
        began = self._sending(call.operation)
        try:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                failure = self._failed(call, request, exc, number)
            else:
                return self._finish(call, request, response, number, ticket)
        finally:
            self._over(call.operation, began, admission)
        raise failure  # outside ``except``: keeps the cause chain set by transport_error

    def _pages(self, pager: _Pager) -> list[Any]:
        call: _PageCall | None = pager.first
        while call is not None:
            call = pager.feed(self._send(call))
        return pager.items

    def _probe(self) -> TaskPage:
        """One attempt of ``list_tasks_page(0, 1)``, never retried (:func:`wsnb.doctor` reports
        the first answer as it is, and must not sit through a retry schedule)."""
        items, total = self._attempt(_list_tasks_page_call(0, 1, {}), 1)
        return {"scheduled_tasks": items, "total_count": total}

    def list_tasks(
        self,
        *,
        task_name: str | None = None,
        task_type: str | None = None,
        scheduled_type: str | None = None,
        life_cycle_type: str | None = None,
        last_status: str | None = None,
    ) -> list[Task]:
        """Every task matching the filters (all pages of 50). LIFE_CYCLE tasks are listed
        only with ``scheduled_type="LIFE_CYCLE"`` (an API rule)."""
        filters = {
            "task_name": task_name,
            "task_type": task_type,
            "scheduled_type": scheduled_type,
            "life_cycle_type": life_cycle_type,
            "last_status": last_status,
        }
        return self._pages(_list_tasks_pager(filters))

    def list_tasks_page(self, offset: int, limit: int = LIST_PAGE_MAX, **filters: Any) -> TaskPage:
        """One page of the task list, as the API returns it; ``total_count`` is ``None`` when
        the answer has none (a hint only: see :func:`wsnb._listing.list_all`)."""
        items, total = self._send(_list_tasks_page_call(offset, limit, filters))
        return {"scheduled_tasks": items, "total_count": total}

    def get_task(self, task_id: str) -> TaskDetail:
        """The full definition of a task (enough to re-create it)."""
        return self._send(_get_task_call(task_id))

    def create_task(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> str:
        """Create a task; returns its id."""
        return self._send(_create_task_call(body, fields))

    def update_task(
        self, task_id: str, body: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> None:
        """Change the given fields of a task."""
        self._send(_update_task_call(task_id, body, fields))

    def delete_task(self, task_id: str) -> str | None:
        """Delete one task; returns the answer's ``X-Request-Id`` (``None`` without one)."""
        return self._send(_delete_task_call(task_id))

    def batch_delete(self, task_ids: Sequence[str]) -> str | None:
        """Delete 1–5000 tasks in one call (ids validated before sending; no per-id result).

        Returns the answer's ``X-Request-Id`` (``None`` without one), for the ledger.
        """
        return self._send(_batch_delete_call(task_ids))

    def list_records(
        self, task_id: str, *, offset: int | None = None, limit: int | None = None
    ) -> list[Record]:
        """Execution records of a task: every page when ``offset`` is None, else one page."""
        if offset is None:
            return self._pages(_records_pager(task_id, None, limit))
        size = RECORDS_PAGE_MAX if limit is None else limit
        return self._send(_records_page_call(task_id, None, offset, size))[0]

    def list_record_details(
        self, task_id: str, record_id: str, *, offset: int | None = None, limit: int | None = None
    ) -> list[RecordDetail]:
        """Per-desktop results of one record: every page when ``offset`` is None."""
        if offset is None:
            return self._pages(_records_pager(task_id, record_id, limit))
        size = RECORDS_PAGE_MAX if limit is None else limit
        return self._send(_records_page_call(task_id, record_id, offset, size))[0]

    def export_records(
        self, task_id: str, *, language: str | None = None, time_zone: str | None = None
    ) -> bytes:
        """Export a task's records; returns the response body as bytes."""
        return self._send(_export_records_call(task_id, language, time_zone))

    def future_executions(
        self, body: Mapping[str, Any] | None = None, /, **schedule: Any
    ) -> list[str]:
        """Preview the next run times of a schedule (creates nothing)."""
        return self._send(_future_executions_call(body, schedule))

    def life_cycle_configurations(self, type: str | None = None) -> dict[str, Any]:
        """Wait/exec-time limits and actions per life-cycle trigger type."""
        return self._send(_life_cycle_call(type))

    def time_zones(self, time_zone_name: str | None = None) -> list[TimeZoneInfo]:
        """The time zones the service knows."""
        return self._send(_time_zones_call(time_zone_name))

    async def _in_thread(self, method: Callable[..., T], /, *args: Any, **kw: Any) -> T:
        """Await a blocking method of this client in one of its own threads.

        For the async algorithms (:mod:`wsnb._aio`): ``asyncio.to_thread`` shares the loop's
        default executor, min(32, cores + 4) threads (6 on a 2-core machine), which capped the
        calls in flight below the listing's and deleter's concurrency. This pool has as many
        threads as the connection pool has connections, started as needed.
        """
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="wsnb-client")
            pool = self._pool
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(method, *args, **kw))

    def close(self) -> None:
        """Close the connection pool (and the threads of :meth:`_in_thread`)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- async --------------------------------------------------------------------------------------


class AsyncClient(_Core):
    """The asyncio twin of :class:`Client`: same methods, ``await``-ed; ``async with``."""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        project_id: str | None = None,
        credentials: Credentials | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        rate_limit: RateLimit | _Sentinel | None = _DEFAULT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is harmless
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        auth = self._setup(
            region,
            endpoint,
            project_id,
            credentials,
            rate_limit,
            retry,
            clock,
            user_agent,
            wall_clock,
        )
        self._sleep = sleep or _cancel.asleep
        self._http = httpx.AsyncClient(
            auth=auth, timeout=timeout, transport=transport, limits=limits, verify=_ssl_context()
        )

    @classmethod
    def from_env(cls, **kw: Any) -> Self:
        """A client for ``WSNB_ENDPOINT`` or ``WSNB_REGION`` with ``Credentials.from_env()``."""
        return cls(**_env_location(kw))

    async def _send(self, call: _Call[T]) -> T:
        async for attempt in async_retrying(
            self._retry,
            call.operation,
            sleep=self._sleep,
            clock=self._clock,
            on_retry=self._on_retry,
        ):
            with attempt:
                return await self._attempt(call, attempt.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(self, call: _Call[T], number: int) -> T:
        ticket = self._reserve(call.operation)
        if ticket is not None and ticket.wait > 0:
            await self._sleep(ticket.wait)
        admission = None
        if self._rate is not None:  # the window, checked as the call is about to go
            while (admission := self._rate.admit(call.operation)).wait > 0:
                await self._sleep(admission.wait)
        try:
            _cancel.check(call.operation)  # a cancelled run sends nothing new (wsnb._cancel)
            request = self._build(self._http, call)
        except BaseException:
            self._answered(call.operation, admission)
            raise
        began = self._sending(call.operation)
        try:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                failure = self._failed(call, request, exc, number)
            else:
                return self._finish(call, request, response, number, ticket)
        finally:
            self._over(call.operation, began, admission)
        raise failure  # outside ``except``: keeps the cause chain set by transport_error

    async def _pages(self, pager: _Pager) -> list[Any]:
        call: _PageCall | None = pager.first
        while call is not None:
            call = pager.feed(await self._send(call))
        return pager.items

    async def list_tasks(
        self,
        *,
        task_name: str | None = None,
        task_type: str | None = None,
        scheduled_type: str | None = None,
        life_cycle_type: str | None = None,
        last_status: str | None = None,
    ) -> list[Task]:
        """Every task matching the filters (all pages of 50)."""
        filters = {
            "task_name": task_name,
            "task_type": task_type,
            "scheduled_type": scheduled_type,
            "life_cycle_type": life_cycle_type,
            "last_status": last_status,
        }
        return await self._pages(_list_tasks_pager(filters))

    async def list_tasks_page(
        self, offset: int, limit: int = LIST_PAGE_MAX, **filters: Any
    ) -> TaskPage:
        """One page of the task list, as the API returns it (``total_count`` ``None`` if absent)."""
        items, total = await self._send(_list_tasks_page_call(offset, limit, filters))
        return {"scheduled_tasks": items, "total_count": total}

    async def get_task(self, task_id: str) -> TaskDetail:
        """The full definition of a task."""
        return await self._send(_get_task_call(task_id))

    async def create_task(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> str:
        """Create a task; returns its id."""
        return await self._send(_create_task_call(body, fields))

    async def update_task(
        self, task_id: str, body: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> None:
        """Change the given fields of a task."""
        await self._send(_update_task_call(task_id, body, fields))

    async def delete_task(self, task_id: str) -> str | None:
        """Delete one task; returns the answer's ``X-Request-Id`` (``None`` without one)."""
        return await self._send(_delete_task_call(task_id))

    async def batch_delete(self, task_ids: Sequence[str]) -> str | None:
        """Delete 1–5000 tasks in one call (ids validated before sending).

        Returns the answer's ``X-Request-Id`` (``None`` without one), for the ledger.
        """
        return await self._send(_batch_delete_call(task_ids))

    async def list_records(
        self, task_id: str, *, offset: int | None = None, limit: int | None = None
    ) -> list[Record]:
        """Execution records of a task: every page when ``offset`` is None, else one page."""
        if offset is None:
            return await self._pages(_records_pager(task_id, None, limit))
        size = RECORDS_PAGE_MAX if limit is None else limit
        return (await self._send(_records_page_call(task_id, None, offset, size)))[0]

    async def list_record_details(
        self, task_id: str, record_id: str, *, offset: int | None = None, limit: int | None = None
    ) -> list[RecordDetail]:
        """Per-desktop results of one record: every page when ``offset`` is None."""
        if offset is None:
            return await self._pages(_records_pager(task_id, record_id, limit))
        size = RECORDS_PAGE_MAX if limit is None else limit
        return (await self._send(_records_page_call(task_id, record_id, offset, size)))[0]

    async def export_records(
        self, task_id: str, *, language: str | None = None, time_zone: str | None = None
    ) -> bytes:
        """Export a task's records; returns the response body as bytes."""
        return await self._send(_export_records_call(task_id, language, time_zone))

    async def future_executions(
        self, body: Mapping[str, Any] | None = None, /, **schedule: Any
    ) -> list[str]:
        """Preview the next run times of a schedule (creates nothing)."""
        return await self._send(_future_executions_call(body, schedule))

    async def life_cycle_configurations(self, type: str | None = None) -> dict[str, Any]:
        """Wait/exec-time limits and actions per life-cycle trigger type."""
        return await self._send(_life_cycle_call(type))

    async def time_zones(self, time_zone_name: str | None = None) -> list[TimeZoneInfo]:
        """The time zones the service knows."""
        return await self._send(_time_zones_call(time_zone_name))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    aclose = close

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _env_location(kw: dict[str, Any]) -> dict[str, Any]:
    """Fill ``endpoint``/``region`` from ``WSNB_ENDPOINT``/``WSNB_REGION`` unless given."""
    if kw.get("endpoint") or kw.get("region"):
        return kw
    endpoint = os.environ.get("WSNB_ENDPOINT")
    region = os.environ.get("WSNB_REGION")
    if not endpoint and not region:
        raise ValueError("set WSNB_ENDPOINT or WSNB_REGION (or pass endpoint=/region=)")
    return {**kw, "endpoint": endpoint or None, "region": region or None}
