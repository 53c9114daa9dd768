"""Cancelling API calls from outside: a cancel event that the clients check before sending.

Contract: :func:`scope` makes a ``threading.Event`` the cancel event of the current context;
asyncio tasks created inside, and the worker threads of ``asyncio.to_thread`` (which copies the
context), inherit it. The clients call :func:`check` right before each attempt goes on the wire
(after the rate limiter's wait and after each retry's back-off), and wait with :func:`sleep` /
:func:`asleep`, which return early once the event is set. So once a run is cancelled nothing new
is sent, even by a worker thread that was waiting for its turn: :class:`CallCancelled` is raised
instead (never retried: it is no :class:`~wsnb.errors.WorkspaceError`). A call already on the wire
is not touched; it settles normally. Outside any scope, :func:`check` does nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

__all__ = ["CallCancelled", "asleep", "check", "current", "scope", "sleep"]

_EVENT: ContextVar[threading.Event | None] = ContextVar("wsnb_cancel_event", default=None)
#: How often :func:`asleep` looks at the event (a ``threading.Event`` cannot be awaited).
_POLL: Final = 0.05


class CallCancelled(Exception):
    """An API call was not sent: its run was cancelled (nothing reached the server)."""

    def __init__(self, operation: str = "") -> None:
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}not sent: the run was cancelled")


@contextmanager
def scope(event: threading.Event) -> Iterator[threading.Event]:
    """Make ``event`` the cancel event of this context (and of what it starts) for the block."""
    token = _EVENT.set(event)
    try:
        yield event
    finally:
        _EVENT.reset(token)


def current() -> threading.Event | None:
    """The cancel event of this context, if any."""
    return _EVENT.get()


def check(operation: str = "") -> None:
    """Raise :class:`CallCancelled` when this context's cancel event is set."""
    event = _EVENT.get()
    if event is not None and event.is_set():
        raise CallCancelled(operation)


def sleep(seconds: float) -> None:
    """``time.sleep`` that returns early when this context's cancel event is set."""
    event = _EVENT.get()
    if event is None:
        time.sleep(seconds)
    else:
        event.wait(seconds)


async def asleep(seconds: float) -> None:
    """``asyncio.sleep`` that returns early (within 50 ms) when the cancel event is set."""
    event = _EVENT.get()
    if event is None:
        await asyncio.sleep(seconds)
        return
    deadline = time.monotonic() + seconds
    while not event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, _POLL))
