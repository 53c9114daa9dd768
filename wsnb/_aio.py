"""One async face over :class:`~wsnb.client.Client` and :class:`~wsnb.client.AsyncClient`.

The listing, deletion and restore algorithms are written once, as coroutines, against
:class:`Api`. A sync client's blocking calls run in the client's own worker threads
(``Client._in_thread``: as many as its connection pool, where ``asyncio.to_thread``'s default
executor has 6 on two cores; httpx's sync client and wsnb's rate limiter are thread-safe), an
async client's are awaited directly.
:func:`run_sync` drives such a coroutine from plain code, including inside Jupyter, whose thread
already runs an event loop: the coroutine always runs on a fresh loop in a helper thread, so an
interrupt of the calling thread (Ctrl-C, Kernel > Interrupt) can stop it cleanly (see
:func:`run_sync`) instead of returning while the helper thread goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Final, TypeVar

from wsnb import _cancel
from wsnb.client import AsyncClient, Client
from wsnb.models import LIST_PAGE_MAX, Record, Task, TaskDetail

__all__ = ["ABANDON_AFTER", "Api", "run_sync"]

T = TypeVar("T")


class Api:
    """Awaitable versions of the client calls the algorithms need."""

    def __init__(self, client: Client | AsyncClient) -> None:
        if not isinstance(client, Client | AsyncClient):
            raise TypeError(f"expected a wsnb Client or AsyncClient, got {type(client).__name__}")
        self.client = client

    @property
    def endpoint(self) -> str:
        return self.client.endpoint

    @property
    def project_id(self) -> str:
        return self.client.project_id

    def stats(self) -> dict[str, Any]:
        return self.client.stats.snapshot()

    async def list_page(
        self, offset: int, filters: Mapping[str, Any], limit: int = LIST_PAGE_MAX
    ) -> tuple[list[Task], int | None]:
        """One page of tasks and the total the server reported with it (``None``: none)."""
        if isinstance(self.client, AsyncClient):
            page = await self.client.list_tasks_page(offset, limit, **filters)
        else:
            page = await self.client._in_thread(
                self.client.list_tasks_page, offset, limit, **filters
            )
        return page["scheduled_tasks"], page["total_count"]

    async def get_task(self, task_id: str) -> TaskDetail:
        if isinstance(self.client, AsyncClient):
            return await self.client.get_task(task_id)
        return await self.client._in_thread(self.client.get_task, task_id)

    async def list_records(self, task_id: str, offset: int, limit: int) -> list[Record]:
        """One page of a task's execution records (newest first)."""
        if isinstance(self.client, AsyncClient):
            return await self.client.list_records(task_id, offset=offset, limit=limit)
        return await asyncio.to_thread(
            self.client.list_records, task_id, offset=offset, limit=limit
        )

    async def batch_delete(self, task_ids: Sequence[str]) -> str | None:
        """Delete ``task_ids``; the ``X-Request-Id`` of the answer (``None`` without one)."""
        if isinstance(self.client, AsyncClient):
            return await self.client.batch_delete(task_ids)
        return await self.client._in_thread(self.client.batch_delete, task_ids)

    async def create_task(self, body: Mapping[str, Any]) -> str:
        if isinstance(self.client, AsyncClient):
            return await self.client.create_task(body)
        return await self.client._in_thread(self.client.create_task, body)


def run_sync(coro: Coroutine[Any, Any, T], *, cancel: threading.Event | None = None) -> T:
    """Run ``coro`` to completion from sync code, even when this thread already runs a loop.

    The coroutine runs on a fresh event loop in a helper thread, inside a cancel scope
    (:mod:`wsnb._cancel`), while this thread waits. An interrupt (Ctrl-C, Jupyter's Kernel >
    Interrupt, papermill's timeout: a ``KeyboardInterrupt`` in this thread) stops it:

    * with ``cancel`` (an event the coroutine watches, e.g. a deletion run's), the event is set:
      nothing new is sent, the calls in flight settle and the coroutine winds down on its own
      (closing its ledger run); a second interrupt stops waiting for that and cancels it;
    * without, the scope's event is set (the clients send nothing new) and the coroutine's task
      is cancelled.

    Either way this returns only once the coroutine has finished (at most
    :data:`ABANDON_AFTER` seconds after a forced cancel), then re-raises the ``KeyboardInterrupt``.
    Nothing keeps running in the background.
    """
    event = cancel if cancel is not None else threading.Event()
    box: dict[str, Any] = {}
    finished = threading.Event()
    started = threading.Event()

    async def main() -> None:
        box["loop"] = asyncio.get_running_loop()
        box["task"] = asyncio.current_task()
        started.set()
        try:
            box["value"] = await coro
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            finished.set()

    def target() -> None:
        try:
            with _cancel.scope(event):
                asyncio.run(main())
        except BaseException as exc:
            box.setdefault("error", exc)
        finally:
            started.set()
            finished.set()

    thread = threading.Thread(target=target, name="wsnb-run-sync", daemon=True)
    try:
        thread.start()
        finished.wait()
    except KeyboardInterrupt:
        event.set()  # the clients send nothing new from now on
        if cancel is None:
            _cancel_task(box, started)
        try:
            finished.wait()
        except KeyboardInterrupt:  # asked twice: stop waiting for the calls in flight
            _cancel_task(box, started)
            finished.wait(ABANDON_AFTER)
        raise
    thread.join(ABANDON_AFTER)  # the loop's shutdown: its worker threads are idle by now
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


#: Seconds :func:`run_sync` still waits for a coroutine after cancelling its task.
ABANDON_AFTER: Final = 10.0


def _cancel_task(box: dict[str, Any], started: threading.Event) -> None:
    started.wait(ABANDON_AFTER)
    loop, task = box.get("loop"), box.get("task")
    if loop is not None and task is not None:
        with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to cancel
            loop.call_soon_threadsafe(task.cancel)
