"""Client-side rate limiting and the retry policy (tenacity underneath, sync and async alike).

Rate limiting: :class:`RateLimit` keeps one limiter for reads and one for writes (the API's
documented per-user limits are about 200 reads and 100 writes a minute, counted in a sliding
minute: "limit:N,time:1 minute"). By default a limiter lets the quota less one call of margin
go in any window, as the server counts (the whole window at once, then the next window), so a
job needs no more windows than the quota forces and never collects a 429 on its own: the window
is checked as a call is about to go, against the answers of earlier calls (the server counted
each one before answering it, however long it queued). On a
throttled answer (someone else shares the quota) it switches to a paced token bucket whose
burst + rate x window stays below the quota, halves that rate and creeps back up after runs of
successes (AIMD). An explicit ``burst`` asks for the paced bucket from the start. A limiter does
not sleep; it hands out "wait this long", so the same object serves ``time.sleep`` and
``asyncio.sleep`` callers, threads and tasks at once.

Retrying: :class:`RetryPolicy` says how often and how long (exponential backoff with full jitter;
``Retry-After`` given as seconds or an HTTP date is honoured; a throttled answer without it
waits 2-5 s; never past the deadline). Which failures are retried depends on whether the
server may have acted on the request:

* Throttling (HTTP 429 or ``APIG.0308``/``APIGW.0308``) and connect errors: the request was not
  processed, so every operation is retried.
* Read timeouts, dropped connections (remote-protocol and read/write errors) and 502/503/504: the
  request may have been processed. Reads and ``update_task`` (a PUT of the same body is
  idempotent) are retried. ``create_task`` (a retry could create a twin), ``delete_task`` and
  ``batch_delete`` (a retry after a silent success can fail with "does not exist" or hide which
  call did the work) and ``export_records`` (starts a job) raise :class:`OutcomeUnknownError`
  with the failure attached instead: the caller (the deleter) asks the server what happened
  rather than guessing.
* A success status with an empty or non-JSON body where JSON was expected
  (:class:`UnexpectedResponseError` with ``transient``): a read is retried (a proxy hiccup or a
  truncated answer; a read is harmless to repeat); for a write the client raises
  :class:`OutcomeUnknownError` instead (:func:`settle_parse_error`) — except the deletes, whose
  success needs no body. JSON of the wrong shape is final.
* Any other error (other 4xx, 500) is final.

Transport failures are wrapped in :func:`transport_error`, the one place an httpx exception
becomes a wsnb error: its text is scrubbed of the secrets (see :mod:`wsnb._redact`) and, when
the original exception chain would print one, the chain is cut so a traceback cannot either.

Every retry is a new request, so authentication signs it anew with a fresh ``X-Sdk-Date``.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import httpx
import tenacity

from wsnb._redact import chain_leaks, redact
from wsnb.errors import (
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    WorkspaceError,
)
from wsnb.models import (
    DEFAULT_READS_PER_MINUTE,
    DEFAULT_WRITES_PER_MINUTE,
    READ_OPERATIONS,
)

__all__ = [
    "RETRY_SAFE_OPERATIONS",
    "Admission",
    "RateLimit",
    "Reservation",
    "RetryPolicy",
    "async_retrying",
    "is_retryable",
    "retrying",
    "settle_parse_error",
    "settle_response_error",
    "transport_error",
]

_log = logging.getLogger("wsnb.client")

#: Operations that may be repeated after an ambiguous failure: the reads and ``update_task``.
RETRY_SAFE_OPERATIONS: Final = READ_OPERATIONS | frozenset({"update_task"})
#: Gateway statuses after which the request may or may not have been processed.
AMBIGUOUS_STATUSES: Final = frozenset({502, 503, 504})


class Reservation(NamedTuple):
    """A token taken from a bucket: how long to wait before sending, and the bucket's
    generation (how many rate cuts it had seen) when the token was taken."""

    wait: float
    generation: int


class Admission(NamedTuple):
    """The window's answer when a call is about to go: ``wait`` 0 and a ``ticket`` to hand to
    :meth:`RateLimit.answered` (go now), or the seconds to wait before asking again."""

    wait: float
    ticket: object | None = None


#: Multiplicative decrease on a throttled answer, and the floor as a fraction of the top rate.
DECREASE: Final = 0.5
FLOOR: Final = 1 / 16
#: Additive increase: after this many answers in a row that were not throttled, the rate grows
#: by ``INCREASE`` times the top rate (from half to full in about 50 calls).
INCREASE_AFTER: Final = 10
INCREASE: Final = 0.1


class _Sent:
    """A call the window counts: when it was sent, and when its answer was read (``None``
    while in flight). The server counted it somewhere in between."""

    __slots__ = ("done", "sent")

    def __init__(self, sent: float) -> None:
        self.sent = sent
        self.done: float | None = None


class _Bucket:
    """One class's limiter (reads or writes): how long a caller must wait before sending.

    Two constraints. A sliding window (``limit`` calls, ``None``: none) checked when a call is
    about to go (:meth:`admit`): the server counted each earlier call somewhere between its
    sending and its answer, so a call may go at ``t`` only while fewer than ``limit`` earlier
    calls are in flight or were answered after ``t - window`` — whatever the queueing at the
    server, no window it counts then holds more than ``limit``. And, once ``paced``, a token
    bucket of ``capacity`` refilled at ``rate`` calls per second, adapting (AIMD) between a
    floor and ``top``, which :meth:`reserve` books. Until the first throttled answer an unpaced
    limiter lets the whole window's quota go at once."""

    def __init__(
        self,
        top: float,
        burst: float,
        adaptive: bool,
        *,
        limit: int | None = None,
        window: float = 60.0,
    ) -> None:
        self.top = top
        self.rate = top
        self.capacity = burst
        self.tokens = burst
        self.stamp: float | None = None
        self.adaptive = adaptive
        self.generation = 0
        self.streak = 0
        self.limit = limit
        self.window = window
        self.log: deque[_Sent] = deque()
        self.paced = limit is None

    def _refill(self, now: float) -> None:
        if self.stamp is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def reserve(self, now: float) -> Reservation:
        """Book the paced bucket's token (no wait unless paced); the window is checked at
        sending time (:meth:`admit`)."""
        if not self.paced:
            return Reservation(0.0, self.generation)
        self._refill(now)
        self.tokens -= 1.0
        wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        return Reservation(wait, self.generation)

    def admit(self, now: float) -> tuple[float, _Sent | None]:
        """``(0, entry)``: the call may go now (it is counted from now on; hand ``entry`` back
        to :meth:`answered`); else ``(wait, None)``: look again after ``wait`` seconds (the
        earliest moment enough answered calls leave the window, or a short poll while the
        calls that fill it are still in flight)."""
        if self.limit is None:
            return 0.0, None
        log = self.log
        horizon = now - self.window
        while log and log[0].done is not None and log[0].done <= horizon:
            log.popleft()
        if len(log) < self.limit:
            entry = _Sent(now)
            log.append(entry)
            return 0.0, entry
        # the oldest ones must leave; answered ones leave a window after their answer
        leaving = len(log) - self.limit + 1
        done = sorted(e.done for e in log if e.done is not None and e.done > horizon)
        if len(done) >= leaving:
            return max(done[leaving - 1] + self.window - now, 1e-3), None
        return max(self.window / 200, 1e-3), None  # wait for answers still in flight

    def answered(self, entry: _Sent | None, now: float) -> None:
        """The call of ``entry`` has its answer (or failed) at ``now``."""
        if entry is not None and entry.done is None:
            entry.done = now

    def throttled(self, now: float, generation: int | None) -> None:
        """Multiplicative decrease, once per episode: a token taken before the last cut was
        sent at the old rate, so its 429 says nothing new. The first one turns on pacing."""
        if not self.adaptive or (generation is not None and generation != self.generation):
            return
        self._refill(now)
        if not self.paced:
            self.paced = True
            self.rate = self.top
        self.rate = max(self.top * FLOOR, self.rate * DECREASE)
        self.tokens = min(self.tokens, 0.0)  # no burst right after a 429
        self.generation += 1
        self.streak = 0

    def succeeded(self) -> None:
        """Additive increase after a run of answers that were not throttled."""
        if not self.adaptive or self.rate >= self.top:
            return
        self.streak += 1
        if self.streak >= INCREASE_AFTER:
            self.rate = min(self.top, self.rate + self.top * INCREASE)
            self.streak = 0

    def pace(self, calls: int) -> float:
        """Seconds from a quiet start until the last of ``calls`` calls may go (the limiter's
        own floor for them): whole windows for the window, ``(calls - burst) / rate`` paced."""
        if calls <= 0:
            return 0.0
        seconds = 0.0
        if self.paced:
            seconds = max(0.0, calls - self.capacity) / self.rate
        if self.limit is not None:
            seconds = max(seconds, (calls - 1) // self.limit * self.window)
        return seconds


class RateLimit:
    """Thread-safe limiters for reads and writes that keep within a per-window quota and slow
    down when the server throttles; ``None`` for a class disables it.

    ``reads_per_minute`` / ``writes_per_minute`` are the server's quotas: the most calls it
    accepts in any ``window`` seconds (a sliding window; 60 s for the real API, shorter for a
    time-scaled emulator). By default (``burst=None``) a class may send ``quota - 1`` calls
    (one of margin) in any window, as soon as it likes: the whole window at once, as the server
    counts, so a job takes no more windows than its calls need. The window is checked when a
    call is about to go (:meth:`admit`) against the *answers* of earlier calls (the server
    counted each one before answering it), so queueing at the server cannot squeeze two
    windows' calls into one. A token bucket (``burst`` back to back, then ``quota - burst - 1``
    per window) paces the calls as well from the first throttled answer on, or from the start
    when ``burst`` is given. Either way the client never exceeds the quota on its own.

    A caller: ``ticket = acquire(op)``; sleep ``ticket.wait``; then ``admit(op)`` until its wait
    is 0; send; ``answered(op, admission.ticket)`` once the answer is read (or the call failed).

    ``adaptive`` (AIMD): a throttled answer halves the paced rate (at most once per episode,
    never below a sixteenth of the top rate) and drains the burst; every ten answers in a row
    that were not throttled add a tenth of the top rate back, never above it. Someone else using
    the same quota makes the server throttle even a polite client; this finds the share that is
    left instead of retrying into it. Share one instance between clients that use the same
    credentials.
    """

    def __init__(
        self,
        reads_per_minute: float | None = DEFAULT_READS_PER_MINUTE,
        writes_per_minute: float | None = DEFAULT_WRITES_PER_MINUTE,
        burst: int | None = None,
        *,
        window: float = 60.0,
        adaptive: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("reads_per_minute", reads_per_minute),
            ("writes_per_minute", writes_per_minute),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be >= 1 or None, got {burst!r}")
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window!r}")
        self.reads_per_minute = reads_per_minute
        self.writes_per_minute = writes_per_minute
        self.burst = burst
        self.window = window
        self.adaptive = adaptive
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket | None] = {
            "read": self._bucket(reads_per_minute),
            "write": self._bucket(writes_per_minute),
        }

    def _bucket(self, quota: float | None) -> _Bucket | None:
        if quota is None:
            return None
        burst = float(self.burst) if self.burst is not None else max(1.0, quota / 40.0)
        # burst + refill * window <= quota - 1; a tiny quota (or a burst near it) cannot keep
        # that and still move, so the refill never drops below half the quota
        per_window = max(quota - burst - 1.0, quota / 2.0)
        # the window's quota less one call of margin; an explicit burst asks for pacing only
        limit = None if self.burst is not None else max(1, math.floor(quota) - 1)
        return _Bucket(
            per_window / self.window, burst, self.adaptive, limit=limit, window=self.window
        )

    @staticmethod
    def kind(operation: str) -> str:
        """``"read"`` or ``"write"``: the throttle class an operation counts against."""
        return "read" if operation in READ_OPERATIONS else "write"

    def acquire(self, operation: str) -> Reservation:
        """Take a token for one call of ``operation``: the wait before sending, and the
        generation to hand back to :meth:`throttled` if the call is throttled."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is None:
            return Reservation(0.0, 0)
        with self._lock:
            return bucket.reserve(self._clock())

    def reserve(self, operation: str) -> float:
        """Take a token for one call of ``operation``; return the seconds to wait before sending."""
        return self.acquire(operation).wait

    def admit(self, operation: str) -> Admission:
        """Ask the window, just before sending a call of ``operation``: go now (wait 0; the call
        is counted from now, hand ``ticket`` to :meth:`answered`), or wait and ask again."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is None:
            return Admission(0.0)
        with self._lock:
            wait, entry = bucket.admit(self._clock())
        return Admission(wait, entry)

    def answered(self, operation: str, ticket: object | None) -> None:
        """The call admitted with ``ticket`` has its answer, or failed (call exactly once)."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is not None and isinstance(ticket, _Sent):
            with self._lock:
                bucket.answered(ticket, self._clock())

    def throttled(self, operation: str, generation: int | None = None) -> None:
        """The server throttled a call of ``operation`` (taken at ``generation``): slow down."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is not None:
            with self._lock:
                bucket.throttled(self._clock(), generation)

    def succeeded(self, operation: str) -> None:
        """The server answered a call of ``operation`` without throttling it."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is not None and bucket.rate < bucket.top:
            with self._lock:
                bucket.succeeded()

    def per_second(self, operation: str) -> float | None:
        """The current refill rate for ``operation``'s class (calls/s; ``None``: unlimited)."""
        bucket = self._buckets[self.kind(operation)]
        return None if bucket is None else bucket.rate

    def per_minute(self, operation: str) -> float | None:
        """The current refill rate for ``operation``'s class in calls per minute."""
        rate = self.per_second(operation)
        return None if rate is None else rate * 60.0

    def per_minute_max(self, operation: str) -> float | None:
        """The top refill rate (calls per minute): what the quota allows after the burst."""
        bucket = self._buckets[self.kind(operation)]
        return None if bucket is None else bucket.top * 60.0

    def burst_of(self, operation: str) -> float | None:
        """How many calls of ``operation``'s class may go out back to back (a window's worth
        until the class is paced)."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is None:
            return None
        return bucket.capacity if bucket.paced or bucket.limit is None else float(bucket.limit)

    def pace(self, operation: str, calls: int) -> float:
        """Seconds from a quiet start until the last of ``calls`` calls of ``operation``'s class
        may go, at the limiter's current state (its floor for them; 0 when unlimited): what an
        estimate of a run's time builds on."""
        bucket = self._buckets[self.kind(operation)]
        if bucket is None:
            return 0.0
        with self._lock:
            return bucket.pace(calls)

    def __repr__(self) -> str:
        return (
            f"RateLimit(reads_per_minute={self.reads_per_minute!r}, "
            f"writes_per_minute={self.writes_per_minute!r}, burst={self.burst!r}, "
            f"window={self.window!r}, adaptive={self.adaptive!r})"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and the overall deadline (seconds).

    ``throttle_wait``: the least wait after a throttled answer without ``Retry-After``; the
    wait is drawn from ``throttle_wait`` to 2.5 times it (2-5 s, as Huawei advises). Tests on a
    time-scaled emulator scale it with the emulator's minute.
    """

    max_attempts: int = 6
    initial: float = 0.5
    max_backoff: float = 30.0
    deadline: float = 120.0
    throttle_wait: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts!r}")
        for name in ("initial", "max_backoff", "deadline", "throttle_wait"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number ``retry`` (1 for the first retry)."""
        cap = min(self.max_backoff, self.initial * 2.0 ** (retry - 1))
        return cap * rand()

    def delay(
        self, retry: int, error: BaseException | None, rand: Callable[[], float] = random.random
    ) -> float:
        """The wait before retry ``retry``: the server's ``Retry-After`` if given; after a
        throttled answer without one, 1 to 2.5 times ``throttle_wait``; else backoff."""
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(retry_after)
        if isinstance(error, ThrottledError):
            return self.throttle_wait * (1.0 + 1.5 * rand())
        return self.backoff(retry, rand)


# --- which failures are retried -----------------------------------------------------------------


def transport_error(
    operation: str,
    exc: httpx.TransportError,
    request: httpx.Request,
    secrets: Sequence[str] = (),
) -> WorkspaceError:
    """Wrap an httpx transport failure: ``TransportError``, or ``OutcomeUnknownError`` for a
    write that may have reached the server.

    The message is redacted (``secrets`` plus any ``b'…'`` header value the HTTP stack quoted).
    The httpx exception stays ``__cause__`` only when nothing in its chain would print a secret;
    otherwise the chain is cut (``__cause__`` None, context suppressed) and the message says so.
    """
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    where: dict[str, Any] = {
        "operation": operation,
        "method": request.method,
        "path": request.url.path,
    }
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    leaks = chain_leaks(exc, secrets)
    if leaks:
        message = redact(message, secrets) + " [original exception withheld: it quoted a secret]"
    error = TransportError(message, sent=sent, **where)
    error.__cause__ = None if leaks else exc
    error.__suppress_context__ = True
    if sent and operation not in RETRY_SAFE_OPERATIONS:
        return OutcomeUnknownError(
            f"outcome unknown after {message}; check the server before retrying",
            cause=error,
            **where,
        )
    return error


def settle_response_error(operation: str, error: WorkspaceError) -> WorkspaceError:
    """Turn a 502/503/504 answer to a non-idempotent write into ``OutcomeUnknownError``."""
    if (
        isinstance(error, ServerError)
        and error.status in AMBIGUOUS_STATUSES
        and operation not in RETRY_SAFE_OPERATIONS
    ):
        return OutcomeUnknownError(
            f"outcome unknown after HTTP {error.status} {error.error_code}: {error.error_msg}; "
            "check the server before retrying",
            cause=error,
            status=error.status,
            error_code=error.error_code,
            request_id=error.request_id,
            operation=operation,
            method=error.method,
            path=error.path,
        )
    return error


def settle_parse_error(operation: str, error: UnexpectedResponseError) -> WorkspaceError:
    """An unreadable success answer to a write (not a delete) is an unknown outcome."""
    if operation in READ_OPERATIONS:
        return error
    return OutcomeUnknownError(
        f"outcome unknown: HTTP {error.status} but {error.error_msg}; "
        "check the server before retrying",
        cause=error,
        status=error.status,
        error_code=error.error_code,
        request_id=error.request_id,
        operation=operation,
        method=error.method,
        path=error.path,
    )


def is_retryable(operation: str, error: BaseException) -> bool:
    """Whether another attempt of ``operation`` is safe after ``error``."""
    if isinstance(error, OutcomeUnknownError):
        return False
    if isinstance(error, ThrottledError):
        return True
    if isinstance(error, UnexpectedResponseError):
        return error.transient and operation in READ_OPERATIONS
    if isinstance(error, TransportError):
        return not error.sent or operation in RETRY_SAFE_OPERATIONS
    if isinstance(error, ServerError):
        return error.status in AMBIGUOUS_STATUSES and operation in RETRY_SAFE_OPERATIONS
    return False


# --- tenacity wiring ----------------------------------------------------------------------------


class _Deadline(tenacity.stop.stop_base):
    """Stop when the next attempt would start after the deadline (on an injectable clock)."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock
        self.start = clock()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        elapsed = self.clock() - self.start
        return elapsed + retry_state.upcoming_sleep > self.deadline


def _options(
    policy: RetryPolicy,
    operation: str,
    clock: Callable[[], float],
    rand: Callable[[], float],
    on_retry: Callable[[BaseException | None, float, int], None] | None,
) -> dict[str, Any]:
    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return policy.delay(state.attempt_number, error, rand)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        _log.debug(
            "retry %s attempt=%d after %s in %.3fs",
            operation,
            state.attempt_number + 1,
            type(error).__name__,
            state.upcoming_sleep,
        )
        if on_retry is not None:
            on_retry(error, state.upcoming_sleep, state.attempt_number + 1)

    return {
        "stop": tenacity.stop_after_attempt(policy.max_attempts)
        | _Deadline(policy.deadline, clock),
        "wait": wait,
        "retry": tenacity.retry_if_exception(lambda exc: is_retryable(operation, exc)),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def retrying(
    policy: RetryPolicy,
    operation: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException | None, float, int], None] | None = None,
) -> tenacity.Retrying:
    """A tenacity ``Retrying`` for one call of ``operation`` (``for attempt in ...: with attempt``).

    ``on_retry(error, wait, next_attempt)`` runs before each sleep.
    """
    return tenacity.Retrying(sleep=sleep, **_options(policy, operation, clock, rand, on_retry))


def async_retrying(
    policy: RetryPolicy,
    operation: str,
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException | None, float, int], None] | None = None,
) -> tenacity.AsyncRetrying:
    """The ``AsyncRetrying`` twin of :func:`retrying` (default sleep: ``asyncio.sleep``)."""
    options = _options(policy, operation, clock, rand, on_retry)
    if sleep is not None:
        options["sleep"] = sleep
    return tenacity.AsyncRetrying(**options)
