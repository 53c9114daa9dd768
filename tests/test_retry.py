"""wsnb._retry: token buckets, backoff, and which failures are retried (fake clocks, no waiting)."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import Callable

import httpx
import pytest

from wsnb._retry import (
    RETRY_SAFE_OPERATIONS,
    RateLimit,
    RetryPolicy,
    async_retrying,
    is_retryable,
    retrying,
    settle_parse_error,
    settle_response_error,
    transport_error,
)
from wsnb.errors import (
    BadRequestError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    WorkspaceError,
)
from wsnb.models import READ_OPERATIONS, WRITE_OPERATIONS

AMBIGUOUS_WRITES = ["create_task", "delete_task", "batch_delete", "export_records"]
ALL_OPERATIONS = sorted(READ_OPERATIONS | WRITE_OPERATIONS)


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

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


# --- RateLimit ----------------------------------------------------------------------------------


def test_bucket_hands_out_waits_after_the_burst() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=60, writes_per_minute=30, burst=3, clock=clock)
    waits = [limit.reserve("get_task") for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 1, 2, 3])  # 1 token/s after three free ones
    clock.now += 60  # a minute later the bucket is full again, but never above the burst
    assert [limit.reserve("list_tasks") for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_sleeping_the_waits_paces_calls_at_the_rate() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=120, burst=1, clock=clock)
    for _ in range(11):
        clock.sleep(limit.reserve("get_task"))
    assert clock.now == pytest.approx(5.0)  # 10 paced calls at 2/s after the first
    assert clock.sleeps[1:] == pytest.approx([0.5] * 10)


def test_reads_and_writes_have_separate_buckets() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=60, writes_per_minute=6, burst=1, clock=clock)
    assert limit.reserve("list_tasks") == 0
    assert limit.reserve("get_task") == pytest.approx(1.0)
    assert limit.reserve("batch_delete") == 0  # writes untouched by reads
    assert limit.reserve("delete_task") == pytest.approx(10.0)
    assert limit.reserve("future_executions") == pytest.approx(2.0)  # a POST, but a read


def test_none_disables_a_class_and_default_burst_is_three_seconds() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=None, writes_per_minute=100, clock=clock)
    assert [limit.reserve("list_tasks") for _ in range(1000)] == [0.0] * 1000
    writes = [limit.reserve("create_task") for _ in range(6)]
    assert writes[:5] == [0.0] * 5 and writes[5] == pytest.approx(0.6)
    reads = RateLimit(clock=clock)
    assert [reads.reserve("get_task") for _ in range(11)][9:] == pytest.approx([0.0, 0.3])
    assert RateLimit.kind("future_executions") == "read"
    assert RateLimit.kind("export_records") == "write"


def test_bucket_is_thread_safe() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=600, burst=1, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [limit.reserve("get_task") for _ in range(50)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # every reservation got its own slot: 0, 0.1, 0.2, ... 39.9 exactly once
    assert sorted(waits) == pytest.approx([i / 10 for i in range(400)])


@pytest.mark.parametrize(
    "kwargs",
    [{"reads_per_minute": 0}, {"writes_per_minute": -1}, {"burst": 0}],
)
def test_rate_limit_rejects_bad_values(kwargs: dict[str, float]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        RateLimit(**kwargs)  # type: ignore[arg-type]


# --- RetryPolicy --------------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(initial=0.5, max_backoff=30.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 9)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert [policy.backoff(n, lambda: 0.0) for n in range(1, 9)] == [0.0] * 8
    assert policy.backoff(4, lambda: 0.25) == 1.0
    assert all(0 <= policy.backoff(3) <= 2.0 for _ in range(200))


def test_delay_prefers_retry_after() -> None:
    policy = RetryPolicy()
    throttled = ThrottledError("x", status=429, retry_after=45.0)
    assert policy.delay(1, throttled, lambda: 1.0) == 45.0
    assert policy.delay(2, ThrottledError("x", status=429), lambda: 1.0) == 1.0


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"initial": -1}, {"max_backoff": -1}, {"deadline": -5}]
)
def test_policy_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- classification -----------------------------------------------------------------------------


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://workspace.cn-north-4.myhuaweicloud.com/v2/p/x")


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_not_processed_failures_are_retried_for_every_operation(operation: str) -> None:
    assert is_retryable(operation, ThrottledError("x", status=429))
    connect = transport_error(operation, httpx.ConnectError("refused"), _request())
    assert isinstance(connect, TransportError) and not connect.sent
    assert is_retryable(operation, connect)
    pool = transport_error(operation, httpx.PoolTimeout("pool"), _request())
    assert is_retryable(operation, pool)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("reset"),
    ],
)
@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_ambiguous_transport_failures(operation: str, exc: httpx.TransportError) -> None:
    error = transport_error(operation, exc, _request())
    if operation in RETRY_SAFE_OPERATIONS:
        assert type(error) is TransportError and error.sent
        assert is_retryable(operation, error)
    else:
        assert operation in AMBIGUOUS_WRITES
        assert isinstance(error, OutcomeUnknownError)
        assert isinstance(error.cause, TransportError) and error.cause.__cause__ is exc
        assert not is_retryable(operation, error)
        assert error.operation == operation and error.method == "POST"


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_gateway_errors_retry_reads_and_updates_only(operation: str, status: int) -> None:
    server = ServerError("x", status=status, error_code=str(status), operation=operation)
    settled = settle_response_error(operation, server)
    if operation in RETRY_SAFE_OPERATIONS:
        assert settled is server
        assert is_retryable(operation, settled)
    else:
        assert isinstance(settled, OutcomeUnknownError)
        assert settled.cause is server and settled.status == status
        assert not is_retryable(operation, settled)


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_final_errors_are_not_retried(operation: str) -> None:
    for error in (
        ServerError("x", status=500),
        BadRequestError("x", status=400),
        WorkspaceError("x", status=413),
    ):
        assert settle_response_error(operation, error) is error
        assert not is_retryable(operation, error)
    assert not is_retryable(operation, ValueError("not ours"))


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_unreadable_success_answers(operation: str) -> None:
    for transient in (True, False):
        error = UnexpectedResponseError("unexpected response: x", transient=transient, status=200)
        settled = settle_parse_error(operation, error)
        if operation in READ_OPERATIONS:
            assert settled is error
            assert is_retryable(operation, settled) == transient
        else:  # a write that answered 2xx unreadably may have happened: ask the server
            assert isinstance(settled, OutcomeUnknownError) and settled.cause is error
            assert "check the server" in str(settled) and settled.status == 200
            assert not is_retryable(operation, settled)


SECRET_AK = "AKSECRETVALUE0000001"
SECRET_SK = "sk-secret-value-000000000000000000000000"


def _signed_request() -> httpx.Request:
    auth = f"SDK-HMAC-SHA256 Access={SECRET_AK}\r, SignedHeaders=host, Signature=0badc0ffee1234"
    return httpx.Request("GET", "https://example.test/v2/p/x", headers={"Authorization": auth})


@pytest.mark.parametrize("operation", ["get_task", "batch_delete"])
def test_transport_error_text_and_chain_are_redacted(operation: str) -> None:
    request = _signed_request()
    quoted = request.headers["Authorization"].encode()
    try:
        try:
            raise RuntimeError(f"Illegal header value {quoted!r}")
        except RuntimeError as inner:
            raise httpx.LocalProtocolError(f"Illegal header value {quoted!r}") from inner
    except httpx.LocalProtocolError as exc:
        error = transport_error(operation, exc, request, [SECRET_AK, SECRET_SK])
    wrapped = error.cause if isinstance(error, OutcomeUnknownError) else error
    assert isinstance(wrapped, TransportError)
    assert wrapped.__cause__ is None and wrapped.__suppress_context__
    shown = "\n".join([str(error), repr(error), *traceback.format_exception(error)])
    assert "Illegal header value b'<redacted>'" in shown
    for secret in (SECRET_AK, "0badc0ffee1234", "Access=", "Signature="):
        assert secret not in shown


def test_transport_error_without_a_secret_keeps_its_chain() -> None:
    exc = httpx.ReadTimeout("timed out")
    error = transport_error("get_task", exc, _signed_request(), [SECRET_AK, SECRET_SK])
    assert error.__cause__ is exc
    assert str(error).startswith("ReadTimeout: timed out (get_task")


def test_retry_safe_set_is_the_reads_plus_update() -> None:
    assert READ_OPERATIONS | {"update_task"} == RETRY_SAFE_OPERATIONS
    assert set(AMBIGUOUS_WRITES) == WRITE_OPERATIONS - {"update_task"}


# --- the tenacity loops -------------------------------------------------------------------------


def flaky(errors: list[BaseException], result: str = "ok") -> Callable[[], str]:
    """A callable that raises the given errors in turn, then returns ``result``."""
    pending = list(errors)
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return result

    call.calls = calls  # type: ignore[attr-defined]
    return call


def run_sync(policy: RetryPolicy, operation: str, fn: Callable[[], str], clock: FakeClock) -> str:
    retried: list[tuple[str, float, int]] = []
    for attempt in retrying(
        policy,
        operation,
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 1.0,
        on_retry=lambda e, w, n: retried.append((type(e).__name__, w, n)),
    ):
        with attempt:
            value = fn()
    fn.retried = retried  # type: ignore[attr-defined]
    return value


def run_async(policy: RetryPolicy, operation: str, fn: Callable[[], str], clock: FakeClock) -> str:
    async def main() -> str:
        async for attempt in async_retrying(
            policy, operation, sleep=clock.asleep, clock=clock, rand=lambda: 1.0
        ):
            with attempt:
                value = fn()
        return value

    return asyncio.run(main())


RUNNERS = [run_sync, run_async]


@pytest.mark.parametrize("run", RUNNERS)
def test_retry_after_is_honoured_then_success(run: Callable[..., str]) -> None:
    clock = FakeClock()
    fn = flaky([ThrottledError("x", status=429, retry_after=2.0)] * 2)
    assert run(RetryPolicy(), "batch_delete", fn, clock) == "ok"
    assert clock.sleeps == [2.0, 2.0]
    assert len(fn.calls) == 3  # type: ignore[attr-defined]


def test_on_retry_reports_error_wait_and_next_attempt() -> None:
    clock = FakeClock()
    fn = flaky([ServerError("x", status=503), ServerError("x", status=503)])
    run_sync(RetryPolicy(initial=0.5), "get_task", fn, clock)
    assert fn.retried == [("ServerError", 0.5, 2), ("ServerError", 1.0, 3)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("run", RUNNERS)
def test_gives_up_after_max_attempts_with_the_last_error(run: Callable[..., str]) -> None:
    clock = FakeClock()
    fn = flaky([ServerError("x", status=503)] * 10)
    with pytest.raises(ServerError):
        run(RetryPolicy(max_attempts=4, initial=1.0), "list_tasks", fn, clock)
    assert len(fn.calls) == 4  # type: ignore[attr-defined]
    assert clock.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("run", RUNNERS)
def test_retry_after_beyond_the_deadline_raises_at_once(run: Callable[..., str]) -> None:
    clock = FakeClock()
    fn = flaky([ThrottledError("x", status=429, retry_after=500.0)])
    with pytest.raises(ThrottledError):
        run(RetryPolicy(deadline=120.0), "get_task", fn, clock)
    assert clock.sleeps == []
    assert len(fn.calls) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("run", RUNNERS)
def test_deadline_bounds_the_total_time(run: Callable[..., str]) -> None:
    clock = FakeClock()
    fn = flaky([ThrottledError("x", status=429, retry_after=25.0)] * 20)
    with pytest.raises(ThrottledError):
        run(RetryPolicy(max_attempts=50, deadline=120.0), "list_tasks", fn, clock)
    assert clock.sleeps == [25.0] * 4  # a fifth wait would end at 125 s
    assert clock.now <= 120.0


@pytest.mark.parametrize("run", RUNNERS)
def test_ambiguous_write_is_raised_without_retry(run: Callable[..., str]) -> None:
    clock = FakeClock()
    outcome = OutcomeUnknownError("x", cause=TransportError("ReadTimeout"))
    fn = flaky([outcome])
    with pytest.raises(OutcomeUnknownError) as info:
        run(RetryPolicy(), "batch_delete", fn, clock)
    assert info.value is outcome
    assert clock.sleeps == [] and len(fn.calls) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("run", RUNNERS)
def test_connect_error_on_a_write_is_retried(run: Callable[..., str]) -> None:
    clock = FakeClock()
    error = transport_error("batch_delete", httpx.ConnectError("refused"), _request())
    fn = flaky([error])
    assert run(RetryPolicy(initial=0.5), "batch_delete", fn, clock) == "ok"
    assert clock.sleeps == [0.5]
