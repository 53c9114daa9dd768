"""``doctor``: read-only checks of a setup against a real tenant, each a row with a fix.

:func:`doctor` runs, in order: the credentials (source, kind, project id; never a value), the
endpoint (and region), DNS, a TCP connect, the TLS handshake (``https`` only), one signed
``list_tasks_page(0, 1)`` (a single attempt, no retry), the clock (the server's ``Date`` against
this machine's) and the throttle headroom (the gateway's rate-limit headers, else the client's
:class:`~wsnb.RateLimit`). Every check becomes a :class:`Check` row with a status (``ok``,
``warn``, ``fail``, or ``skip`` when an earlier failure makes it meaningless), a detail and a
fix. ``doctor`` never raises on a broken setup: even a missing credential or an unknown region is
a ``fail`` row. It changes nothing on the server. Through a proxy (``HTTPS_PROXY`` and friends)
DNS and TCP are checked against the proxy and TLS is left to the signed call.

The module is ``checkup`` so that ``wsnb.doctor`` is always the function, never shadowed by a
submodule of the same name.
"""

from __future__ import annotations

import html
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx

from wsnb._redact import redact
from wsnb.auth import Credentials, CredentialsError
from wsnb.client import Client, _endpoint
from wsnb.errors import (
    AuthenticationError,
    BadRequestError,
    ClockSkewError,
    ForbiddenError,
    NotFoundError,
    ServerError,
    ServiceNotEnabledError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    WorkspaceError,
    skew_hint,
)

__all__ = ["Check", "DoctorReport", "Status", "doctor"]

Status = Literal["ok", "warn", "fail", "skip"]

#: Clock offsets (seconds) past which the clock check warns and fails (the gateway: 15 min).
CLOCK_WARN: Final = 5 * 60
CLOCK_FAIL: Final = 15 * 60
#: Seconds each network check may take.
DEFAULT_TIMEOUT: Final = 5.0

_PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")
_REGION_HOST = re.compile(r"^workspace\.(?P<region>[a-z0-9-]+)\.myhuaweicloud\.com$")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_MARKS: Final = {"ok": " ok ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
_AKSK_FIX = (
    "check that HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK belong together and the key is enabled "
    "(console: My Credentials > Access Keys); temporary keys also need "
    "HUAWEICLOUD_SDK_SECURITY_TOKEN and expire"
)
_TOKEN_FIX = "the IAM token is wrong or expired (tokens last 24 h): get a new one for this project"  # noqa: S105
_NETWORK_FIX = (
    "check the endpoint and that this machine may reach it (firewall, VPN); behind a proxy set "
    "HTTPS_PROXY (and NO_PROXY for local hosts)"
)
_NTP_FIX = "sync this machine's clock (NTP: e.g. `timedatectl set-ntp true`, `w32tm /resync`)"


@dataclass(frozen=True)
class Check:
    """One row of the report: what was checked, how it went, what was seen, what to do."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """The rows of one :func:`doctor` run; ``ok`` when none failed (warnings allowed)."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not any(check.status == "fail" for check in self.checks)

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    def __getitem__(self, name: str) -> Check:
        """The row named ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def table(self) -> str:
        """A short text table: one line per check, its fix indented below when there is one."""
        width = max((len(check.name) for check in self.checks), default=0)
        lines = []
        for check in self.checks:
            lines.append(f"[{_MARKS[check.status]}] {check.name:<{width}}  {check.detail}")
            if check.fix and check.status != "ok":
                lines.append(f"       {'':<{width}}  fix: {check.fix}")
        counts = {s: sum(c.status == s for c in self.checks) for s in ("ok", "warn", "fail")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        lines.append(f"{'all good' if self.ok else 'problems found'}: {summary}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.table())}</pre>"


# --- the checks -----------------------------------------------------------------------------------


class _Rows:
    """Collects rows; ``failed`` remembers which checks failed (later ones depend on them)."""

    def __init__(self) -> None:
        self.rows: list[Check] = []
        self.failed: set[str] = set()

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> None:
        self.rows.append(Check(name, status, detail, fix))
        if status == "fail":
            self.failed.add(name)

    def skip(self, name: str, why: str) -> None:
        self.add(name, "skip", f"not checked: {why}")


def _credentials(rows: _Rows, credentials: Credentials | None) -> Credentials | None:
    try:
        return credentials if credentials is not None else Credentials.from_env()
    except CredentialsError as error:  # messages name the source, never a value
        rows.add(
            "credentials",
            "fail",
            str(error),
            "set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (or WSNB_AUTH_TOKEN), or the [basic] "
            "section of ~/.huaweicloud/credentials",
        )
        return None


def _describe_credentials(rows: _Rows, creds: Credentials, project_id: str | None) -> None:
    kind = "AK/SK" if creds.kind == "aksk" else "IAM token"
    if creds.kind == "aksk" and creds.security_token:
        kind += " (temporary, with security token)"
    source = f"from {creds.source}" if creds.source else "passed in code"
    if not project_id:
        rows.add(
            "credentials",
            "fail",
            f"{kind} {source}; no project id",
            "set HUAWEICLOUD_SDK_PROJECT_ID (or pass --project-id): the id of the project of "
            "this region (console: My Credentials > Projects)",
        )
    elif not _PROJECT_ID.match(project_id):
        rows.add(
            "credentials",
            "warn",
            f"{kind} {source}; project id {project_id!r} does not look like a Huawei Cloud "
            "project id (32 lowercase hex characters)",
            "copy the project id of the endpoint's region from the console "
            "(My Credentials > Projects)",
        )
    else:
        rows.add("credentials", "ok", f"{kind} {source}; project id {project_id}")


def _resolve_endpoint(
    rows: _Rows, endpoint: str | None, region: str | None
) -> tuple[str | None, str]:
    """The endpoint URL (None after a ``fail`` row) and where it came from."""
    source = "argument"
    if not endpoint and not region:
        endpoint = os.environ.get("WSNB_ENDPOINT") or None
        region = os.environ.get("WSNB_REGION") or None
        source = "WSNB_ENDPOINT" if endpoint else "WSNB_REGION"
    try:
        return _endpoint(region, endpoint), source
    except ValueError as error:
        rows.add(
            "endpoint",
            "fail",
            str(error) if (endpoint or region) else "no endpoint or region given",
            "pass --region (e.g. cn-north-4) or --endpoint, or set WSNB_REGION or WSNB_ENDPOINT",
        )
        return None, source


def _describe_endpoint(rows: _Rows, endpoint: str, source: str, proxy: str | None) -> None:
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    match = _REGION_HOST.match(host)
    region = f" (region {match['region']}" if match else " ("
    region += f"{', ' if match else ''}from {source})"
    via = f", via proxy {_proxy_label(proxy)}" if proxy else ""
    if parts.scheme == "http" and host not in _LOOPBACK:
        rows.add(
            "endpoint",
            "warn",
            f"{endpoint}{region}{via}: plain HTTP to a remote host",
            "use https:// (requests, and an IAM token, would travel unencrypted)",
        )
    else:
        rows.add("endpoint", "ok", f"{endpoint}{region}{via}")


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url`` (as httpx would use it), or None."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def _proxy_label(proxy: str) -> str:
    """The proxy URL without any user:password."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or default


def _timed(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a daemon thread; raise TimeoutError after ``timeout`` (DNS has none)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name="wsnb-doctor")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _dns(rows: _Rows, host: str, port: int, timeout: float, what: str) -> bool:
    try:
        infos = _timed(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except (OSError, TimeoutError) as error:
        rows.add(
            "dns",
            "fail",
            f"{what} {host} does not resolve ({type(error).__name__}: {error})",
            "check the region/endpoint spelling and this machine's DNS; behind a proxy set "
            "HTTPS_PROXY",
        )
        return False
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    shown = ", ".join(addresses[:3]) + (" …" if len(addresses) > 3 else "")
    rows.add("dns", "ok", f"{what} {host} -> {shown}")
    return True


def _tcp(rows: _Rows, host: str, port: int, timeout: float, what: str) -> bool:
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        rows.add(
            "tcp",
            "fail",
            f"cannot connect to {what} {host}:{port} ({type(error).__name__}: {error})",
            _NETWORK_FIX,
        )
        return False
    rows.add("tcp", "ok", f"connected to {what} {host}:{port} in {_ms(start)} ms")
    return True


def _tls(rows: _Rows, host: str, port: int, timeout: float) -> bool:
    start = time.perf_counter()
    try:
        context = httpx.create_ssl_context()  # what httpx verifies with (certifi, SSL_CERT_FILE)
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version() or "TLS"
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as error:
        rows.add(
            "tls",
            "fail",
            f"the certificate of {host} does not verify ({error.verify_message})",
            "a TLS-inspecting proxy or firewall? point SSL_CERT_FILE at your organisation's CA "
            "bundle; otherwise check the endpoint",
        )
        return False
    except (OSError, ssl.SSLError) as error:
        rows.add("tls", "fail", f"TLS handshake with {host} failed ({error})", _NETWORK_FIX)
        return False
    expires = cert.get("notAfter")
    until = f", certificate valid until {expires}" if isinstance(expires, str) else ""
    rows.add("tls", "ok", f"{version} with {host} in {_ms(start)} ms{until}")
    return True


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _signed_call(rows: _Rows, client: Client) -> bool:
    """One signed list call; True when the server answered (any status)."""
    fix = ""
    try:
        page = client._probe()
    except ClockSkewError as error:
        rows.add("signed call", "fail", _short(error, client), _NTP_FIX)
        return True
    except ServiceNotEnabledError as error:
        fix = error.hint or ""
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except AuthenticationError as error:
        fix = _AKSK_FIX if client.credentials.kind == "aksk" else _TOKEN_FIX
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except ForbiddenError as error:
        fix = (
            "IAM denies listing scheduled tasks: ask an administrator for a Workspace policy on "
            "this project (decode encoded_authorization_message with IAM to see which action)"
        )
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except NotFoundError as error:
        fix = "the gateway knows no such API here: check the region or endpoint"
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except BadRequestError as error:
        fix = "the API refused the request: check the project id belongs to the endpoint's region"
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except ThrottledError as error:
        fix = "another job is using the account's quota right now; try again in a minute"
        rows.add("signed call", "warn", _short(error, client), fix)
        return True
    except UnexpectedResponseError as error:
        rows.add("signed call", "fail", _short(error, client), _NETWORK_FIX)
        return True
    except ServerError as error:
        fix = "the service is failing right now; try again later, quote the request_id to support"
        rows.add("signed call", "fail", _short(error, client), fix)
        return True
    except TransportError as error:
        rows.add("signed call", "fail", _short(error, client), _NETWORK_FIX)
        return False
    except WorkspaceError as error:
        rows.add("signed call", "fail", _short(error, client), "see the message")
        return True
    except Exception as error:  # never raise: an unexpected failure is a row too
        text = redact(f"{type(error).__name__}: {error}", _secrets(client))
        rows.add("signed call", "fail", text, "please report this as a wsnb bug")
        return False
    total, items = page["total_count"], page["scheduled_tasks"]
    # no total in the answer (it is a hint only): say what the page itself shows
    count = f"{total} task(s)" if total is not None else "tasks" if items else "no tasks"
    detail = f"list_tasks_page(0, 1) answered: {count} listed in project"
    if total is None and items:
        detail += " (no total_count in the answer)"
    if not total and not items:
        detail += " (an empty project, or the project id of another region)"
    rows.add("signed call", "ok", detail)
    return True


def _secrets(client: Client) -> list[str]:
    creds = client.credentials
    return [v for v in (creds.ak, creds.sk, creds.security_token, creds.token) if v]


def _short(error: WorkspaceError, client: Client) -> str:
    return redact(str(error), _secrets(client))


def _clock(rows: _Rows, client: Client) -> None:
    skew = client.stats.server_skew
    if skew is None:
        rows.skip("clock", "no answer with a Date header to compare with")
        return
    minutes = abs(skew) / 60
    if abs(skew) > CLOCK_FAIL:
        rows.add("clock", "fail", skew_hint(skew).split(";")[0], _NTP_FIX)
    elif abs(skew) > CLOCK_WARN:
        rows.add(
            "clock",
            "warn",
            f"your clock is {minutes:.0f} minutes off the server's (the gateway refuses 15)",
            _NTP_FIX,
        )
    else:
        rows.add("clock", "ok", f"within {abs(skew):.0f} s of the server's Date header")


def _throttle(rows: _Rows, client: Client) -> None:
    headers = client.stats.rate_limit_headers
    if headers:
        shown = ", ".join(f"{name}: {value}" for name, value in sorted(headers.items()))
        remaining = _first_int(headers, "remaining")
        limit = _first_int(headers, "limit")
        low = remaining is not None and (remaining <= 5 or (limit and remaining < limit / 10))
        if low:
            rows.add(
                "throttle",
                "warn",
                f"little headroom left: {shown}",
                "another job is using the quota; big runs will be slowed by APIGW.0308 throttling",
            )
        else:
            rows.add("throttle", "ok", shown)
        return
    limit_ = client.rate_limit
    if limit_ is None:
        rows.add(
            "throttle",
            "warn",
            "no rate-limit headers from the gateway, and client-side rate limiting is off",
            "keep the default RateLimit (or pass one): big runs would meet APIGW.0308 throttling",
        )
        return
    reads = _per_minute(limit_.reads_per_minute)
    writes = _per_minute(limit_.writes_per_minute)
    rows.add(
        "throttle",
        "ok",
        f"no rate-limit headers from the gateway; the client paces itself at {reads} reads and "
        f"{writes} writes a minute (RateLimit)",
    )


def _per_minute(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}"


def _first_int(headers: dict[str, str], part: str) -> int | None:
    for name, value in headers.items():
        if name.lower().endswith(part):
            try:
                return int(value.split(",")[0].strip())
            except ValueError:
                return None
    return None


# --- entry point ----------------------------------------------------------------------------------


def doctor(
    client: Client | None = None,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    project_id: str | None = None,
    credentials: Credentials | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> DoctorReport:
    """Check a setup read-only and return a :class:`DoctorReport` (never raises on a bad setup).

    With ``client``, check that client (its endpoint, credentials, clock). Without, resolve the
    connection like :meth:`wsnb.Client.from_env`: ``endpoint``/``region`` or ``WSNB_ENDPOINT``/
    ``WSNB_REGION``, ``credentials`` or :meth:`Credentials.from_env`, ``project_id`` or the
    credentials'. ``timeout`` bounds each network check.
    """
    rows = _Rows()
    try:
        return _doctor(rows, client, endpoint, region, project_id, credentials, timeout)
    except Exception as error:  # never raise: an odd setup (or a bug) becomes a row too
        creds = client.credentials if client is not None else credentials
        known = [creds.ak, creds.sk, creds.security_token, creds.token] if creds else []
        text = redact(f"{type(error).__name__}: {error}", [v for v in known if v])
        rows.add("doctor", "fail", text, "check the endpoint URL; if it looks right, report a bug")
        return DoctorReport(tuple(rows.rows))


def _doctor(
    rows: _Rows,
    client: Client | None,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    credentials: Credentials | None,
    timeout: float,
) -> DoctorReport:
    owned = client is None
    if client is None:
        creds = _credentials(rows, credentials)
        url, source = _resolve_endpoint(rows, endpoint, region)
        if creds is not None:
            _describe_credentials(rows, creds, project_id or creds.project_id)
        if url is not None:
            _describe_endpoint(rows, url, source, _proxy_for(url))
        if creds is None or url is None or "credentials" in rows.failed:
            return _finish_early(rows, "the connection could not be set up")
        try:
            client = Client(
                endpoint=url, project_id=project_id or creds.project_id, credentials=creds
            )
        except (ValueError, TypeError) as error:
            rows.add("client", "fail", str(error), "see the message")
            return _finish_early(rows, "the client could not be built")
    else:
        _describe_credentials(rows, client.credentials, client.project_id)
        _describe_endpoint(rows, client.endpoint, "the client", _proxy_for(client.endpoint))
    try:
        _check_connection(rows, client, timeout)
    finally:
        if owned:
            client.close()
    return DoctorReport(tuple(rows.rows))


def _check_connection(rows: _Rows, client: Client, timeout: float) -> None:
    proxy = _proxy_for(client.endpoint)
    host, port = _host_port(client.endpoint)
    what = "endpoint"
    if proxy:
        host, port = _host_port(proxy)
        what = "proxy"
    if not _dns(rows, host, port, timeout, what):
        for name in ("tcp", "tls", "signed call", "clock"):
            rows.skip(name, f"the {what}'s name does not resolve")
        _throttle(rows, client)
        return
    if not _tcp(rows, host, port, timeout, what):
        for name in ("tls", "signed call", "clock"):
            rows.skip(name, f"the {what} is unreachable")
        _throttle(rows, client)
        return
    if urlsplit(client.endpoint).scheme != "https":
        rows.skip("tls", "plain http endpoint")
    elif proxy:
        rows.skip("tls", "tunnelled through the proxy (the signed call checks it)")
    elif not _tls(rows, host, port, timeout):
        for name in ("signed call", "clock"):
            rows.skip(name, "the TLS handshake failed")
        _throttle(rows, client)
        return
    _signed_call(rows, client)
    _clock(rows, client)
    _throttle(rows, client)


def _finish_early(rows: _Rows, why: str) -> DoctorReport:
    names = ("credentials", "endpoint", "dns", "tcp", "tls", "signed call", "clock", "throttle")
    done = {row.name for row in rows.rows}
    for name in names:
        if name not in done:
            rows.skip(name, why)
    order = {name: index for index, name in enumerate(names)}
    return DoctorReport(tuple(sorted(rows.rows, key=lambda row: order.get(row.name, 99))))
