"""Throttling (APIG's per-minute limits) and injected faults (errors, latency, dropped connections).

Both are plain data (``Throttle``, ``FaultRule``) plus a small thread-safe engine, so tests can
switch them at run time through the control plane.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from wsnb.models import DEFAULT_READS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE, READ_OPERATIONS

from ._errors import THROTTLED, ApiError

FaultKind = Literal["status", "latency", "drop"]
FaultPhase = Literal["before", "after"]


@dataclass(frozen=True)
class Throttle:
    """Calls allowed per (scaled) minute, per project and per class (reads / writes).

    ``time_scale`` shrinks the minute: 0.01 makes a "minute" last 0.6 s in tests.
    ``retry_after`` says whether a 429 carries a ``Retry-After`` header (undocumented upstream).
    """

    reads_per_minute: int = DEFAULT_READS_PER_MINUTE
    writes_per_minute: int = DEFAULT_WRITES_PER_MINUTE
    time_scale: float = 1.0
    retry_after: bool = True

    def __post_init__(self) -> None:
        if self.reads_per_minute < 1 or self.writes_per_minute < 1:
            raise ValueError("Throttle limits must be at least 1 call per minute")
        if self.time_scale <= 0:
            raise ValueError("Throttle.time_scale must be positive")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Throttle:
        """Build from JSON, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown throttle settings: {sorted(unknown)}")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultRule:
    """One injected fault.

    ``operation``: an operation name or ``"*"``. ``kind``: ``"status"`` answers ``status`` with
    the error envelope, ``"latency"`` waits ``latency`` seconds then carries on, ``"drop"``
    closes the connection without a complete response. ``phase``: ``"before"`` the request is
    processed, or ``"after"`` it was committed (the write happened, the answer is lost).
    The rule fires with ``probability`` (seeded RNG), at most ``count`` times (``None``: no
    limit), after letting ``skip`` matching requests through.
    """

    operation: str = "*"
    kind: FaultKind = "status"
    status: int = 500
    error_code: str = "WKS.0202"
    error_msg: str = "Injected fault: internal error."
    latency: float = 0.0
    probability: float = 1.0
    count: int | None = None
    skip: int = 0
    phase: FaultPhase = "before"

    def __post_init__(self) -> None:
        if self.kind not in ("status", "latency", "drop"):
            raise ValueError(f"FaultRule.kind must be status, latency or drop, not {self.kind!r}")
        if self.phase not in ("before", "after"):
            raise ValueError(f"FaultRule.phase must be before or after, not {self.phase!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("FaultRule.probability must be between 0 and 1")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("FaultRule.status must be an HTTP error status (400-599)")
        if self.latency < 0 or self.skip < 0 or (self.count is not None and self.count < 0):
            raise ValueError("FaultRule.latency, skip and count must not be negative")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FaultRule:
        """Build from JSON, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Armed:
    rule: FaultRule
    id: int
    seen: int = 0
    fired: int = 0


class Limiter:
    """Sliding-window call counter per (project, read/write class)."""

    def __init__(self, throttle: Throttle | None, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self.throttle = throttle

    def configure(self, throttle: Throttle | None) -> None:
        with self._lock:
            self.throttle = throttle
            self._calls.clear()

    def check(self, project_id: str, operation: str) -> None:
        """Count the call, or raise 429 ``APIG.0308`` (a refused call is not counted)."""
        with self._lock:
            throttle = self.throttle
            if throttle is None:
                return
            kind = "read" if operation in READ_OPERATIONS else "write"
            limit = throttle.reads_per_minute if kind == "read" else throttle.writes_per_minute
            window = 60.0 * throttle.time_scale
            now = self._clock()
            calls = self._calls.setdefault((project_id, kind), deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                wait = calls[0] + window - now
                headers = (
                    {"Retry-After": str(max(1, math.ceil(wait)))} if throttle.retry_after else {}
                )
                raise ApiError(
                    429,
                    THROTTLED,
                    "The throttling threshold has been reached: policy user over ratelimit,"
                    f"limit:{limit},time:1 minute",
                    headers=headers,
                )
            calls.append(now)


class Faults:
    """The armed fault rules and their seeded RNG."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []
        self._next_id = 1
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> int:
        with self._lock:
            armed = _Armed(rule, self._next_id)
            self._next_id += 1
            self._rules.append(armed)
            return armed.id

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self._rules.clear()
            if seed is not None:
                self._rng = random.Random(seed)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": a.id, "fired": a.fired, **a.rule.to_dict()} for a in self._rules]

    def pick(self, operation: str, phase: FaultPhase) -> list[FaultRule]:
        """The rules that fire for this request in this phase (latency first, then the rest)."""
        fired: list[FaultRule] = []
        with self._lock:
            for armed in self._rules:
                rule = armed.rule
                if rule.phase != phase or rule.operation not in ("*", operation):
                    continue
                if rule.count is not None and armed.fired >= rule.count:
                    continue
                armed.seen += 1
                if armed.seen <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                armed.fired += 1
                fired.append(rule)
        return sorted(fired, key=lambda r: r.kind != "latency")


#: Request-log entries kept (the oldest are forgotten first; ``seq`` keeps counting).
LOG_MAX = 100_000


@dataclass
class RequestLog:
    """Every API request the emulator answered (the last ``LOG_MAX``), for assertions in tests."""

    entries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_MAX))
    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: int = 0

    def add(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.seq += 1
            self.entries.append({"seq": self.seq, **entry})

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.entries if e["seq"] > seq]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
