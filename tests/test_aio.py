"""``wsnb._aio.run_sync`` and the cancel scope of ``wsnb._cancel``: an interrupt of the calling
thread stops the coroutine (cooperatively with a cancel event, else by cancelling its task)
before ``KeyboardInterrupt`` is re-raised, and a client sends nothing once its context's cancel
event is set."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pytest

from wsnb import _cancel
from wsnb._aio import run_sync
from wsnb.auth import Credentials
from wsnb.client import AsyncClient, Client

PID = "0" * 32


def _interrupt_after(seconds: float) -> threading.Timer:
    """SIGINT to this process (the main thread gets KeyboardInterrupt) after ``seconds``."""
    timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_run_sync_returns_and_raises() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 42

    async def boom() -> None:
        raise ValueError("boom")

    assert run_sync(value()) == 42
    with pytest.raises(ValueError, match="boom"):
        run_sync(boom())

    async def inside_a_loop() -> int:  # as in Jupyter
        return run_sync(value())

    assert asyncio.run(inside_a_loop()) == 42


def test_an_interrupt_cancels_the_coroutine_before_it_is_reraised() -> None:
    cleaned = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.set()

    started = time.monotonic()
    timer = _interrupt_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        run_sync(forever())
    timer.join()
    assert cleaned.is_set()  # the coroutine ended before run_sync returned
    assert time.monotonic() - started < 5


def test_an_interrupt_sets_the_cancel_event_and_waits_for_the_coroutine() -> None:
    event = threading.Event()
    seen: list[str] = []

    async def cooperative() -> str:
        assert _cancel.current() is event
        while not event.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # winding down (a call in flight settles)
        seen.append("wound down")
        return "stopped"

    timer = _interrupt_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        run_sync(cooperative(), cancel=event)
    timer.join()
    assert event.is_set() and seen == ["wound down"]


def _counting() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"X-Request-Id": "r-1"})

    return httpx.MockTransport(handler), sent


def test_a_cancelled_scope_sends_nothing() -> None:
    transport, sent = _counting()
    creds = Credentials(ak="A" * 20, sk="S" * 40, project_id=PID)
    with Client(endpoint="http://wsnb.test", credentials=creds, transport=transport) as client:
        event = threading.Event()
        with _cancel.scope(event):
            assert client.batch_delete(["a"]) == "r-1"
            event.set()
            with pytest.raises(_cancel.CallCancelled, match="batch_delete: not sent"):
                client.batch_delete(["b"])
        assert client.batch_delete(["c"]) == "r-1"  # outside the scope: as usual
    assert len(sent) == 2

    async def main() -> None:
        atransport, asent = _counting()
        async with AsyncClient(
            endpoint="http://wsnb.test", credentials=creds, transport=atransport
        ) as aclient:
            event = threading.Event()
            event.set()
            with _cancel.scope(event), pytest.raises(_cancel.CallCancelled):
                await aclient.batch_delete(["a"])
        assert asent == []

    asyncio.run(main())


def test_cancel_sleeps_return_early() -> None:
    event = threading.Event()
    threading.Timer(0.1, event.set).start()
    started = time.monotonic()
    with _cancel.scope(event):
        _cancel.sleep(10)
    assert time.monotonic() - started < 2

    async def main() -> float:
        later = threading.Event()
        threading.Timer(0.1, later.set).start()
        began = time.monotonic()
        with _cancel.scope(later):
            await _cancel.asleep(10)
        return time.monotonic() - began

    assert asyncio.run(main()) < 2
    started = time.monotonic()
    _cancel.sleep(0.05)  # no scope: a plain sleep
    assert time.monotonic() - started >= 0.05


def test_a_second_interrupt_stops_waiting_and_cancels_the_task() -> None:
    """A coroutine slow to wind down (a call in flight that takes long): the second interrupt
    cancels its task instead of waiting; it still ends before run_sync returns."""
    event = threading.Event()
    ended = threading.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(30)  # ignores the event
        finally:
            ended.set()

    first, second = _interrupt_after(0.2), _interrupt_after(0.6)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_sync(slow_to_stop(), cancel=event)
    first.join()
    second.join()
    assert event.is_set() and ended.is_set()
    assert time.monotonic() - started < 5
