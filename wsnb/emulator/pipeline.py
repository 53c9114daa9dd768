"""The per-call pipeline every API operation runs, and the JSON answers it sends.

An :class:`_Operation` is a small ASGI app: read the body (413 past the limit) → authenticate
(401) → throttle (429) → faults "before" → the handler (in a worker thread), one SQLite
transaction → faults "after" → the answer, always JSON in Huawei's error envelope when it fails,
with an ``X-Request-Id``. Every call, answered or dropped, goes to the request log. Handlers see
a :class:`Call` and return a :class:`Reply`; which ids a call names is the caller's
``named_ids`` (see ``handlers``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import _validation as v
from ._errors import AUTH_FAILED, INTERNAL, TOO_LARGE, ApiError
from .profile import Profile
from .state import EmulatorState

log = logging.getLogger("wsnb.emulator")

JSON_TYPE: Final = "application/json;charset=UTF-8"


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
#: ``(operation, call) -> ids`` the call names, for the request log (``handlers.named_task_ids``).
NamedIds = Callable[[str, Call], list[str] | None]


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


def error_response(error: ApiError, request_id: str, profile: Profile | None = None) -> Response:
    """The error envelope; gateway codes get the ``profile``'s prefix (``APIG``/``APIGW``)."""
    code = error.code
    if profile is not None and not error.verbatim:
        code = profile.gateway_code(code)
    return json_response(error.status, error.body(request_id, code), request_id, error.headers)


def new_request_id() -> str:
    return uuid.uuid4().hex


# --- the per-call pipeline ---------------------------------------------------------------------


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
            raise ApiError(rule.status, rule.error_code, rule.error_msg, verbatim=True)
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

    def __init__(
        self, state: EmulatorState, name: str, handler: Handler, named_ids: NamedIds
    ) -> None:
        self.state = state
        self.name = name
        self.handler = handler
        self.named_ids = named_ids

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
            call.task_ids = self.named_ids(self.name, call)
            authenticate(self.state, request, call.body)
            self.state.limiter.check(call.project_id, self.name)
            await _apply_faults(self.state, self.name, "before", fired)
            # in a worker thread: the store serves threads side by side (see store.py)
            reply = await run_in_threadpool(self.handler, call)
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
            response = error_response(error, request_id, self.state.profile)
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


__all__ = [
    "JSON_TYPE",
    "Call",
    "Handler",
    "NamedIds",
    "Reply",
    "authenticate",
    "drop_connection",
    "error_response",
    "json_response",
    "new_request_id",
    "read_body",
]
