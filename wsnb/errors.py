"""The exceptions wsnb raises, and how an error response becomes one.

Every failure of an API call is a :class:`WorkspaceError`. Subclasses follow the HTTP status so
callers can ``except`` what they handle; the attributes carry Huawei's error envelope, the
``X-Request-Id`` (quote it to Huawei support) and where the call went. ``str()`` reads as::

    400 WKS.0001: The scheduled task does not exist. (batch_delete POST /v2/…, request_id=…)

Classification goes by HTTP status first and by code second: the status picks the class
(400, 401, 403, 404, 413, 429, 5xx); a few codes refine it. Gateway codes come as ``APIG.*``
(the API Gateway product) or ``APIGW.*`` (the gateway in front of cloud services, which is what
the live Workspace API answers with); both are recognised everywhere. A throttling code
(``APIG[W].0308``) makes any answer a :class:`ThrottledError`; ``WKS.00010099`` on a 403 is
:class:`ServiceNotEnabledError`; a 401 whose ``Date`` is more than 15 minutes from the request's
``X-Sdk-Date`` is :class:`ClockSkewError`; an unknown status falls back to the gateway code.
Errors that have an obvious remedy carry it as ``hint`` (also shown by ``str()``). An HTML page
(a proxy's or a captive portal's) never lands in a message: only its sanitised title does.

Nothing here ever includes request headers, so no token or signature can leak into a message;
the client additionally scrubs its secrets from every error text (see :mod:`wsnb._redact`).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClockSkewError",
    "ForbiddenError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RequestTooLargeError",
    "ServerError",
    "ServiceNotEnabledError",
    "ThrottledError",
    "TransportError",
    "UnexpectedResponseError",
    "WorkspaceError",
    "clock_skew",
    "error_from_response",
    "gateway_number",
    "html_summary",
    "html_title",
    "is_throttle_code",
    "parse_retry_after",
    "skew_hint",
]

#: Prefixes of gateway error codes: the API Gateway product, and the cloud-service gateway.
GATEWAY_PREFIXES: Final = ("APIG.", "APIGW.")
#: The gateway's throttling code (sent with HTTP 429), in both spellings.
THROTTLE_CODE: Final = "APIG.0308"
THROTTLE_CODES: Final = frozenset({"APIG.0308", "APIGW.0308"})
#: Workspace's "the service is not enabled for this account/region" (HTTP 403).
SERVICE_NOT_ENABLED_CODE: Final = "WKS.00010099"
#: How far ``X-Sdk-Date`` may be from the gateway's clock (documented: 15 minutes).
MAX_CLOCK_SKEW: Final = timedelta(minutes=15)
#: The largest AK/SK-signed request body the gateway accepts (documented: 12 MB).
MAX_BODY_BYTES: Final = 12 * 1024 * 1024
#: Longest slice of a non-JSON error body kept as ``error_msg``.
MAX_TEXT = 300
#: Longest HTML page title kept in a message.
MAX_TITLE = 80

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
        hint: str | None = None,
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
        #: What to do about it, when wsnb knows (also the tail of ``str()``).
        self.hint = hint
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
        base = f"{text} ({', '.join(extras)})" if extras else text
        return f"{base}; {self.hint}" if self.hint else base

    def __str__(self) -> str:
        return self._render()

    def refresh(self) -> None:
        """Re-render ``args`` after an attribute changed (``str()`` is always current)."""
        self.args = (self._render(),)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, error_code={self.error_code!r}, "
            f"error_msg={self.error_msg!r}, operation={self.operation!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(WorkspaceError):
    """HTTP 400: invalid request, and Workspace's usual answer for an unknown task id."""


class AuthenticationError(WorkspaceError):
    """HTTP 401 (``APIGW.0301``): bad or expired token, wrong signature, unknown AK, clock skew."""


class ClockSkewError(AuthenticationError):
    """HTTP 401 while this machine's clock is more than 15 minutes from the gateway's.

    ``skew`` is the request's ``X-Sdk-Date`` minus the answer's ``Date``, in seconds (positive:
    the local clock is ahead).
    """

    def __init__(self, message: str | None = None, *, skew: float, **kw: Any) -> None:
        self.skew = skew
        super().__init__(message, **kw)


class ForbiddenError(WorkspaceError):
    """HTTP 403: IAM denies the action (see ``encoded_authorization_message``) or service off."""


class ServiceNotEnabledError(ForbiddenError):
    """HTTP 403 ``WKS.00010099``: Workspace is not enabled for this account in this region."""


class NotFoundError(WorkspaceError):
    """HTTP 404: the gateway knows no such API (``APIGW.0101``), usually a wrong endpoint."""


class RequestTooLargeError(WorkspaceError):
    """HTTP 413 (``APIGW.0201``): the body is over the gateway's limit (``limit_bytes``)."""

    limit_bytes: int = MAX_BODY_BYTES


class ThrottledError(WorkspaceError):
    """HTTP 429 / ``APIGW.0308``: over the rate limit; nothing was processed, retrying is safe."""


class UnexpectedResponseError(WorkspaceError):
    """A success status whose body the client cannot read (empty, not JSON, wrong shape).

    ``transient`` is True for an empty or non-JSON body (a proxy or a truncated answer, worth
    another try for a read) and False for JSON of the wrong shape (a contract change: final).
    For writes other than deletes the client raises :class:`OutcomeUnknownError` around it.
    """

    def __init__(self, message: str | None = None, *, transient: bool = True, **kw: Any) -> None:
        self.transient = transient
        super().__init__(message, **kw)


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
    413: RequestTooLargeError,
    429: ThrottledError,
}
#: For a status not in ``_BY_STATUS``: the class a gateway code number implies.
_BY_GATEWAY_NUMBER: dict[str, type[WorkspaceError]] = {
    "0301": AuthenticationError,
    "0101": NotFoundError,
    "0308": ThrottledError,
}

_SKEW_HINT = (
    "your clock is {minutes} minutes off ({side} the server's); the gateway refuses signatures "
    "more than 15 minutes off: sync this machine's clock (NTP) and retry"
)
_NOT_ENABLED_HINT = (
    "Workspace is not enabled for this account in this region: enable it once in the Huawei "
    "Cloud console (Workspace, same region as the endpoint), or check the region and project id"
)
_TOO_LARGE_HINT = (
    "the gateway refuses request bodies over 12 MB (the AK/SK signing limit); send fewer task "
    "ids per batch_delete call (the API takes at most 5000)"
)
_HTML_HINT = (
    "a proxy, firewall or captive portal answered instead of the API: check HTTPS_PROXY/NO_PROXY "
    "and the endpoint"
)


def gateway_number(code: str | None) -> str | None:
    """``"0308"`` for ``APIG.0308`` or ``APIGW.0308``; None for any other code."""
    if not code:
        return None
    for prefix in GATEWAY_PREFIXES:
        if code.upper().startswith(prefix):
            return code[len(prefix) :]
    return None


def is_throttle_code(code: str | None) -> bool:
    """Whether ``code`` is the gateway's throttling code, either prefix."""
    return gateway_number(code) == "0308"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _looks_html(response: httpx.Response, text: str) -> bool:
    kind = response.headers.get("Content-Type", "").lower()
    head = text.lstrip()[:15].lower()
    return "html" in kind or head.startswith(("<!doctype html", "<html"))


def html_title(text: str) -> str:
    """A short, sanitised title of an HTML page (``<title>``, else ``<h1>``, else ``""``).

    Tags are dropped, entities decoded, anything but printable characters removed, whitespace
    collapsed and the result cut to :data:`MAX_TITLE` characters: a page never lands whole in a
    message.
    """
    match = _TITLE.search(text) or _H1.search(text)
    if match is None:
        return ""
    plain = html.unescape(_TAG.sub(" ", match[1]))
    flat = " ".join("".join(c if c.isprintable() else " " for c in plain).split())
    return flat if len(flat) <= MAX_TITLE else flat[: MAX_TITLE - 1] + "…"


def html_summary(status: int, text: str) -> str:
    """The message for an HTML answer: who answered, the status and the page title."""
    title = html_title(text)
    shown = f", page title {title!r}" if title else ""
    return f"a proxy or gateway answered with an HTML page instead of JSON (HTTP {status}{shown})"


def clock_skew(response: httpx.Response) -> float | None:
    """Seconds the request's ``X-Sdk-Date`` is ahead of the answer's ``Date`` (None: unknown)."""
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:
        request = None
    stamp = request.headers.get("X-Sdk-Date") if request is not None else None
    served = response.headers.get("Date")
    if not stamp or not served:
        return None
    try:
        sent = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        server = parsedate_to_datetime(served)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        return None
    return (sent - server).total_seconds()


def skew_hint(skew: float) -> str:
    """The "your clock is N minutes off" sentence for a skew in seconds (local minus server)."""
    side = "ahead of" if skew > 0 else "behind"
    return _SKEW_HINT.format(minutes=round(abs(skew) / 60), side=side)


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
    (flattened, truncated) text as ``error_msg`` and the status as ``error_code``, except an HTML
    page, which is summarised by its title. ``clock`` (epoch seconds) resolves an HTTP-date
    ``Retry-After``. See the module docstring for how the class is chosen.
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
    hint: str | None = None
    if not code:
        code = str(status)
    if not msg:
        if text and data is None and _looks_html(response, text):
            msg, hint = html_summary(status, text), _HTML_HINT
        else:
            msg = _short(text) or response.reason_phrase or f"HTTP {status}"

    cls = _BY_STATUS.get(status)
    if cls is None:  # an unusual status: a server error, else what the gateway code says
        by_code = _BY_GATEWAY_NUMBER.get(gateway_number(code) or "", WorkspaceError)
        cls = ServerError if status >= 500 else by_code
    extra: dict[str, Any] = {}
    if is_throttle_code(code):
        cls = ThrottledError
    elif code == SERVICE_NOT_ENABLED_CODE and cls in (ForbiddenError, WorkspaceError):
        cls, hint = ServiceNotEnabledError, _NOT_ENABLED_HINT
    elif cls is RequestTooLargeError:
        hint = _TOO_LARGE_HINT
    elif cls is AuthenticationError:
        skew = clock_skew(response)
        if skew is not None and abs(skew) > MAX_CLOCK_SKEW.total_seconds():
            cls, hint, extra = ClockSkewError, skew_hint(skew), {"skew": skew}
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a response built by hand, without a request
        request = None
    return cls(
        **extra,
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
        hint=hint,
    )
