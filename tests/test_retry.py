"""wsnb._retry: token buckets, backoff, and which failures are retried (fake clocks, no waiting)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import traceback
from collections.abc import Callable
from typing import Any

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
    step = 60 / (60 - 3 - 1)  # the quota less the burst and one call of margin, per minute
    waits = [limit.reserve("get_task") for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, step, 2 * step, 3 * step])
    clock.now += 60  # a minute later the bucket is full again, but never above the burst
    assert [limit.reserve("list_tasks") for _ in range(4)] == pytest.approx([0, 0, 0, step])


def test_sleeping_the_waits_paces_calls_at_the_rate() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=120, burst=1, clock=clock)
    for _ in range(11):
        clock.sleep(limit.reserve("get_task"))
    step = 60 / 118
    assert clock.now == pytest.approx(10 * step)  # 10 paced calls after the first
    assert clock.sleeps[1:] == pytest.approx([step] * 10)


def test_reads_and_writes_have_separate_buckets() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=60, writes_per_minute=6, burst=1, clock=clock)
    assert limit.reserve("list_tasks") == 0
    assert limit.reserve("get_task") == pytest.approx(60 / 58)
    assert limit.reserve("batch_delete") == 0  # writes untouched by reads
    assert limit.reserve("delete_task") == pytest.approx(60 / 4)  # 6 - 1 burst - 1 margin
    assert limit.reserve("future_executions") == pytest.approx(2 * 60 / 58)  # a POST, but a read


def test_none_disables_a_class_and_an_explicit_burst_paces() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=None, writes_per_minute=100, burst=2, clock=clock)
    assert [limit.reserve("list_tasks") for _ in range(1000)] == [0.0] * 1000
    assert limit.burst_of("list_tasks") is None and limit.per_minute("get_task") is None
    assert limit.pace("get_task", 1000) == 0.0
    writes = [limit.reserve("create_task") for _ in range(4)]
    assert writes[:2] == [0.0] * 2
    assert writes[2:] == pytest.approx([60 / 97, 2 * 60 / 97])  # 100 - 2 burst - 1 margin
    assert RateLimit.kind("future_executions") == "read"
    assert RateLimit.kind("export_records") == "write"


def test_by_default_a_whole_window_goes_at_once_then_the_next_window() -> None:
    """The server counts a sliding window: the quota less one call of margin may go at once;
    the next call waits until the first one's *answer* is a window old."""
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, writes_per_minute=100, clock=clock)
    assert limit.burst_of("get_task") == 199.0 and limit.burst_of("batch_delete") == 99.0
    counted = _simulate(limit, clock, [(0.0, "get_task")] * 400, lambda i: (0.0, 0.1))
    times = counted["get_task"]
    assert times[:199] == [0.0] * 199
    assert times[199:398] == pytest.approx([60.1] * 199)  # the first answers came at 0.1
    assert times[398:] == pytest.approx([120.2] * 2)
    assert limit.pace("list_tasks", 199) == 0.0
    assert limit.pace("list_tasks", 200) == pytest.approx(60.0)
    assert limit.pace("list_tasks", 400) == pytest.approx(120.0)
    assert limit.admit("batch_delete").wait == 0.0  # writes have their own window


def test_queueing_at_the_server_cannot_squeeze_two_windows_into_one() -> None:
    """The last calls of a window wait in the server's queue (counted up to 2 s after they
    were sent); the next window's first calls go as those answers come, not a window after
    they were sent, so the server never counts 200 in a minute."""
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, clock=clock)
    counted = _simulate(limit, clock, [(0.0, "get_task")] * 600, lambda i: (0.01 * (i % 200), 0.05))
    assert _busiest_window(counted["get_task"], 60.0) <= 199


def test_a_call_that_fails_before_sending_leaves_the_window() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=3, clock=clock)  # two calls a window
    first, second = limit.admit("get_task"), limit.admit("get_task")
    assert first.wait == second.wait == 0.0 and limit.admit("get_task").wait > 0
    limit.answered("get_task", first.ticket)
    clock.now = 60.0
    assert limit.admit("get_task").wait == 0.0  # the first left a window after its answer
    assert limit.admit("get_task").wait > 0  # the second is still in flight


def test_a_throttled_answer_turns_the_window_into_a_paced_bucket() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, clock=clock)
    ticket = limit.acquire("get_task")
    assert ticket.wait == 0.0 and limit.burst_of("get_task") == 199.0
    limit.throttled("get_task", ticket.generation)
    top = (200 - 5 - 1) / 60  # burst 5 (a fortieth), one call of margin
    assert limit.per_second("get_task") == pytest.approx(top / 2)
    assert limit.burst_of("get_task") == 5.0
    waits = [limit.reserve("get_task") for _ in range(3)]  # no burst right after a 429
    assert waits == pytest.approx([1 / (top / 2), 2 / (top / 2), 3 / (top / 2)])
    assert limit.pace("get_task", 11) == pytest.approx(6 / (top / 2))


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
    # every reservation got its own slot: 0, 1, 2, ... 399 intervals exactly once
    assert sorted(waits) == pytest.approx([i * 60 / 598 for i in range(400)])


@pytest.mark.parametrize(
    "kwargs",
    [{"reads_per_minute": 0}, {"writes_per_minute": -1}, {"burst": 0}, {"window": 0}],
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
    assert policy.delay(2, ServerError("x", status=503), lambda: 1.0) == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial": -1},
        {"max_backoff": -1},
        {"deadline": -5},
        {"throttle_wait": -1},
    ],
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


# --- the quota: a strict sliding window ---------------------------------------------------------


def _simulate(
    limit: RateLimit,
    clock: FakeClock,
    arrivals: list[tuple[float, str]],
    delay: Callable[[int], tuple[float, float]],
    on_answer: Callable[[str, Any], None] | None = None,
) -> dict[str, list[float]]:
    """Callers arriving at ``arrivals`` (time, operation): each takes a token and sleeps its
    wait, asks the window (sleeping and asking again until it may go) and sends; the server
    counts call ``i`` ``delay(i)[0]`` after it was sent and answers ``delay(i)[1]`` later,
    when the caller reports it. Returns the times the server counted each call, per operation
    (events run in time order on the fake clock)."""
    events: list[tuple[float, int, Callable[[], None]]] = []
    order = itertools.count()
    counted: dict[str, list[float]] = {}

    def at(when: float, action: Callable[[], None]) -> None:
        heapq.heappush(events, (when, next(order), action))

    def arrive(operation: str, i: int) -> None:
        ticket = limit.acquire(operation)
        at(clock.now + ticket.wait, lambda: ask(operation, i, ticket.generation))

    def ask(operation: str, i: int, generation: int) -> None:
        admission = limit.admit(operation)
        if admission.wait > 0:
            at(clock.now + admission.wait, lambda: ask(operation, i, generation))
            return
        queue, answer = delay(i)
        counted.setdefault(operation, []).append(clock.now + queue)

        def done() -> None:
            limit.answered(operation, admission.ticket)
            if on_answer is not None:
                on_answer(operation, generation)

        at(clock.now + queue + answer, done)

    for i, (when, operation) in enumerate(arrivals):
        at(when, lambda operation=operation, i=i: arrive(operation, i))  # type: ignore[misc]
    while events:
        clock.now, _, action = heapq.heappop(events)
        action()
    return counted


def _busiest_window(times: list[float], window: float) -> int:
    """The most calls any half-open window (t - window, t] holds (how the server counts)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(("quota", "burst"), [(200, None), (100, None), (60, 3), (5, None)])
def test_never_more_than_the_quota_into_a_sliding_window(quota: int, burst: int | None) -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=quota, writes_per_minute=quota, burst=burst, clock=clock)
    arrivals = [(0.0, op) for op in ("list_tasks", "batch_delete") for _ in range(5 * quota)]
    counted = _simulate(limit, clock, arrivals, lambda i: (0.05, 0.05))
    for operation in ("list_tasks", "batch_delete"):
        assert _busiest_window(counted[operation], 60.0) <= quota
        # and it is not slower than it must be: the quota less the burst and one call of margin
        assert _busiest_window(counted[operation], 60.0) >= quota - (burst or 0) - 1


def test_window_is_settable_for_time_scaled_servers() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, writes_per_minute=100, window=0.6, clock=clock)
    counted = _simulate(limit, clock, [(0.0, "get_task")] * 1000, lambda i: (0.0, 0.001))
    assert _busiest_window(counted["get_task"], 0.6) <= 199
    assert counted["get_task"][-1] == pytest.approx(1000 // 199 * 0.601)
    paced = RateLimit(reads_per_minute=200, burst=5, window=0.6, clock=clock)
    assert paced.per_second("get_task") == pytest.approx((200 - 5 - 1) / 0.6)


# --- AIMD: slow down on 429, creep back up after successes --------------------------------------


def _rate(limit: RateLimit, operation: str) -> float:
    rate = limit.per_minute(operation)
    assert rate is not None
    return rate


def _top(limit: RateLimit, operation: str) -> float:
    rate = limit.per_minute_max(operation)
    assert rate is not None
    return rate


def test_throttled_answer_halves_the_rate_and_drains_the_burst() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, clock=clock)
    full = _rate(limit, "list_tasks")
    ticket = limit.acquire("list_tasks")
    assert ticket.wait == 0.0
    limit.throttled("list_tasks", ticket.generation)
    assert _rate(limit, "list_tasks") == pytest.approx(full / 2)
    assert _rate(limit, "create_task") == _rate(limit, "create_task")  # writes untouched
    wait = limit.reserve("get_task")  # no burst left: the next call waits a full interval
    assert wait == pytest.approx(60 / (full / 2))


def test_one_throttle_episode_cuts_the_rate_once() -> None:
    """Calls in flight when the first 429 arrives hit 429 too; they were sent at the old rate,
    so they do not cut it again (no collapse to the floor)."""
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, clock=clock)
    full = _rate(limit, "get_task")
    tickets = [limit.acquire("get_task") for _ in range(8)]
    for ticket in tickets:
        limit.throttled("get_task", ticket.generation)
    assert _rate(limit, "get_task") == pytest.approx(full / 2)
    limit.throttled("get_task", limit.acquire("get_task").generation)  # a new episode
    assert _rate(limit, "get_task") == pytest.approx(full / 4)


def test_successes_raise_the_rate_again_but_never_above_the_quota() -> None:
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=200, clock=clock)
    full = _rate(limit, "get_task")
    limit.throttled("get_task", None)
    rates = []
    for _ in range(400):
        limit.succeeded("get_task")
        rates.append(_rate(limit, "get_task"))
    assert rates[0] == pytest.approx(full / 2)  # one success is not yet a run
    assert rates == sorted(rates)  # additive increase: only up
    assert max(rates) == pytest.approx(full)  # back to the top, and no further
    assert full + (limit.burst_of("get_task") or 0.0) <= 200


def test_repeated_throttling_stops_at_a_floor() -> None:
    limit = RateLimit(reads_per_minute=200, clock=FakeClock())
    for _ in range(50):
        limit.throttled("get_task", None)
    assert _rate(limit, "get_task") == pytest.approx(_top(limit, "get_task") / 16)


def test_adaptive_false_keeps_the_rate() -> None:
    limit = RateLimit(reads_per_minute=200, adaptive=False, clock=FakeClock())
    full = _rate(limit, "get_task")
    limit.throttled("get_task", None)
    assert _rate(limit, "get_task") == full


def test_throttle_without_retry_after_waits_two_to_five_seconds() -> None:
    policy = RetryPolicy()
    plain = ThrottledError("x", status=429)
    assert policy.delay(1, plain, lambda: 0.0) == 2.0
    assert policy.delay(1, plain, lambda: 1.0) == 5.0
    assert all(2.0 <= policy.delay(n, plain) <= 5.0 for n in range(1, 7))
    scaled = RetryPolicy(throttle_wait=0.02)  # a time-scaled emulator scales it too
    assert 0.02 <= scaled.delay(1, plain) <= 0.05
    assert policy.delay(1, ServerError("x", status=503), lambda: 1.0) == 0.5  # backoff as before


@pytest.mark.parametrize("seed", range(5))
def test_never_more_than_the_quota_in_any_window_whatever_happens(seed: int) -> None:
    """Callers arriving at random moments, answers queued at random, some throttled
    (switching to pacing, cutting the rate), runs of successes (raising it again): the server
    never counts more than the quota in a window."""
    import random as random_

    rng = random_.Random(seed)
    clock = FakeClock()
    limit = RateLimit(reads_per_minute=50, writes_per_minute=20, window=6.0, clock=clock)
    arrivals, now = [], 0.0
    for _ in range(600):
        now += rng.expovariate(20.0)
        arrivals.append((now, rng.choice(["get_task", "batch_delete"])))

    def answer(operation: str, generation: int) -> None:
        if rng.random() < 0.02:
            limit.throttled(operation, generation)
        else:
            limit.succeeded(operation)

    counted = _simulate(
        limit, clock, arrivals, lambda i: (rng.uniform(0, 2.0), rng.uniform(0, 0.5)), answer
    )
    assert _busiest_window(counted["get_task"], 6.0) <= 50
    assert _busiest_window(counted["batch_delete"], 6.0) <= 20
