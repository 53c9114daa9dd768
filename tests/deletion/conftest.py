"""Shared fixtures and helpers of the deleter's tests (tests/deletion/)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wsnb._retry import RetryPolicy
from wsnb.emulator import Emulator
from wsnb.ledger import Ledger

# throttle_wait: the time-scaled emulator's "minutes" last well under a second, so the 2-5 s
# wait after a 429 without Retry-After is scaled down with them
FAST_RETRY = RetryPolicy(
    max_attempts=8, initial=0.01, max_backoff=0.2, deadline=30.0, throttle_wait=0.01
)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def _client(emu: Emulator, **kw: Any) -> Any:
    kw.setdefault("rate_limit", None)
    kw.setdefault("retry", FAST_RETRY)
    return emu.client(**kw)


def _deleted_in_log(emu: Emulator, since: int = 0) -> Counter[str]:
    """How many batch-delete requests named each id."""
    counts: Counter[str] = Counter()
    for entry in emu.control.requests(since):
        if entry["operation"] == "batch_delete":
            counts.update(entry["task_ids"] or [])
    return counts


def _writes(emu: Emulator) -> list[dict[str, Any]]:
    ops = {"create_task", "update_task", "delete_task", "batch_delete", "export_records"}
    return [e for e in emu.control.requests() if e["operation"] in ops]


# --- in-test transports: per-call behaviour the emulator's fault rules cannot express ----------


def _operation(request: httpx.Request) -> str:
    """The operation a request is (only the ones these transports care about)."""
    path = request.url.path.rstrip("/")
    if request.method == "POST" and path.endswith("/scheduled-tasks/batch-delete"):
        return "batch_delete"
    if request.method == "GET" and path.endswith("/scheduled-tasks"):
        return "list_tasks"
    return "other"


def _ids_of(request: httpx.Request) -> list[str]:
    return list(json.loads(request.read() or b"{}").get("task_ids", []))


class Forward(httpx.BaseTransport):
    """Forwards every request to the real emulator over a socket; subclasses intercept some."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.batch_deletes = 0  # batch-delete requests seen (answered or not)

    def forward(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self.inner.handle_request(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _operation(request) == "batch_delete":
            with self.lock:
                self.batch_deletes += 1
        return self.forward(request)

    def close(self) -> None:
        self.inner.close()


def _error(status: int, code: str, msg: str, **extra: Any) -> httpx.Response:
    body = {"error_code": code, "error_msg": msg, **extra}
    return httpx.Response(status, json=body, headers={"X-Request-Id": f"t-{uuid.uuid4().hex}"})


class LateCommit(Forward):
    """The first batch-delete times out on the client before the server saw it; the server gets
    it (and commits it) only just before the next batch-delete: a commit after the client's
    existence check, which is what a slow server does to a timed-out call."""

    def __init__(self) -> None:
        super().__init__()
        self.held: httpx.Request | None = None
        self.done = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _operation(request) == "batch_delete":
            with self.lock:
                self.batch_deletes += 1
                if not self.done:
                    self.done = True
                    request.read()
                    self.held = request
                    raise httpx.ReadTimeout("timed out (held for a late commit)", request=request)
                held, self.held = self.held, None
            if held is not None:  # the late commit lands first
                late = self.forward(held)
                late.read()
                late.close()
        return self.forward(request)


class Deny(Forward):
    """Per-id IAM: a batch-delete naming any of ``denied`` is refused with 403 and an
    ``encoded_authorization_message`` (``denied=None``: every batch-delete, as for a user
    without the permission at all)."""

    ENCODED = "enc-" + "A1b2" * 40

    def __init__(self, denied: set[str] | None) -> None:
        super().__init__()
        self.denied = denied

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _operation(request) == "batch_delete":
            with self.lock:
                self.batch_deletes += 1
            if self.denied is None or set(_ids_of(request)) & self.denied:
                return _error(
                    403,
                    "APIG.0302",
                    "The IAM user is not authorized to perform this action on the resource.",
                    encoded_authorization_message=self.ENCODED,
                )
        return self.forward(request)


class ExpireAfter(Forward):
    """The token expires after ``n`` batch-deletes went through: every later request gets 401."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            if _operation(request) == "batch_delete":
                self.batch_deletes += 1
            expired = self.batch_deletes > self.n
        if expired:
            return _error(401, "APIG.0301", "Incorrect IAM authentication information: expired.")
        return self.forward(request)


class ZeroTotal(Forward):
    """List answers claim ``total_count: 0`` whatever they hold (a server whose count is off);
    with ``pretend_deletes`` batch-deletes are answered 200 and never reach the server."""

    def __init__(self, *, pretend_deletes: bool = False) -> None:
        super().__init__()
        self.pretend_deletes = pretend_deletes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.pretend_deletes and _operation(request) == "batch_delete":
            return httpx.Response(200, headers={"X-Request-Id": "t-pretend"})
        response = self.forward(request)
        if _operation(request) != "list_tasks" or response.status_code != 200:
            return response
        data = json.loads(response.read())
        response.close()
        data["total_count"] = 0
        return httpx.Response(200, json=data, headers={"X-Request-Id": "t-zero-total"})


class Garbage2xx(Forward):
    """Batch-deletes reach the server (and commit), but the answer is 200 with a body that is
    not JSON (a proxy rewriting it, a truncated answer)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.forward(request)
        if _operation(request) != "batch_delete" or response.status_code != 200:
            return response
        response.read()
        response.close()
        return httpx.Response(200, content=b"<html><body>OK</body", headers={"X-Request-Id": "t-g"})
