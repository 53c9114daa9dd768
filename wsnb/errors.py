"""The exceptions wsnb raises, and how an error response becomes one.

Every failure of an API call is a :class:`WorkspaceError`. Subclasses follow the HTTP status so
callers can ``except`` what they handle; the attributes carry Huawei's error envelope, the
``X-Request-Id`` (quote it to Huawei support) and where the call went. ``str()`` reads as::

    400 WKS.0001: The scheduled task does not exist. (batch_delete POST /v2/…, request_id=…)

Nothing here ever includes request headers, so no token or signature can leak into a message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ForbiddenError",
    "NotFoundError",
    "OutcomeUnknownError",
    "ServerError",
    "ThrottledError",
    "TransportError",
    "WorkspaceError",
    "error_from_response",
    "parse_retry_after",
]

#: The gateway's throttling code (sent with HTTP 429).
THROTTLE_CODE = "APIG.0308"
#: Longest slice of a non-JSON error body kept as ``error_msg``.
MAX_TEXT = 300

_TASK_MISSING = re.compile(r"task\b.*\b(?:does not|doesn't|not) exist", re.IGNORECASE)


class WorkspaceError(Exception):
    """A failed Workspace API call (an error response, or no usable response at all)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        error_detail: str | None = None,
        encoded_authorization_message: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg if error_msg is not None else message
        self.error_detail = error_detail
        self.encoded_authorization_message = encoded_authorization_message
        self.request_id = request_id
        self.operation = operation
        self.method = method
        self.path = path
        #: Seconds the server asked us to wait (``Retry-After``), when it said so.
        self.retry_after = retry_after
        super().__init__(self._render())

    @property
    def task_missing(self) -> bool:
        """True when the server said the scheduled task does not exist."""
        return bool(self.error_msg and _TASK_MISSING.search(self.error_msg))

    def _render(self) -> str:
        head = " ".join(str(p) for p in (self.status, self.error_code) if p not in (None, ""))
        text = f"{head}: {self.error_msg}" if head else str(self.error_msg or "")
        where = " ".join(p for p in (self.operation, self.method, self.path) if p)
        extras = [where] if where else []
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
        return f"{text} ({', '.join(extras)})" if extras else text

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, error_code={self.error_code!r}, "
            f"error_msg={self.error_msg!r}, operation={self.operation!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(WorkspaceError):
    """HTTP 400: invalid request, and Workspace's usual answer for an unknown task id."""


class AuthenticationError(WorkspaceError):
    """HTTP 401: bad or expired token, wrong signature, unknown AK or clock skew."""


class ForbiddenError(WorkspaceError):
    """HTTP 403: IAM denies the action (see ``encoded_authorization_message``) or service off."""


class NotFoundError(WorkspaceError):
    """HTTP 404: the gateway knows no such API (``APIG.0101``), usually a wrong endpoint."""


class ThrottledError(WorkspaceError):
    """HTTP 429 / ``APIG.0308``: over the rate limit; nothing was processed, retrying is safe."""


class ServerError(WorkspaceError):
    """HTTP 5xx."""


class TransportError(WorkspaceError):
    """No HTTP response: connection refused, DNS failure, timeout, dropped connection.

    ``sent`` is False when the request certainly never reached the server (connect errors).
    """

    def __init__(self, message: str | None = None, *, sent: bool = True, **kw: Any) -> None:
        self.sent = sent
        super().__init__(message, **kw)


class OutcomeUnknownError(WorkspaceError):
    """A write that may or may not have happened (timeout, 502/503/504, dropped connection).

    It is not retried blindly; check the server (e.g. list or show the tasks) instead. The
    underlying failure is ``.cause`` (also ``__cause__``).
    """

    def __init__(self, message: str | None = None, *, cause: BaseException, **kw: Any) -> None:
        self.cause = cause
        super().__init__(message, **kw)
        self.__cause__ = cause


_BY_STATUS: dict[int, type[WorkspaceError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    429: ThrottledError,
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _envelope(data: Mapping[str, Any]) -> tuple[Any, Any, Mapping[str, Any]] | None:
    """Find (code, message, holder) like the SDK: snake, camel, plain, then nested objects."""
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg")):
        if code_key in data and msg_key in data:
            return data[code_key], data[msg_key], data
    if "code" in data and "message" in data:
        return data["code"], data["message"], data
    for value in data.values():
        if isinstance(value, Mapping):
            found = _envelope(value)
            if found is not None:
                return found
    return None


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def error_from_response(
    response: httpx.Response,
    operation: str | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> WorkspaceError:
    """Turn an error response into the matching :class:`WorkspaceError` subclass.

    The body is parsed the way the official SDK does; a body that is not a JSON object keeps its
    (flattened, truncated) text as ``error_msg`` and the status as ``error_code``. ``clock``
    (epoch seconds) resolves an HTTP-date ``Retry-After``.
    """
    status = response.status_code
    text = response.text if response.content else ""
    code: str | None = None
    msg: str | None = None
    detail = encoded = body_request_id = None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        encoded = _opt_str(data.get("encoded_authorization_message"))
        body_request_id = _opt_str(data.get("request_id"))
        found = _envelope(data)
        if found is not None:
            code, msg, holder = _opt_str(found[0]), _opt_str(found[1]), found[2]
            detail = _opt_str(holder.get("error_detail"))
            encoded = encoded or _opt_str(holder.get("encoded_authorization_message"))
    if not code:
        code = str(status)
    if not msg:
        msg = _short(text) or response.reason_phrase or f"HTTP {status}"

    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else WorkspaceError
    if code == THROTTLE_CODE:
        cls = ThrottledError
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a response built by hand, without a request
        request = None
    return cls(
        status=status,
        error_code=code,
        error_msg=msg,
        error_detail=detail,
        encoded_authorization_message=encoded,
        request_id=response.headers.get("X-Request-Id") or body_request_id,
        operation=operation,
        method=request.method if request is not None else None,
        path=request.url.path if request is not None else None,
        retry_after=parse_retry_after(
            response.headers.get("Retry-After"), clock() if clock else None
        ),
    )
